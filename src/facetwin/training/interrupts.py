"""Ctrl-C held off while training finishes a step and writes its closing checkpoint.

A ``KeyboardInterrupt`` raised between a step's two optimiser updates leaves weights
that belong to no step (a resume would not be exact), and one raised inside the
closing save throws away every step since the last periodic checkpoint (up to
``save_every - 1`` of them). So while training runs, SIGINT and SIGTERM only record
that they came; the loop looks at the record between steps and stops there, saves,
and on leaving the block each held signal goes to the handler it had before: Ctrl-C
still ends in ``KeyboardInterrupt``, SIGTERM in whatever the process set up for it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

__all__ = ["interrupts_held"]


@contextmanager
def interrupts_held(signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[list[int]]:
    """Hold ``signals`` while the block runs; yields the list of those that came.

    On a normal exit each held signal is raised again (once) under the handler it had
    before, so a held Ctrl-C raises ``KeyboardInterrupt`` at the end of the block. On
    an exit by exception they are dropped: the exception already ends the work, and
    the error it carries is what the user needs to read.

    Outside the main thread nothing is held (only the main thread receives signals
    or may set their handlers; a UI's worker thread stops through ``should_stop``).
    Signals set to be ignored stay ignored.

    >>> with interrupts_held() as held:
    ...     pass
    >>> held
    []
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def record(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {}
    for sig in signals:
        before = signal.getsignal(sig)
        if before in (signal.SIG_IGN, None):  # None: set outside Python, cannot be restored
            continue
        previous[sig] = signal.signal(sig, record)
    failed = False
    try:
        yield held
    except BaseException:
        failed = True
        raise
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
        if not failed:
            for sig in dict.fromkeys(held):
                signal.raise_signal(sig)  # the restored handler runs before this returns
