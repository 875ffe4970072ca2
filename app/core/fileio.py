"""Atomic file writes: a crash or a full disk mid-save leaves the previous file whole.

Each write goes to a temp file `.<name>.<pid>.<random>.tmp` in the target's folder, is
fsynced and renamed over the target. The target keeps its permissions (a new file gets
0644 less the umask, as `open()` would give it with a 022 umask), and a symlink is written
through to the file it points to, so the link stays a link. A process killed mid-write
leaves its temp file behind; the next write to the same target removes the temp files of
processes that no longer run.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o644


def write_atomic(path: str | os.PathLike[str], payload: bytes) -> Path:
    return stream_atomic(path, lambda fh: fh.write(payload))


def stream_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Call `write` on a temp file in the target folder, fsync it, then rename it over `path`."""
    target = _target(Path(path))
    tmp = _stage(target, write)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return Path(path)


def write_all_atomic(files: Mapping[str | os.PathLike[str], bytes]) -> list[Path]:
    """Write several files, all or none: every temp file is written and fsynced before
    the first rename, so a full disk or a failed write leaves all targets as they were."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, payload in files.items():
            target = _target(Path(path))
            staged.append((_stage(target, lambda fh, data=payload: fh.write(data)), target))
    except BaseException:
        for tmp, _target_path in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)  # same folder, space already taken: renames do not fail
        _fsync_dir(target.parent)
    return [Path(p) for p in files]


def _target(path: Path) -> Path:
    """The file a write lands in: a symlink's destination, so the link itself survives."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _stage(target: Path, write: Callable[[BinaryIO], object]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    mode = _mode_for(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return NEW_FILE_MODE & ~_umask()


def _umask() -> int:
    """The process umask; os.umask can only be read by setting it, so set it back at once."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_pattern(target: Path) -> re.Pattern[str]:
    """Names of the temp files written for `target` (group 1: the writer's process id)."""
    return re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp$")


def remove_stale_temps(target: str | os.PathLike[str]) -> int:
    """Delete temp files for `target` whose writing process is gone; returns how many."""
    target = Path(target)
    pattern = temp_pattern(target)
    removed = 0
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return 0
    for entry in entries:
        match = pattern.match(entry.name)
        if match and not process_alive(int(match.group(1))):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs (ours counts: another thread may be writing)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # os.kill would terminate it there; keep the file rather than guess
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's live process
    except (OSError, OverflowError):
        return False
    return True


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
