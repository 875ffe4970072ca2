"""Image sources: MNIST, Fashion-MNIST, CIFAR-10 from local files, and ImageFolder.

Files are read through ``torchvision.datasets`` in their standard layout.
Nothing is downloaded unless the user ticks 'download'; then the archives
come from torchvision's own mirror list, are checked against its MD5 sums
and are unpacked, with byte progress reported through a callback.
"""

from __future__ import annotations

import functools
import gzip
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from app.core.lazy import lazy_module
from app.core.params import Param
from app.core.pysource import Expr, call, snippet
from app.data.errors import DataSourceError
from app.data.source_spec import Progress, RawData, SourceCode, SourceSpec

# torchvision takes seconds to import; listing and checking the sources must not wait.
tvd = lazy_module("torchvision.datasets")
tv_utils = lazy_module("torchvision.datasets.utils")

CHUNK = 1 << 16


@functools.cache
def local_cifar10() -> type:
    """The CIFAR-10 class, made on first use (it subclasses torchvision's)."""

    class LocalCIFAR10(tvd.CIFAR10):
        """CIFAR-10 that checks the batch files exist but not their MD5 sums.

        A student's reduced or re-packed copy is then usable; downloads are still
        verified (the archive's MD5) before unpacking.
        """

        train_list: ClassVar[list] = [[name, None] for name, _ in tvd.CIFAR10.train_list]
        test_list: ClassVar[list] = [[name, None] for name, _ in tvd.CIFAR10.test_list]
        meta: ClassVar[dict] = {**tvd.CIFAR10.meta, "md5": None}

    return LocalCIFAR10


def fetch(url: str, dest: Path, progress: Progress | None) -> None:
    """Download ``url`` to ``dest`` in chunks, reporting (name, bytes done, total)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=30) as response, partial.open("wb") as out:
        total, done = int(response.headers.get("Content-Length") or 0), 0
        while chunk := response.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(dest.name, done, total)
    partial.replace(dest)


def _fetch_verified(urls: list[str], dest: Path, md5: str, progress: Progress | None) -> None:
    errors = []
    for url in urls:
        try:
            fetch(url, dest, progress)
        except OSError as exc:
            errors.append(f"{url}: {exc}")
            continue
        if tv_utils.check_integrity(str(dest), md5):
            return
        errors.append(f"{url}: checksum mismatch")
        dest.unlink()
    raise DataSourceError(f"download of {dest.name} failed: {'; '.join(errors)}")


def _missing_message(label: str, folder: Path, names: list[str], missing: list[str]) -> str:
    some = "" if len(missing) == len(names) else f" (missing {', '.join(missing)})"
    return (f"{label} files not found in {folder}: expected {', '.join(names)}{some}; "
            f"download them or tick 'download'")


# --- MNIST family -------------------------------------------------------------------

def _mnist_folder(cls: type[tvd.MNIST], root: Path) -> Path:
    return root / cls.__name__ / "raw"


def _mnist_files(cls: type[tvd.MNIST]) -> list[str]:
    return [name.removesuffix(".gz") for name, _ in cls.resources]


def _unpack_local_gz(folder: Path, names: list[str]) -> None:
    # torchvision reads the unpacked idx files; a folder holding only the .gz
    # archives (as distributed) is unpacked here, offline.
    for name in names:
        packed = folder / f"{name}.gz"
        if not (folder / name).exists() and packed.exists():
            with gzip.open(packed, "rb") as src, (folder / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)


def _download_mnist(cls: type[tvd.MNIST], folder: Path, progress: Progress | None) -> None:
    for filename, md5 in cls.resources:
        if (folder / filename.removesuffix(".gz")).exists():
            continue
        _fetch_verified([m + filename for m in cls.mirrors], folder / filename, md5, progress)
        tv_utils.extract_archive(str(folder / filename), str(folder))


def _mnist_like(name: str, label: str):
    """Loader of the torchvision dataset class `name` (MNIST or FashionMNIST)."""
    def load(params: dict, progress: Progress | None) -> RawData:
        cls = getattr(tvd, name)
        root = Path(params["root"]).expanduser()
        folder, names = _mnist_folder(cls, root), _mnist_files(cls)
        if folder.is_dir():
            _unpack_local_gz(folder, names)
        if params["download"]:
            _download_mnist(cls, folder, progress)
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise DataSourceError(_missing_message(label, folder, names, missing))
        train, test = _open(label, lambda t: cls(str(root), train=t, download=False))
        return RawData(train, "classification", list(train.classes), test=test, image_kind="pil")
    return load


def _open(label: str, make) -> tuple:
    try:
        return make(True), make(False)
    except (RuntimeError, ValueError, OSError, EOFError) as exc:
        raise DataSourceError(f"{label}: cannot read the files: {exc}") from None


# --- CIFAR-10 -----------------------------------------------------------------------

def _cifar_files() -> list[str]:
    cls = local_cifar10()
    return [n for n, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]


def _download_cifar(root: Path, progress: Progress | None) -> None:
    archive = root / tvd.CIFAR10.filename
    _fetch_verified([tvd.CIFAR10.url], archive, tvd.CIFAR10.tgz_md5, progress)
    tv_utils.extract_archive(str(archive), str(root))


def _cifar10(params: dict, progress: Progress | None) -> RawData:
    root = Path(params["root"]).expanduser()
    folder, names = root / local_cifar10().base_folder, _cifar_files()
    missing = [n for n in names if not (folder / n).is_file()]
    if missing and params["download"]:
        _download_cifar(root, progress)
        missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataSourceError(_missing_message("CIFAR-10", folder, names, missing))
    train, test = _open("CIFAR-10", lambda t: local_cifar10()(str(root), train=t,
                                                                download=False))
    return RawData(train, "classification", list(train.classes), test=test, image_kind="pil")


# --- ImageFolder --------------------------------------------------------------------

def _image_folder(root: str, field: str) -> tvd.ImageFolder:
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataSourceError(f"image folder: field '{field}': folder not found: {path}")
    try:
        return tvd.ImageFolder(str(path))
    except (FileNotFoundError, RuntimeError) as exc:
        raise DataSourceError(f"image folder: {path}: {exc} (expected one sub-folder per class "
                              f"holding .png/.jpg files)") from None


def _image_folder_source(params: dict, progress: Progress | None) -> RawData:
    train = _image_folder(params["root"], "root")
    test = _image_folder(params["test_root"], "test_root") if params["test_root"] else None
    if test is not None and test.classes != train.classes:
        raise DataSourceError(f"image folder: test classes {test.classes} differ from "
                              f"training classes {train.classes}")
    return RawData(train, "classification", list(train.classes), test=test, image_kind="pil")


def _image_folder_code(params: dict) -> SourceCode:
    """The same folders read by torchvision's ImageFolder (the optional test folder too)."""
    def folder(field: str) -> str:
        return call("tvd.ImageFolder", Expr(call("os.path.expanduser", params[field])))
    test = folder("test_root") if params["test_root"] else "None"
    return SourceCode(snippet(f"pool = {folder('root')}\ntest = {test}", "import os",
                              "import torchvision.datasets as tvd"), "classification", "pil")


def _torchvision_code(cls: str) -> Callable[[dict], SourceCode]:
    """Writer for a source read by torchvision's dataset class `cls` from files in place."""
    def code(params: dict) -> SourceCode:
        root = Expr(call("os.path.expanduser", params["root"]))
        lines = [f"{name} = {call(f'tvd.{cls}', root, train=train, download=False)}"
                 for name, train in (("pool", True), ("test", False))]
        return SourceCode(snippet("\n".join(lines), "import os",
                                  "import torchvision.datasets as tvd"), "classification", "pil")
    return code


def _root_params(name: str) -> list[Param]:
    return [Param("root", "path", "~/torchcanvas-data",
                  help=f"folder holding {name} in torchvision's layout"),
            Param("download", "bool", False,
                  help="download the files if missing (needs internet)")]


SPECS = [
    SourceSpec("mnist", "MNIST", "70 000 hand-written digits, 1x28x28 (official 10 000 test "
               "images kept). Files: ROOT/MNIST/raw/*-ubyte.", "torchvision",
               _root_params("MNIST/raw"), _mnist_like("MNIST", "MNIST"),
               _torchvision_code("MNIST")),
    SourceSpec("fashion_mnist", "Fashion-MNIST", "70 000 clothing images, 1x28x28, 10 classes. "
               "Files: ROOT/FashionMNIST/raw/*-ubyte.", "torchvision",
               _root_params("FashionMNIST/raw"), _mnist_like("FashionMNIST", "Fashion-MNIST"),
               _torchvision_code("FashionMNIST")),
    SourceSpec("cifar10", "CIFAR-10", "60 000 colour images, 3x32x32, 10 classes. Files: "
               "ROOT/cifar-10-batches-py/.", "torchvision", _root_params("cifar-10-batches-py"),
               _cifar10, _torchvision_code("CIFAR10")),
    SourceSpec("image_folder", "Image folder", "Your own images: one sub-folder per class "
               "(torchvision ImageFolder).", "files",
               [Param("root", "path", "", help="folder with one sub-folder per class"),
                Param("test_root", "path", "",
                      help="optional separate test folder with the same classes")],
               _image_folder_source, _image_folder_code),
]
