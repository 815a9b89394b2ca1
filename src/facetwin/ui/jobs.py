"""Long jobs for the web UI: one at a time, in order, on a thread of the server.

The queue lives in the server process, not in a browser session, so a job goes on when
its tab is closed and any page that opens later sees it (the page polls ``snapshot``).
One worker runs the jobs one after another: extraction, training and conversion each
take every core (and the GPU), and two at once would only be slower. With ``history``
the job table is kept in a JSON file, so a server started again shows the jobs of the
last one (those it was running when it stopped, as "stopped").
"""

from __future__ import annotations

import itertools
import json
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
from facetwin.io.atomic import atomic_write_json

__all__ = ["Job", "JobContext", "JobQueue", "JobStopped", "one_line"]

log = logging.getLogger(__name__)

#: The longest error a job keeps (the page's job table, the terminal): the rest is in the crash log.
MAX_ERROR_CHARS = 200
#: Seconds between writes of the job history for progress alone (a change of state is written at once).
_HISTORY_EVERY = 5.0

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
    # Seconds left as the job itself estimated them (a time limit), and when it said so.
    remaining: tuple[float, float] | None = None
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
        """Seconds left: the job's own estimate where it gives one (training with a time
        limit knows its end better than a step count), else at the current rate (None
        before there is a rate or a total)."""
        if self.state != "running":
            return None
        if self.remaining is not None:
            left, at = self.remaining
            return max(left - (time.time() - at), 0.0)
        rate = self.rate
        if rate is None or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate


class JobContext:
    """What a running job's function gets: ``report`` progress, ask ``stop_requested`` and
    ``save_requested``."""

    def __init__(
        self,
        queue: JobQueue,
        job: Job,
        stop: threading.Event,
        run: threading.Event,
        save: threading.Event | None = None,
    ) -> None:
        self._queue, self._job, self._stop, self._run = queue, job, stop, run
        self._save = save if save is not None else threading.Event()

    def report(
        self,
        done: int,
        total: int | None = None,
        *,
        unit: str | None = None,
        detail: str | None = None,
        remaining: float | None = None,
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
            job.remaining = (remaining, time.time()) if remaining is not None else None
            if unit is not None:
                job.unit = unit
            if detail is not None:
                job.detail = detail
            self._queue._write_history(every=_HISTORY_EVERY)
        if raise_on_stop and self._stop.is_set():
            raise JobStopped()

    def progress(self, *, stop_on_report: bool = True):
        """The adapter from every stage's ``Progress`` events to this job's progress: pass it
        as a library call's ``progress``. With ``stop_on_report`` False the call is expected
        to poll ``stop_requested`` itself (training ends cleanly, with a checkpoint)."""
        return lambda event: self.report(
            event.done,
            event.total,
            unit=event.unit,
            detail=event.detail,
            remaining=event.remaining,
            raise_on_stop=stop_on_report,
        )

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def save_requested(self) -> bool:
        """True once for each ``JobQueue.request_save`` (the job saves, then goes on)."""
        if self._save.is_set():
            self._save.clear()
            return True
        return False


class JobQueue:
    """Runs submitted jobs one at a time, in order, on one worker thread.

    Args:
        crash_log: folder for the tracebacks of jobs that fail with an unexpected error
            (a ``FacetwinError`` is bad input: its one-line message is enough).
        history: a JSON file the job table is kept in (read at start, written at each
            change of state); None: the table lives as long as the queue.
    """

    def __init__(self, *, crash_log: Path | None = None, history: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._jobs: list[Job] = []
        self._pending: deque[tuple[Job, Callable[[JobContext], Any], threading.Event]] = deque()
        self._stops: dict[int, threading.Event] = {}
        self._runs: dict[int, threading.Event] = {}  # cleared while a job is paused
        self._saves: dict[int, threading.Event] = {}  # set by request_save, until the job saves
        self._crash_log = crash_log
        self._history = history
        self._history_written = float("-inf")
        self._jobs.extend(_read_history(history) if history is not None else ())
        self._ids = itertools.count(max((j.id for j in self._jobs), default=0) + 1)
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
            self._saves[job.id] = threading.Event()
            self._pending.append((job, fn, stop))
            self._write_history()
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
                self._write_history()
            return True

    def request_save(self, job_id: int) -> bool:
        """Ask a running job that saves on request (training) to save at its next step."""
        with self._lock:
            job = self._find(job_id)
            if job is None or job.state != "running":
                return False
            self._saves[job_id].set()
            return True

    def clear_finished(self) -> int:
        """Drop every job that is over (done, stopped, failed, cancelled) from the table."""
        with self._lock:
            before = len(self._jobs)
            self._jobs = [j for j in self._jobs if j.active]
            self._write_history()
            return before - len(self._jobs)

    def pause(self, job_id: int) -> bool:
        """Hold a running job at its next progress report, keeping its place in the queue."""
        with self._lock:
            job = self._find(job_id)
            if job is None or job.state != "running":
                return False
            self._runs[job_id].clear()
            job.state = "paused"
            self._write_history()
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
            self._write_history()
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
            self._write_history()
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
                self._write_history()
            state, result, error = "done", None, None
            try:
                result = fn(JobContext(self, job, stop, self._runs[job.id], self._saves[job.id]))
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
                self._write_history()

    def _write_history(self, every: float = 0.0) -> None:
        """Keep the table in ``history`` (the caller holds the lock); progress alone is
        written at most ``every`` seconds. A disk that cannot be written costs the history,
        never the job."""
        if self._history is None or time.monotonic() - self._history_written < every:
            return
        self._history_written = time.monotonic()
        try:
            atomic_write_json(self._history, {"jobs": [_job_json(j) for j in self._jobs]})
        except (OSError, ValueError) as exc:  # ValueError: a NaN in a result
            log.warning("cannot keep the job history in %s: %s", self._history, exc)

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


#: Job fields kept in the history file (``result`` only where it is plain data).
_KEPT = ("id", "kind", "title", "state", "done", "total", "unit", "detail", "error", "submitted", "started", "finished")


def _job_json(job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in _KEPT}
    if isinstance(job.result, dict):
        # Paths and text survive a restart (a conversion's output and report, an evaluation's
        # table); a library summary object does not, and the page does not need it then.
        plain = {k: str(v) if isinstance(v, Path) else v for k, v in job.result.items()}
        row["result"] = {k: v for k, v in plain.items() if isinstance(v, (str, int, float, bool)) or v is None}
    return row


def _read_history(path: Path) -> list[Job]:
    """The jobs of an earlier server: those it had not finished were ended with it."""
    try:
        rows = json.loads(path.read_text())["jobs"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # none yet, or unreadable: the table starts empty
    jobs = []
    for row in rows:
        try:
            job = Job(**{name: row[name] for name in _KEPT if name in row}, result=row.get("result"))
        except TypeError:
            continue
        if job.state in ("running", "paused"):
            job.state, job.finished = "stopped", job.finished or time.time()
        elif job.state == "queued":  # its function went with the server
            job.state, job.finished = "cancelled", job.finished or time.time()
        jobs.append(job)
    return jobs
