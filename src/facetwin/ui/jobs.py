"""Long jobs for the web UI: one at a time, in order, on a thread of the server.

The queue lives in the server process, not in a browser session, so a job goes on when
its tab is closed and any page that opens later sees it (the page polls ``snapshot``).
One worker runs the jobs one after another: extraction, training and conversion each
take every core (and the GPU), and two at once would only be slower.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from facetwin.errors import FacetwinError

__all__ = ["Job", "JobContext", "JobQueue", "JobStopped", "one_line"]

log = logging.getLogger(__name__)

#: The longest error a job keeps (the page's job table, the terminal): the rest is in the crash log.
MAX_ERROR_CHARS = 200

JobState = Literal["queued", "running", "paused", "done", "stopped", "failed", "cancelled"]


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` as one line of at most ``limit`` characters: its first non-blank line, "…" if cut.

    >>> one_line("CUDA out of memory.\\nTried to allocate 2.00 GiB")
    'CUDA out of memory. …'
    """
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    first = (lines[0] if lines else "") + (" …" if len(lines) > 1 else "")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


class JobStopped(Exception):
    """Raised from a job's progress callback when its Stop button was pressed."""


@dataclass
class Job:
    """A job as the page shows it (``JobQueue.snapshot`` hands out copies)."""

    id: int
    kind: str
    title: str
    state: JobState = "queued"
    done: int = 0
    total: int | None = None
    unit: str = "it"
    detail: str = ""
    error: str | None = None
    result: Any = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    # Progress measured from the job's first report, so start-up (loading a model,
    # reading faces) does not count against the rate.
    _first: tuple[float, int] | None = None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running", "paused")

    @property
    def rate(self) -> float | None:
        """Units a second since the first report."""
        if self._first is None or self.started is None:
            return None
        t0, d0 = self._first
        now = self.finished or time.time()
        return (self.done - d0) / (now - t0) if now > t0 and self.done > d0 else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate (None before there is a rate or a total)."""
        rate = self.rate
        if rate is None or self.total is None or self.state != "running":
            return None
        return max(self.total - self.done, 0) / rate


class JobContext:
    """What a running job's function gets: ``report`` progress, ask ``stop_requested``."""

    def __init__(self, queue: JobQueue, job: Job, stop: threading.Event, run: threading.Event) -> None:
        self._queue, self._job, self._stop, self._run = queue, job, stop, run

    def report(
        self,
        done: int,
        total: int | None = None,
        *,
        unit: str | None = None,
        detail: str | None = None,
        raise_on_stop: bool = True,
    ) -> None:
        """Record progress. While the job is paused, wait here.

        Raises ``JobStopped`` once the job was asked to stop, unless ``raise_on_stop``
        is False (a job that polls ``stop_requested`` itself, to end cleanly).
        """
        while not self._run.is_set() and not self._stop.is_set():
            self._run.wait(0.2)  # paused: the work holds its place (and its memory)
        with self._queue._lock:
            job = self._job
            if job._first is None:
                job._first = (time.time(), done)
            job.done, job.total = done, total
            if unit is not None:
                job.unit = unit
            if detail is not None:
                job.detail = detail
        if raise_on_stop and self._stop.is_set():
            raise JobStopped()

    def progress(self, *, stop_on_report: bool = True):
        """The adapter from every stage's ``Progress`` events to this job's progress: pass it
        as a library call's ``progress``. With ``stop_on_report`` False the call is expected
        to poll ``stop_requested`` itself (training ends cleanly, with a checkpoint)."""
        return lambda event: self.report(
            event.done, event.total, unit=event.unit, detail=event.detail, raise_on_stop=stop_on_report
        )

    def stop_requested(self) -> bool:
        return self._stop.is_set()


class JobQueue:
    """Runs submitted jobs one at a time, in order, on one worker thread.

    Args:
        crash_log: folder for the tracebacks of jobs that fail with an unexpected error
            (a ``FacetwinError`` is bad input: its one-line message is enough).
    """

    def __init__(self, *, crash_log: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: list[Job] = []
        self._pending: deque[tuple[Job, Callable[[JobContext], Any], threading.Event]] = deque()
        self._stops: dict[int, threading.Event] = {}
        self._runs: dict[int, threading.Event] = {}  # cleared while a job is paused
        self._ids = itertools.count(1)
        self._crash_log = crash_log
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="facetwin-jobs", daemon=True)
        self._worker.start()

    def submit(self, kind: str, title: str, fn: Callable[[JobContext], Any]) -> Job:
        """Queue ``fn(context)``; its return value becomes the job's ``result``."""
        with self._lock:
            job = Job(next(self._ids), kind, title)
            stop = threading.Event()
            self._jobs.append(job)
            self._stops[job.id] = stop
            self._runs[job.id] = threading.Event()
            self._runs[job.id].set()
            self._pending.append((job, fn, stop))
            self._wake.notify()
            return replace(job)

    def stop(self, job_id: int) -> bool:
        """Stop a running job (it ends at its next progress report) or drop a queued one."""
        with self._lock:
            job = self._find(job_id)
            if job is None or not job.active:
                return False
            self._stops[job_id].set()
            self._runs[job_id].set()
            if job.state == "queued":
                job.state, job.finished = "cancelled", time.time()
                self._pending = deque(p for p in self._pending if p[0].id != job_id)
            return True

    def pause(self, job_id: int) -> bool:
        """Hold a running job at its next progress report, keeping its place in the queue."""
        with self._lock:
            job = self._find(job_id)
            if job is None or job.state != "running":
                return False
            self._runs[job_id].clear()
            job.state = "paused"
            return True

    def resume(self, job_id: int) -> bool:
        """Let a paused job go on."""
        with self._lock:
            job = self._find(job_id)
            if job is None or job.state != "paused":
                return False
            job.state = "running"
            job._first = None  # the rate restarts: the pause is not work
            self._runs[job_id].set()
            return True

    def snapshot(self) -> list[Job]:
        """Every job so far, oldest first, as copies safe to read without the lock."""
        with self._lock:
            return [replace(j) for j in self._jobs]

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            job = self._find(job_id)
            return replace(job) if job is not None else None

    def latest(self, kind: str) -> Job | None:
        """The newest job of this kind."""
        with self._lock:
            job = next((j for j in reversed(self._jobs) if j.kind == kind), None)
            return replace(job) if job is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (for scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if not any(j.active for j in self._jobs):
                    return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the running job, drop the queued ones, end the worker."""
        with self._lock:
            self._closed = True
            for job, _, _ in self._pending:
                job.state, job.finished = "cancelled", time.time()
            self._pending.clear()
            for event in (*self._stops.values(), *self._runs.values()):
                event.set()
            self._wake.notify()
        self._worker.join(timeout=30)

    def _find(self, job_id: int) -> Job | None:
        """The job with this id (the caller holds the lock)."""
        return next((j for j in self._jobs if j.id == job_id), None)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job, fn, stop = self._pending.popleft()
                job.state, job.started = "running", time.time()
            state, result, error = "done", None, None
            try:
                result = fn(JobContext(self, job, stop, self._runs[job.id]))
                if stop.is_set():
                    state = "stopped"
            except JobStopped:
                state = "stopped"
            except FacetwinError as exc:
                state, error = "failed", one_line(str(exc))
            except Exception as exc:  # a bug: the server must go on serving the page
                # One line in the page and the terminal; the traceback goes to the crash log.
                error = f"internal error: {type(exc).__name__}: {one_line(str(exc))}{self._write_crash_log(job)}"
                state = "failed"
                log.error("job %d (%s) failed: %s", job.id, job.title, error)
                log.debug("job %d (%s) failed", job.id, job.title, exc_info=True)
            with self._lock:
                job.state, job.result, job.error, job.finished = state, result, error, time.time()

    def _write_crash_log(self, job: Job) -> str:
        if self._crash_log is None:
            return ""
        try:
            self._crash_log.mkdir(parents=True, exist_ok=True)
            path = self._crash_log / f"job-{job.id}-{time.strftime('%Y%m%d-%H%M%S')}.log"
            path.write_text(traceback.format_exc())
            return f" (traceback in {path})"
        except OSError:
            return ""
