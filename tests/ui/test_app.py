"""The page without a browser: it builds, and its timer reads the jobs and the project."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio", reason="the web UI needs facetwin[ui] (pip install 'facetwin[ui]')")

from facetwin.config import ConvertConfig  # noqa: E402
from facetwin.ui import app as ui_app  # noqa: E402
from facetwin.ui import tasks  # noqa: E402


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


def test_an_image_conversion_shows_the_picture_and_its_marks(tmp_path, grace_hopper_path):
    from _helpers import tiny_model_dir

    app = ui_app.build_app(tmp_path / "p", device="cpu", refresh=5)
    server = app.facetwin_server
    try:
        project = server.project
        tiny_model_dir(project.model_dir)
        source = project.set_source("input", grace_hopper_path)
        config = ConvertConfig(to="b")
        server.queue.submit("convert", "convert", lambda ctx: tasks.convert_task(ctx, project, source, config,
                                                                                device="cpu"))
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
