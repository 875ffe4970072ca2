"""scikit-learn's bundled datasets (shipped with the package, no download)."""

from __future__ import annotations

from app.core.lazy import lazy_module
from app.core.params import Param
from app.core.pysource import Expr, call, embed, needs, snippet
from app.data.csv_table import standardize_columns
from app.data.source_spec import Progress, RawData, SourceCode, SourceSpec, tensor_data

# scikit-learn and torch take seconds to import; listing and checking sources must not wait.
skd = lazy_module("sklearn.datasets")
np = lazy_module("numpy")
torch = lazy_module("torch")

STANDARDIZE = Param("standardize", "bool", True,
                    help="scale each feature to mean 0, std 1 (helps gradient descent)")


SKD = "from sklearn import datasets as skd"


def mnist_frame(images: torch.Tensor) -> torch.Tensor:
    """8x8 digits (N, 1, 8, 8) as MNIST draws them: 20x20, centred in a 28x28 frame, which
    keeps MNIST architectures and statistics close."""
    images = torch.nn.functional.interpolate(images, size=(20, 20), mode="bilinear",
                                             align_corners=False)
    return torch.nn.functional.pad(images, (4, 4, 4, 4)).clamp(0, 1)


def _digits(params: dict, progress: Progress | None) -> RawData:
    bunch = skd.load_digits()
    images = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0
    if params["upscale"]:
        images = mnist_frame(images)
    y = torch.from_numpy(bunch.target)
    return RawData(tensor_data(images, y, "classification"), "classification",
                   [str(c) for c in bunch.target_names], image_kind="float")


def _digits_code(params: dict) -> SourceCode:
    frame = embed(mnist_frame)
    lines = ["bunch = skd.load_digits()",
             "x = torch.from_numpy(bunch.images).float().unsqueeze(1) / 16.0",
             *([f"x = {frame.code}(x)"] if params["upscale"] else []),
             "y = torch.from_numpy(bunch.target)"]
    used = [snippet("", "import torch", SKD), *([frame] if params["upscale"] else [])]
    return SourceCode(needs("\n".join(lines), used), "classification", "float")


def table_arrays(bunch, task: str, standardize: bool = False,
                 standardize_target: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and targets of a scikit-learn bunch, scaled as asked."""
    x = np.asarray(bunch.data, dtype=np.float64)
    if standardize:
        x = standardize_columns(x)
    y = np.asarray(bunch.target, dtype=np.float64 if task == "regression" else np.int64)
    if standardize_target:
        y = (y - y.mean()) / y.std()
    return x, y


def _table(loader: str, task: str):
    """Loader of the scikit-learn bunch skd.`loader`()."""
    def load(params: dict, progress: Progress | None) -> RawData:
        bunch = getattr(skd, loader)()
        x, y = table_arrays(bunch, task, **params)
        names = [str(c) for c in bunch.target_names] if task == "classification" else None
        return RawData(tensor_data(torch.from_numpy(x), torch.from_numpy(y), task), task, names,
                       feature_names=[str(f) for f in bunch.feature_names])
    return load


def _table_code(loader: str, task: str):
    def code(params: dict) -> SourceCode:
        arrays = embed(table_arrays)
        lines = [f"x, y = {call(arrays.code, Expr(f'skd.{loader}()'), task, **params)}",
                 "x, y = torch.from_numpy(x), torch.from_numpy(y)"]
        return SourceCode(needs("\n".join(lines), [arrays, snippet("", "import torch", SKD)]),
                          task)
    return code


SPECS = [
    SourceSpec("digits", "Digits 8x8 (built-in)",
               "1797 hand-written digits bundled with scikit-learn. Upscaled to 1x28x28 by "
               "default so MNIST networks run unchanged.", "built-in",
               [Param("upscale", "bool", True, help="1x28x28 like MNIST instead of 1x8x8")],
               _digits, _digits_code),
    SourceSpec("iris", "Iris (built-in)", "150 flowers, 4 measurements, 3 species.", "built-in",
               [STANDARDIZE], _table("load_iris", "classification"),
               _table_code("load_iris", "classification")),
    SourceSpec("wine", "Wine (built-in)", "178 wines, 13 chemical features, 3 cultivars.",
               "built-in", [STANDARDIZE], _table("load_wine", "classification"),
               _table_code("load_wine", "classification")),
    SourceSpec("breast_cancer", "Breast cancer (built-in)",
               "569 tumours, 30 features, malignant or benign.", "built-in", [STANDARDIZE],
               _table("load_breast_cancer", "classification"),
               _table_code("load_breast_cancer", "classification")),
    SourceSpec("diabetes", "Diabetes (built-in, regression)",
               "442 patients, 10 (already scaled) features; target: disease progression "
               "after one year.", "built-in",
               [Param("standardize_target", "bool", False,
                      help="scale the target to mean 0, std 1")],
               _table("load_diabetes", "regression"),
               _table_code("load_diabetes", "regression")),
]
