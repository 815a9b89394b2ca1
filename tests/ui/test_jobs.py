"""The UI's job queue: one job at a time, in order; stop, pause, resume; failures kept."""

from __future__ import annotations

import threading
import time

import pytest

from facetwin.errors import NoFaceFoundError
from facetwin.ui.jobs import JobQueue, JobStopped


@pytest.fixture
def queue(tmp_path):
    q = JobQueue(crash_log=tmp_path / "logs")
    yield q
    q.close()


def _until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_jobs_run_one_at_a_time_in_order(queue):
    running, order, overlap = [], [], []
    lock = threading.Lock()

    def work(name):
        def fn(ctx):
            with lock:
                running.append(name)
                overlap.append(len(running))
            for i in range(5):
                ctx.report(i + 1, 5)
                time.sleep(0.01)
            with lock:
                running.remove(name)
                order.append(name)
            return name.upper()

        return fn

    jobs = [queue.submit("k", name, work(name)) for name in ("one", "two", "three")]
    assert [j.state for j in jobs] == ["queued"] * 3
    assert queue.wait(10)
    assert order == ["one", "two", "three"]
    assert max(overlap) == 1
    done = queue.snapshot()
    assert [j.state for j in done] == ["done"] * 3
    assert [j.result for j in done] == ["ONE", "TWO", "THREE"]
    assert all(j.done == 5 and j.total == 5 and j.rate and j.rate > 0 for j in done)
    assert queue.latest("k").title == "three"
    assert queue.latest("other") is None


def test_stop_ends_a_running_job_and_drops_a_queued_one(queue):
    started = threading.Event()

    def endless(ctx):
        started.set()
        i = 0
        while True:
            i += 1
            ctx.report(i)
            time.sleep(0.01)

    first = queue.submit("k", "endless", endless)
    second = queue.submit("k", "never", lambda ctx: "ran")
    started.wait(5)
    assert queue.stop(second.id)
    assert queue.get(second.id).state == "cancelled"
    assert queue.stop(first.id)
    assert queue.wait(10)
    assert queue.get(first.id).state == "stopped"
    assert queue.get(second.id).result is None
    assert not queue.stop(first.id)  # nothing left to stop
    assert not queue.stop(999)


def test_pause_holds_the_job_and_resume_lets_it_go_on(queue):
    def steps(ctx):
        for i in range(200):
            ctx.report(i + 1, 200)
            time.sleep(0.005)
        return "finished"

    job = queue.submit("k", "steps", steps)
    _until(lambda: queue.get(job.id).done >= 5)
    assert queue.pause(job.id)
    assert queue.get(job.id).state == "paused"
    time.sleep(0.3)  # let a report arrive and block
    held = queue.get(job.id).done
    time.sleep(0.5)
    assert queue.get(job.id).done == held, "a paused job went on working"
    assert queue.get(job.id).eta is None
    assert not queue.pause(job.id)  # already paused
    assert queue.resume(job.id)
    assert queue.wait(20)
    assert queue.get(job.id).state == "done" and queue.get(job.id).result == "finished"


def test_a_paused_job_can_be_stopped(queue):
    job = queue.submit("k", "steps", lambda ctx: [ctx.report(i) or time.sleep(0.01) for i in range(1000)])
    _until(lambda: queue.get(job.id).done >= 2)
    queue.pause(job.id)
    queue.stop(job.id)
    assert queue.wait(10)
    assert queue.get(job.id).state == "stopped"


def test_a_job_that_polls_for_stop_ends_cleanly(queue):
    def polite(ctx):
        i = 0
        while not ctx.stop_requested():
            i += 1
            ctx.report(i, raise_on_stop=False)
            time.sleep(0.01)
        return f"saved at {i}"

    job = queue.submit("k", "polite", polite)
    _until(lambda: queue.get(job.id).done >= 3)
    queue.stop(job.id)
    assert queue.wait(10)
    finished = queue.get(job.id)
    assert finished.state == "stopped" and finished.result.startswith("saved at")


def test_failures_are_kept_and_the_worker_goes_on(queue, tmp_path):
    def bad_input(ctx):
        raise NoFaceFoundError("clip.mp4", 12)

    def bug(ctx):
        raise ZeroDivisionError("oops")

    a = queue.submit("k", "bad input", bad_input)
    b = queue.submit("k", "bug", bug)
    c = queue.submit("k", "fine", lambda ctx: 42)
    assert queue.wait(10)
    assert queue.get(a.id).state == "failed"
    assert queue.get(a.id).error == "no face found in clip.mp4 (12 frames read)"
    failed = queue.get(b.id)
    assert failed.state == "failed" and "internal error: ZeroDivisionError: oops" in failed.error
    logs = list((tmp_path / "logs").glob("job-*.log"))
    assert len(logs) == 1 and "ZeroDivisionError" in logs[0].read_text()
    assert queue.get(c.id).result == 42


def test_report_raises_once_stopped(queue):
    seen = []

    def fn(ctx):
        try:
            while True:
                ctx.report(1)
                time.sleep(0.01)
        except JobStopped:
            seen.append("stopped")
            raise

    job = queue.submit("k", "x", fn)
    _until(lambda: queue.get(job.id).state == "running")
    queue.stop(job.id)
    assert queue.wait(10)
    assert seen == ["stopped"]


def test_a_long_or_many_line_error_is_kept_as_one_line(queue, tmp_path, caplog):
    from facetwin.errors import UnreadableMediaError
    from facetwin.ui.jobs import MAX_ERROR_CHARS, one_line

    assert one_line("first\n\n  second  ") == "first …"
    assert one_line("  a   b ") == "a b" and one_line("") == ""
    assert one_line("x" * 500) == "x" * (MAX_ERROR_CHARS - 1) + "…"

    def bad(ctx):  # a decoder's reason can run over several lines
        raise UnreadableMediaError("clip.mp4", "Invalid data found when processing input\n  at offset 0x2f")

    def bug(ctx):
        raise MemoryError("out of memory\n" + "allocator state\n" * 50)

    a, b = queue.submit("k", "bad", bad), queue.submit("k", "bug", bug)
    with caplog.at_level("ERROR", logger="facetwin.ui.jobs"):
        assert queue.wait(10)
    assert queue.get(a.id).error == (
        "cannot read clip.mp4 as an image or video: Invalid data found when processing input …"
    )
    error = queue.get(b.id).error
    assert "\n" not in error and error.startswith("internal error: MemoryError: out of memory … (traceback in ")
    (record,) = caplog.records  # the terminal gets the same one line, not the traceback
    assert record.getMessage().endswith(error) and "\n" not in record.getMessage()


def test_every_stage_reports_through_one_adapter(queue):
    from facetwin.progress import Progress

    def fn(ctx):
        report = ctx.progress()
        report(Progress("extract", 3, 10, "frame", detail="2 faces"))
        report(Progress("train", 7, None, "step", detail="loss A 0.0500 B 0.0600"))
        return None

    job = queue.submit("k", "steps", fn)
    _until(lambda: queue.get(job.id).state in ("done", "failed"))
    job = queue.get(job.id)
    assert job.state == "done" and (job.done, job.total, job.unit, job.detail) == (
        7,
        None,
        "step",
        "loss A 0.0500 B 0.0600",
    )


def test_the_adapter_stops_a_job_unless_it_polls_itself(queue):
    from facetwin.progress import Progress

    def fn(polls):
        def run(ctx):
            report = ctx.progress(stop_on_report=not polls)
            for i in range(2000):
                report(Progress("train", i, 2000, "step"))
                if ctx.stop_requested() and polls:
                    return "ended cleanly"
                time.sleep(0.005)

        return run

    for polls in (False, True):
        job = queue.submit(f"k{polls}", "steps", fn(polls))
        _until(lambda: queue.get(job.id).done > 3)
        queue.stop(job.id)
        _until(lambda: queue.get(job.id).state in ("done", "failed", "stopped"))
        # A job that polls ends by returning; both count as stopped, but only the polling one
        # got to finish its step and return its result.
        assert queue.get(job.id).state == "stopped"
        assert queue.get(job.id).result == ("ended cleanly" if polls else None), polls


def test_save_requests_reach_a_running_job_once_each(queue):
    saves = []

    def trainer(ctx):
        i = 0
        while not ctx.stop_requested():
            i += 1
            if ctx.save_requested():
                saves.append(i)
            ctx.report(i, raise_on_stop=False)
            time.sleep(0.01)

    assert not queue.request_save(99)  # no such job
    job = queue.submit("train", "train", trainer)
    _until(lambda: queue.get(job.id).done >= 2)
    assert queue.request_save(job.id)
    _until(lambda: len(saves) == 1)
    time.sleep(0.1)
    assert len(saves) == 1  # one request, one save: the flag is taken by the save
    queue.pause(job.id)
    assert not queue.request_save(job.id)  # paused: the step that would save is not reached
    queue.stop(job.id)
    assert queue.wait(10)
    assert not queue.request_save(job.id)  # over


def test_a_time_limit_gives_the_eta_its_own_estimate(queue):
    from facetwin.progress import Progress

    gate = threading.Event()

    def timed(ctx):
        # 10 of an estimated 1000 steps, but the job knows 30 s are left (a time limit).
        ctx.progress()(Progress("train", 10, 1000, "step", remaining=30.0))
        gate.wait(10)

    job = queue.submit("train", "timed", timed)
    _until(lambda: queue.get(job.id).done == 10)
    eta = queue.get(job.id).eta
    assert eta is not None and 28 < eta <= 30
    gate.set()
    assert queue.wait(10)
    assert queue.get(job.id).eta is None  # done: no time left to show


def test_finished_jobs_can_be_cleared(queue):
    gate = threading.Event()
    done = queue.submit("k", "quick", lambda ctx: None)
    assert queue.wait(10)
    running = queue.submit("k", "slow", lambda ctx: gate.wait(10))
    _until(lambda: queue.get(running.id).state == "running")
    assert queue.clear_finished() == 1
    assert [j.id for j in queue.snapshot()] == [running.id]  # the running job stays
    assert queue.get(done.id) is None
    gate.set()


def test_the_job_history_survives_a_restart(tmp_path):
    from pathlib import Path

    history = tmp_path / "jobs.json"
    first = JobQueue(history=history)
    gate = threading.Event()
    finished = first.submit(
        "convert", "convert clip", lambda ctx: {"output": Path("/p/out.mp4"), "n": 3, "x": object()}
    )
    assert first.wait(10)
    running = first.submit("train", "train", lambda ctx: [ctx.report(i, 100) for i in range(5)] and gate.wait(30))
    queued = first.submit("k", "waiting", lambda ctx: None)
    _until(lambda: first.get(running.id).done == 4)
    # The server dies: its queue's last word on disk is the running job, running.
    first._closed = True  # noqa: SLF001 - no close(), which would finish the jobs properly
    second = JobQueue(history=history)
    try:
        jobs = {j.id: j for j in second.snapshot()}
        assert [jobs[i].state for i in (finished.id, running.id, queued.id)] == ["done", "stopped", "cancelled"]
        assert jobs[finished.id].result == {"output": "/p/out.mp4", "n": 3}  # plain data only
        assert jobs[running.id].title == "train" and jobs[running.id].started is not None
        assert second.submit("k", "next", lambda ctx: None).id == queued.id + 1  # ids go on
    finally:
        gate.set()
        second.close()
        first.close()
