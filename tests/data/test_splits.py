"""The split settings are declared once: the project check, the loaders and the data
panel all fill in the same defaults and allow the same ranges."""

from __future__ import annotations

import dataclasses

import pytest

from app.data.loading import split_indices
from app.data.splits import SPLIT, SplitConfig
from app.training.errors import ConfigError
from app.training.sections import check_data_section


def test_a_section_without_split_gets_the_loaders_defaults() -> None:
    checked = check_data_section({"source": "iris"})
    assert checked["split"] == dataclasses.asdict(SplitConfig()) == {
        "val_fraction": 0.2, "test_fraction": 0.0, "seed": 0}
    train, val, test = split_indices(150, SplitConfig(**checked["split"]), has_test=False)
    assert (len(train), len(val), len(test)) == (120, 30, 0)


def test_the_declared_range_is_what_the_check_enforces() -> None:
    maximum = {p.name: p.maximum for p in SPLIT}["val_fraction"]
    check_data_section({"source": "iris", "split": {"val_fraction": maximum}})
    with pytest.raises(ConfigError, match=r"data\.split\.val_fraction.*<= 0\.9"):
        check_data_section({"source": "iris", "split": {"val_fraction": maximum + 0.05}})


def test_the_data_panel_shows_the_declared_defaults_and_ranges(qtbot) -> None:
    from app.ui.training.data_panel import DataPanel

    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.load_section({"source": "iris", "split": {"test_fraction": 0.1}})
    assert (panel.val_fraction.value(), panel.test_fraction.value(),
            panel.split_seed.value()) == (SplitConfig.val_fraction, 0.1, SplitConfig.seed)
    assert panel.val_fraction.maximum() == 0.9 and panel.split_seed.minimum() == 0
    assert panel.test_fraction.toolTip() == SPLIT[1].help
