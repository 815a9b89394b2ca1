"""The UI's jobs without a page: each one library call, controlled through its JobContext."""

from __future__ import annotations

import time

from _helpers import faceset, tiny_model_dir

from facetwin.config import ConvertConfig, TrainConfig
from facetwin.io.images import write_png
from facetwin.models.checkpoint import read_state
from facetwin.ui import tasks
from facetwin.ui.jobs import JobQueue
from facetwin.ui.project import Project


def test_training_job_pauses_resumes_and_stops_with_a_checkpoint(tmp_path, astronaut, grace_hopper, predictor):
    project = Project(tmp_path / "p")
    faceset(astronaut, project.faces_dir("a"), predictor)
    faceset(grace_hopper, project.faces_dir("b"), predictor)
    queue = JobQueue()
    config = TrainConfig(
        model="tiny64", batch_size=4, log_every=1, preview_every=1000, save_every=1000, precision="fp32"
    )  # no step limit: runs until stopped
    try:
        job = queue.submit("train", "train", lambda ctx: tasks.train_task(ctx, project, config, False, "cpu"))
        deadline = time.monotonic() + 60
        while queue.get(job.id).done < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert queue.pause(job.id)
        time.sleep(0.5)
        held = queue.get(job.id).done
        time.sleep(0.5)
        assert queue.get(job.id).done == held
        assert "loss A" in queue.get(job.id).detail and "faces/s" in queue.get(job.id).detail
        assert queue.resume(job.id)
        while queue.get(job.id).done < held + 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert queue.stop(job.id)
        assert queue.wait(60)
        finished = queue.get(job.id)
        assert finished.state == "stopped"
        assert finished.result.stopped_by == "requested"
        assert read_state(project.model_dir)["step"] == finished.result.step >= held + 2
    finally:
        queue.close()


def test_an_image_folder_converts_to_a_folder_and_a_zip(tmp_path, astronaut, grace_hopper):
    import zipfile

    from facetwin import verify

    project = Project(tmp_path / "p")
    tiny_model_dir(project.model_dir)
    photos = tmp_path / "photos"
    photos.mkdir()
    write_png(photos / "one.png", astronaut)
    write_png(photos / "two.png", grace_hopper)
    queue = JobQueue()
    try:
        job = queue.submit(
            "convert",
            "convert",
            lambda ctx: tasks.convert_task(ctx, project, photos, ConvertConfig(to="a"), device="cpu"),
        )
        assert queue.wait(120)
        done = queue.get(job.id)
        assert done.state == "done", done.error
        result = done.result
        assert result["output"] == project.outputs_dir / "photos_to_a" and result["output"].is_dir()
        assert sorted(zipfile.ZipFile(result["download"]).namelist()) == ["one.png", "two.png"]
        assert result["summary"].faces_swapped == 2
        assert result["report"].startswith("one.png: SYNTHETIC")
        assert verify(result["output"] / "two.png").synthetic
        assert done.done == 2 and done.total == 2 and done.unit == "frame"
    finally:
        queue.close()
