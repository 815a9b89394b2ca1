"""The web UI's pieces without a browser: forms to configs, the training job's controls."""

from __future__ import annotations

import time

import pytest
from _helpers import faceset

pytest.importorskip("gradio", reason="the web UI needs facetwin[ui] (pip install 'facetwin[ui]')")

from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig  # noqa: E402
from facetwin.errors import InvalidOptionError  # noqa: E402
from facetwin.options import CONVERT_OPTIONS, EXTRACT_OPTIONS, TRAIN_OPTIONS  # noqa: E402
from facetwin.train.checkpoint import read_state  # noqa: E402
from facetwin.ui import app as ui_app  # noqa: E402
from facetwin.ui.jobs import JobQueue  # noqa: E402
from facetwin.ui.project import Project  # noqa: E402


def _values(options, overrides):
    return tuple(overrides.get(o.field) for o in options)


def test_empty_form_gives_the_default_configs():
    assert ui_app._config(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {})) == TrainConfig()
    assert ui_app._config(ExtractConfig, EXTRACT_OPTIONS, _values(EXTRACT_OPTIONS, {})) == ExtractConfig()
    assert ui_app._config(ConvertConfig, CONVERT_OPTIONS, _values(CONVERT_OPTIONS, {})) == ConvertConfig()


def test_form_values_reach_the_config():
    values = {"model": "tiny64", "steps": "120", "time_limit": "1h30m", "batch_size": 4.0, "lr": 1e-4,
              "channels_last": True,  # the --no-channels-last box ticked
              "mask": "no", "freeze": ["encoder"], "tensorboard": False}
    config = ui_app._config(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, values))
    assert (config.model, config.steps, config.time_limit, config.batch_size) == ("tiny64", 120, 5400.0, 4)
    assert config.lr == 1e-4 and config.channels_last is False and config.mask is False
    assert config.freeze == ("encoder",)
    keep = ui_app._config(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {"mask": "the model's choice"}))
    assert keep.mask is None


@pytest.mark.parametrize("field, value, message", [
    ("steps", "many", "--steps.*a number"),
    ("time_limit", "soon", "--time.*not a duration"),
    ("batch_size", 0, "--batch-size"),
])
def test_bad_form_values_name_the_option(field, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        ui_app._config(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {field: value}))


def test_every_form_field_has_help_and_its_default(tmp_path):
    import gradio as gr

    with gr.Blocks():
        components = ui_app._form(TRAIN_OPTIONS, TrainConfig())
    assert len(components) == len(TRAIN_OPTIONS)
    for option, component in zip(TRAIN_OPTIONS, components):
        assert component.info and len(component.info) > 15, option.field
        assert component.elem_id == "opt-" + option.field.replace("_", "-")
    steps = components[[o.field for o in TRAIN_OPTIONS].index("steps")]
    assert steps.value == ""  # empty: train until stopped, not 0 steps


def test_the_page_builds_and_reads_the_project(tmp_path):
    app = ui_app.build_app(tmp_path / "p", refresh=5)
    server = app.facetwin_server
    try:
        out = ui_app._refresh(server, {}, {"a": "as extracted", "b": "as extracted"})
        assert "none yet" in out[0]
        assert out[1].startswith("No model yet")
        assert isinstance(out[-1], dict)
    finally:
        server.queue.close()


def test_training_job_pauses_resumes_and_stops_with_a_checkpoint(tmp_path, astronaut, grace_hopper, predictor):
    project = Project(tmp_path / "p")
    faceset(astronaut, project.faces_dir("a"), predictor)
    faceset(grace_hopper, project.faces_dir("b"), predictor)
    queue = JobQueue()
    config = TrainConfig(model="tiny64", batch_size=4, log_every=1, preview_every=1000, save_every=1000,
                         precision="fp32")  # no step limit: runs until stopped
    try:
        job = queue.submit("train", "train", lambda ctx: ui_app._train_job(ctx, project, config, False, "cpu"))
        deadline = time.monotonic() + 60
        while queue.get(job.id).done < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert queue.pause(job.id)
        time.sleep(0.5)
        held = queue.get(job.id).done
        time.sleep(0.5)
        assert queue.get(job.id).done == held
        assert "loss A" in queue.get(job.id).detail and "samples/s" in queue.get(job.id).detail
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


def test_an_image_conversion_shows_the_picture_and_its_marks(tmp_path, grace_hopper_path):
    from _helpers import tiny_model_dir

    app = ui_app.build_app(tmp_path / "p", device="cpu", refresh=5)
    server = app.facetwin_server
    try:
        project = server.project
        tiny_model_dir(project.model_dir)
        source = project.set_source("input", grace_hopper_path)
        config = ConvertConfig(to="b")
        server.queue.submit("convert", "convert", lambda ctx: ui_app._convert_job(ctx, server, source, config))
        assert server.queue.wait(120)
        job = server.queue.latest("convert")
        assert job.state == "done", job.error
        out = ui_app._refresh(server, {}, {"a": "as extracted", "b": "as extracted"})
        video, image, download, provenance = out[5:9]
        assert video["visible"] is False and image["visible"] is True
        assert image["value"] == download["value"] == str(project.outputs_dir / "grace_hopper_to_b.png")
        assert "grace_hopper_to_b.png: SYNTHETIC" in provenance and str(project.root) not in provenance
        # Shown once: the next tick sends nothing new.
        again = ui_app._refresh(server, out[-1], {"a": "as extracted", "b": "as extracted"})
        assert again[6] == {"__type__": "update"}
    finally:
        server.queue.close()
