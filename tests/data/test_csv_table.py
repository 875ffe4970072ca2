"""CSV preprocessing against a pandas reference (d2l house-price recipe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from app.data.sources import DataSourceError, SplitConfig, load_source

CSV = """Id,Area,Rooms,Zone,Street,Price
1,120.5,3,RL,Pave,200000
2,,4,RM,NA,150000
3,80,,RL,Grvl,120000
4,95.25,2,,Pave,180000
5,150,5,FV,Pave,310000
6,60,1,RM,,90000
"""


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "houses.csv"
    path.write_text(CSV)
    return path


def _pandas_reference(path: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    frame = pd.read_csv(path)
    features = frame.drop(columns=["Id", "Price"])
    numeric = features.select_dtypes(include="number").columns
    features[numeric] = features[numeric].apply(lambda x: (x - x.mean()) / x.std())
    features[numeric] = features[numeric].fillna(0)
    features = pd.get_dummies(features, dummy_na=True).astype(float)
    return features.to_numpy(), list(features.columns), np.log(frame["Price"].to_numpy())


def test_features_match_pandas_reference(table: Path) -> None:
    bundle = load_source("csv", {"path": str(table), "target": "Price", "log_target": True,
                                 "drop_columns": "Id"}, split=SplitConfig(0.0))
    expected, columns, target = _pandas_reference(table)
    x, y = bundle.train.tensors
    order = torch.argsort(x[:, 0] * 1000 + x[:, 1])  # rows are shuffled by the split
    ref_order = np.argsort(expected[:, 0] * 1000 + expected[:, 1])
    assert bundle.feature_names == columns
    assert np.allclose(x[order].numpy(), expected[ref_order], atol=1e-6)
    assert np.allclose(y[order].flatten().numpy(), target[ref_order], atol=1e-5)
    assert bundle.input_shape == (len(columns),) and bundle.target_shape == (1,)


def test_classification_target_from_text(tmp_path: Path) -> None:
    path = tmp_path / "pets.csv"
    path.write_text("weight,kind\n4,cat\n30,dog\n5,cat\n25,dog\n")
    bundle = load_source("csv", {"path": str(path), "target": "kind",
                                 "task": "classification"}, split=SplitConfig(0.0))
    x, y = bundle.train.tensors
    assert bundle.class_names == ["cat", "dog"] and y.dtype == torch.int64
    assert torch.equal(y, (x[:, 0] > 0).long())  # heavy animals are dogs


def test_target_errors_name_the_column(table: Path, tmp_path: Path) -> None:
    params = {"path": str(table), "task": "regression"}
    with pytest.raises(DataSourceError, match="no target column 'Cost'"):
        load_source("csv", {**params, "target": "Cost"})
    with pytest.raises(DataSourceError, match="target column 'Zone' has 1 missing value"):
        load_source("csv", {**params, "target": "Zone"})
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,x\n2,y\n")
    with pytest.raises(DataSourceError, match="target column 'b' must be numeric for regression"):
        load_source("csv", {"path": str(text), "target": "b"})
    with pytest.raises(DataSourceError, match="file not found"):
        load_source("csv", {"path": str(tmp_path / "none.csv"), "target": "b"})


def test_csv_without_a_file_says_to_choose_one() -> None:
    with pytest.raises(DataSourceError, match="csv: no file chosen: set the 'path' field"):
        load_source("csv", {"path": "", "target": "price"})
