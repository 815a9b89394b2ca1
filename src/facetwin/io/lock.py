"""One facetwin run per output: a lock held while a command writes there.

Two extractions into one folder used to both succeed, with crops of one person listed
as the other's; two trainings in one model folder interleaved their history. Now a
run takes an exclusive ``flock`` on a lock file first, and a second run stops at once
with ``OutputLockedError`` naming the first (command, pid, start time, read from the
lock file). A folder is locked by ``FOLDER/.facetwin.lock``, a single output file
(``convert -o fake.mp4``) by ``.fake.mp4.facetwin.lock`` beside it.

The operating system drops a ``flock`` when its process dies, even by ``kill -9``,
so there are no stale locks to break by hand. The lock file is deleted on release,
and a run that created the output folder and wrote nothing removes it again.

Right after taking the lock, a run deletes the temporary files (``.NAME.xxxxxxxx.tmp``
and ``.part``) that killed runs left in its output: nobody else can be writing them.
"""

from __future__ import annotations

import errno
import functools
import inspect
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from facetwin._check import check_path
from facetwin.errors import OutputLockedError, OutputWriteError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "output_lock", "locks_output", "remove_stale_temps"]

log = logging.getLogger(__name__)

#: The lock file of a locked folder (deleted when the run ends).
LOCK_NAME = ".facetwin.lock"
_FILE_LOCK = ".{name}.facetwin.lock"

#: A temporary file of io.atomic, io.writers or forensics.c2pa: ".TARGET.<8 random>.tmp",
#: ".TARGET.<8 random>.part" or ".TARGET.<8 random>.c2pa.tmp" (mkstemp's 8 characters).
_TEMP = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}(?:\.c2pa)?\.(?:tmp|part)")
#: What facetwin writes through such temporaries (and videos); other programs' ".x.tmp" are left alone.
_OUTPUT_SUFFIXES = (".png", ".json", ".csv", ".safetensors")

# Locks this thread holds, by lock file: pretrain calls train on the same folder.
_held = threading.local()

F = TypeVar("F", bound=Callable)


@contextmanager
def output_lock(
    path: str | Path,
    command: str,
    *,
    kind: Literal["folder", "file"] = "folder",
    clean: Sequence[str] = (),
) -> Iterator[None]:
    """Hold the output ``path`` for ``command`` while the block runs.

    Args:
        path: the output folder (created if missing), or output file with ``kind="file"``.
        command: named to a second run that finds the output in use ("extract").
        kind: "folder" locks ``path/.facetwin.lock``; "file" locks ``.NAME.facetwin.lock``
            beside the file.
        clean: sub-folders (glob patterns relative to ``path``) whose stale temporary
            files are deleted too; the folder itself always is.

    A path that exists but is not a folder (or a file's parent that is not) is not
    locked: the command's own checks refuse it with their own message. Where the
    filesystem has no locks the block runs unlocked, with a warning. A thread that
    already holds the lock (a command calling another on the same output) goes on.

    Raises:
        OutputLockedError: another run holds the lock.
        OutputWriteError: the folder or the lock file cannot be created.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out, output_lock(out, "extract"):
    ...     (Path(out) / LOCK_NAME).exists()
    True
    """
    path = Path(path)
    folder = path if kind == "folder" else path.parent
    if folder.exists() and not folder.is_dir():
        yield
        return
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputWriteError(folder, exc.strerror or str(exc)) from None
    lock_path = folder.resolve() / (LOCK_NAME if kind == "folder" else _FILE_LOCK.format(name=path.name))
    key = str(lock_path)
    if not hasattr(_held, "paths"):
        _held.paths = {}
    held: dict[str, int] = _held.paths
    if key in held:
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return

    fd = _acquire(lock_path, path, command)
    held[key] = 1
    try:
        if fd is not None:  # unlocked, someone else may be writing: leave their files alone
            if kind == "folder":
                for sub in [folder, *(p for pattern in clean for p in sorted(folder.glob(pattern)) if p.is_dir())]:
                    remove_stale_temps(sub)
            elif not (folder / LOCK_NAME).exists():  # a run holding the whole folder owns its temporaries
                remove_stale_temps(folder, target=path.name)
        yield
    finally:
        del held[key]
        _release(fd, lock_path, folder if created else None)


def locks_output(
    argument: str,
    command: str,
    *,
    clean: Sequence[str] = (),
    unless: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Callable[[F], F]:
    """Decorate a function to run under ``output_lock`` of its output folder ``argument``.

    ``unless`` gets the call's arguments (defaults filled in) and returns True where the
    call must not lock: the ranks of a distributed training other than rank 0 share
    rank 0's folder.

    >>> @locks_output("model_dir", "train")
    ... def train(faces, model_dir): ...
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            if unless is not None and unless(bound.arguments):
                return function(*args, **kwargs)
            folder = check_path(bound.arguments[argument], argument)  # before anything is made of it
            with output_lock(folder, command, clean=clean):
                return function(*args, **kwargs)

        return locked  # type: ignore[return-value]

    return decorate


def remove_stale_temps(folder: str | Path, *, target: str | None = None) -> int:
    """Delete the temporary files facetwin writers left in ``folder`` when killed.

    Only names of facetwin's pattern (``.NAME.<8 random>.tmp|.part``) for files facetwin
    writes are touched; with ``target``, only those of that output file. Temporaries of
    a file whose own lock file sits beside it (a conversion running) are kept. Call it
    while holding the folder's lock.

    Returns:
        How many files were deleted.
    """
    from facetwin.io.writers import VIDEO_OUTPUT_SUFFIXES

    suffixes = (*_OUTPUT_SUFFIXES, *VIDEO_OUTPUT_SUFFIXES)
    folder = Path(folder)
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        output = _temp_target(entry.name)
        if output is None or (target is not None and output != target):
            continue
        if target is None and (
            not output.lower().endswith(suffixes) or (folder / _FILE_LOCK.format(name=output)).exists()
        ):
            continue
        try:
            size = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        except OSError:
            continue
        removed += 1
        log.info("removed %s (%d bytes), left by an interrupted run", entry.path, size)
    return removed


# --- internals --------------------------------------------------------------------------------


def _temp_target(name: str) -> str | None:
    """The output a temporary file name stands for (through nested temporaries), or None."""
    match = _TEMP.fullmatch(name)
    if match is None:
        return None
    target = match.group("target")
    while (inner := _TEMP.fullmatch(target)) is not None:  # a signing temp of a writer's temp
        target = inner.group("target")
    return target


def _acquire(lock_path: Path, output: Path, command: str) -> int | None:
    """The descriptor holding ``lock_path`` (None where locks are unsupported)."""
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # a run that made the folder removed it on release, just now
            try:
                lock_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputWriteError(lock_path.parent, exc.strerror or str(exc)) from None
            continue
        except OSError as exc:
            raise OutputWriteError(lock_path, exc.strerror or str(exc)) from None
        try:
            locked = _try_lock(fd)
            if locked is None:
                log.warning(
                    "%s: this filesystem has no file locks; nothing keeps a second run from writing "
                    "there at the same time",
                    output,
                )
                os.close(fd)
                return None
            if not locked:
                raise OutputLockedError(output, this_host=socket.gethostname(), **_holder(fd))
            # The holder deletes the file before it lets go: if it did so between our
            # open and our lock, we hold a deleted file and must take the new one.
            if _same_file(fd, lock_path):
                _write_holder(fd, command)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _try_lock(fd: int) -> bool | None:
    """True if locked, False if another holds it, None if the filesystem cannot lock."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            return None  # ENOLCK, EOPNOTSUPP: some network filesystems
    if msvcrt is not None:
        # A byte far past the holder's note, so a second run can still read the note.
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    return None


def _same_file(fd: int, lock_path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(lock_path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _write_holder(fd: int, command: str) -> None:
    note = {"pid": os.getpid(), "command": command, "host": socket.gethostname(), "started": time.time()}
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(note) + "\n").encode("utf-8"))
    except OSError:  # the note only improves a second run's message
        pass


def _holder(fd: int) -> dict:
    """The holder's note (pid, command, host, started); empty where unreadable."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        note = json.loads(os.read(fd, 4096).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(note, dict):
        return {}
    pid, command, host, started = (note.get(k) for k in ("pid", "command", "host", "started"))
    return {
        "pid": pid if isinstance(pid, int) else None,
        "command": command if isinstance(command, str) else None,
        "host": host if isinstance(host, str) else None,
        "started": float(started) if isinstance(started, (int, float)) else None,
    }


def _release(fd: int | None, lock_path: Path, made: Path | None) -> None:
    """Delete the lock file, and the folder ``made`` if the run left it empty, then let go."""
    # Deleted while still held, so no other run can lock this file after we let go
    # (Windows cannot delete an open file: there it stays, empty of meaning).
    if fd is not None:
        try:
            os.unlink(lock_path)
        except OSError:
            pass
    if made is not None:
        try:
            made.rmdir()  # only succeeds if the run wrote nothing there
        except OSError:
            pass
    if fd is not None:
        os.close(fd)
