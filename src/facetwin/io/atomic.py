"""Atomic file writes: a reader (or a crash) never sees half a file.

Each write goes to a temporary file in the same folder, is flushed to disk, and is
then renamed over the target with ``os.replace``, which is atomic on POSIX and
Windows when source and target share a filesystem.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_file", "atomic_write_json", "file_mode"]


def file_mode() -> int:
    """The mode a plainly created file gets (0o666 less the umask); mkstemp's is 0o600."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write_file(path, write)


def atomic_write_file(path: str | Path, write) -> None:
    """``write(tmp)`` fills a temporary file beside ``path``, which is then flushed to disk
    and renamed over ``path``: for writers that stream to a file of their own (a
    checkpoint's tensors, one at a time, rather than the whole file's bytes in memory)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())  # others may read outputs as they could any new file
        os.replace(tmp, path)
    except BaseException:
        # Interrupted (Ctrl-C included) or failed: leave the old file, drop the temp.
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: object) -> None:
    text = json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False)
    # Lone surrogates (a file name that is not UTF-8) become JSON escapes that read back the same.
    atomic_write_bytes(path, (text + "\n").encode("utf-8", "backslashreplace"))
