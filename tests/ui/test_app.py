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
        out = ui_app._refresh(server, {}, {"a": ("as extracted", 1), "b": ("as extracted", 1)})
        assert "none yet" in out["queue"]
        assert out["train_status"].startswith("No model yet")
        assert isinstance(out["seen"], dict) and set(out) <= set(ui_app._SHOWN)
        # Nothing to show yet: no preview, no result, no faces.
        assert not {"train_preview", "result_image", "a_gallery"} & set(out)
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
        server.queue.submit(
            "convert", "convert", lambda ctx: tasks.convert_task(ctx, project, source, config, device="cpu")
        )
        assert server.queue.wait(120)
        job = server.queue.latest("convert")
        assert job.state == "done", job.error
        out = ui_app._refresh(server, {}, {"a": ("as extracted", 1), "b": ("as extracted", 1)})
        video, image, download, provenance = (
            out[k] for k in ("result_video", "result_image", "result_download", "provenance")
        )
        assert video["visible"] is False and image["visible"] is True
        assert image["value"] == download["value"] == str(project.outputs_dir / "grace_hopper_to_b.png")
        assert "grace_hopper_to_b.png: SYNTHETIC" in provenance and str(project.root) not in provenance
        # Shown once: the next tick sends nothing new.
        again = ui_app._refresh(server, out["seen"], {"a": ("as extracted", 1), "b": ("as extracted", 1)})
        assert "result_image" not in again and "provenance" not in again
    finally:
        server.queue.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _handler(app, name: str):
    return next(f.fn for f in app.fns.values() if f.name == name)


@pytest.fixture
def owners_project(tmp_path, grace_hopper_path):
    """A project as its owner left it: uploads, faces, a model, logs, an output."""
    import shutil

    from facetwin.ui.project import Project

    project = Project(tmp_path / "p")
    project.add_upload("a", [grace_hopper_path])
    for path in ("faces/a/000000_0.png", "model/preview.png", "outputs/grace_hopper_to_b.png"):
        (project.root / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grace_hopper_path, project.root / path)
    (project.root / "faces/a/alignments.json").write_text('{"source": {"path": "/home/owner/clip.mp4"}}')
    (project.root / "model/weights.safetensors").write_bytes(b"the owner's weights")
    (project.root / "logs").mkdir()
    (project.root / "logs/job-1.log").write_text("Traceback ...")
    return project


def test_served_to_others_it_asks_for_a_log_in_and_serves_only_what_the_page_shows(owners_project):
    import httpx

    port = _free_port()
    # shared=True on a loopback port: what --host 0.0.0.0 gets, without listening on every interface.
    app = ui_app.launch(owners_project.root, port=port, shared=True, device="cpu", block=False)
    try:
        user, password = app.facetwin_auth
        assert user == "facetwin" and len(password) >= 20
        root = owners_project.root
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            crop = f"/gradio_api/file={root}/faces/a/000000_0.png"
            for url in ("/config", "/gradio_api/info", crop):
                assert client.get(url).status_code == 401, url
            assert client.post("/login", data={"username": user, "password": "guess"}).status_code == 400
            assert client.post("/login", data={"username": user, "password": password}).status_code == 200
            assert client.get("/config").status_code == 200
            for shown in ("faces/a/000000_0.png", "model/preview.png", "outputs/grace_hopper_to_b.png"):
                reply = client.get(f"/gradio_api/file={root}/{shown}")
                assert reply.status_code == 200 and reply.content == (root / shown).read_bytes(), shown
            for kept in (
                "model/weights.safetensors",
                "project.json",
                "sources/a/grace_hopper.jpg",
                "faces/a/alignments.json",
                "logs/job-1.log",
            ):
                assert (root / kept).is_file()
                assert client.get(f"/gradio_api/file={root}/{kept}").status_code == 403, kept
    finally:
        app.facetwin_server.queue.close()
        app.close()


def test_on_loopback_it_stays_open_but_still_keeps_the_weights(owners_project):
    import httpx

    port = _free_port()
    app = ui_app.launch(owners_project.root, port=port, device="cpu", block=False)
    try:
        assert app.facetwin_auth is None and app.facetwin_server.roots is None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/config").status_code == 200
            root = owners_project.root
            assert client.get(f"/gradio_api/file={root}/faces/a/000000_0.png").status_code == 200
            assert client.get(f"/gradio_api/file={root}/model/weights.safetensors").status_code == 403
    finally:
        app.facetwin_server.queue.close()
        app.close()


def test_a_shared_page_reads_typed_paths_only_under_the_roots(tmp_path, grace_hopper_path):
    import shutil

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    shutil.copyfile(grace_hopper_path, allowed / "portrait.jpg")
    app = ui_app.build_app(tmp_path / "p", roots=(allowed.resolve(),), shared=True, refresh=5)
    try:
        use_path = _handler(app, "use_path")
        outside = [str(grace_hopper_path), "/etc/shadow", "/root/.ssh/id_rsa", str(tmp_path / "missing.mp4")]
        messages = {use_path(text)[1].replace(text, "TYPED") for text in outside}
        assert messages == {
            f"⚠ not an allowed path: TYPED (this server reads videos, images and folders under "
            f"{allowed.resolve()} only; upload anything else)"
        }
        assert app.facetwin_server.project.source("a") is None
        line, message = use_path(str(allowed / "portrait.jpg"))
        assert message == "" and line == "Source: `portrait.jpg`"
        assert app.facetwin_server.project.source("a") == allowed.resolve() / "portrait.jpg"
    finally:
        app.facetwin_server.queue.close()


def test_a_shared_page_will_not_discard_the_owners_model(tmp_path):
    from _helpers import tiny_model_dir

    app = ui_app.build_app(tmp_path / "p", shared=True, refresh=5)
    try:
        project = app.facetwin_server.project
        tiny_model_dir(project.model_dir)
        before = sorted(p.name for p in project.model_dir.iterdir())
        start_training = _handler(app, "start_training")
        message = start_training(True)  # as a visitor's API call would, the checkbox being hidden
        assert message == (
            "⚠ cannot start over (discard the model) on a shared server: only the owner can, in a "
            "facetwin ui served to this machine only"
        )
        assert sorted(p.name for p in project.model_dir.iterdir()) == before
        assert app.facetwin_server.queue.snapshot() == []
    finally:
        app.facetwin_server.queue.close()


def test_a_failed_job_is_one_line_in_the_job_table(tmp_path):
    app = ui_app.build_app(tmp_path / "p", refresh=5)
    server = app.facetwin_server
    try:

        def crash(ctx):
            raise RuntimeError("CUDA error: an illegal memory access | was encountered\n" + "detail\n" * 400)

        server.queue.submit("train", "train", crash)
        assert server.queue.wait(10)
        table = ui_app._refresh(server, {}, {"a": ("as extracted", 1), "b": ("as extracted", 1)})["queue"]
        rows = [line for line in table.splitlines() if line.startswith("| 1 ")]
        assert len(rows) == 1 and rows[0].count(" | ") == 3  # the "|" of the message does not split the row
        assert (
            "failed: internal error: RuntimeError: CUDA error: an illegal memory access \\| was encountered …"
            in rows[0]
        )
        assert "detail" not in table and len(rows[0]) < 400
        log = next((server.project.root / "logs").glob("job-1-*.log"))
        assert "detail\n" * 400 in log.read_text() and str(log) in rows[0]  # the whole message, kept
    finally:
        server.queue.close()


def test_a_blocking_shared_launch_needs_its_log_in_given(tmp_path):
    from facetwin.errors import InvalidOptionError

    # The made-up password could never be handed over by a call that does not return.
    with pytest.raises(InvalidOptionError, match=r"auth must be \(user, password\) when serving others"):
        ui_app.launch(tmp_path / "p", host="0.0.0.0", port=_free_port(), block=True)
    assert not (tmp_path / "p").exists()  # refused before anything was made or listened on


def test_buttons_are_greyed_out_when_they_would_do_nothing(tmp_path):
    import threading

    app = ui_app.build_app(tmp_path / "p", refresh=5)
    server = app.facetwin_server
    views = {"a": ("as extracted", 1), "b": ("as extracted", 1)}

    def interactive(out: dict) -> dict:
        return {k: v["interactive"] for k, v in out.items() if isinstance(v, dict) and "interactive" in v}

    gate = threading.Event()
    try:
        idle = ui_app._refresh(server, {}, views)
        assert interactive(idle) == dict.fromkeys(
            ("stop_job", "clear_jobs", "train_save", "train_pause", "train_resume", "train_stop"), False
        )
        assert interactive(ui_app._refresh(server, idle["seen"], views)) == {}  # unchanged: not sent again
        job = server.queue.submit("train", "train", lambda ctx: gate.wait(10))
        while server.queue.get(job.id).state != "running":
            pass
        running = interactive(ui_app._refresh(server, idle["seen"], views))
        assert running == {"stop_job": True, "train_save": True, "train_pause": True, "train_stop": True} | {
            "clear_jobs": False,
            "train_resume": False,
        }
        server.queue.pause(job.id)
        paused = interactive(ui_app._refresh(server, {}, views))
        assert paused["train_resume"] and not paused["train_save"] and not paused["train_pause"]
    finally:
        gate.set()
        server.queue.close()


def test_an_evaluation_shows_its_table_after_a_restart(tmp_path):
    """The evaluation's result is plain data: the job history brings it back with the server."""
    project = tmp_path / "p"
    sheet = project / "outputs" / "evaluation" / "contact_sheet.png"
    app = ui_app.build_app(project, refresh=5)
    server = app.facetwin_server
    result = {"table": "metric  A -> B  B -> A", "report": sheet.with_name("report.json"), "sheet": sheet}
    server.queue.submit("evaluate", "evaluate the model", lambda ctx: result)
    assert server.queue.wait(10)
    server.queue.close()

    again = ui_app.build_app(project, refresh=5).facetwin_server
    try:
        out = ui_app._refresh(again, {}, {"a": ("as extracted", 1), "b": ("as extracted", 1)})
        assert "**done**" in out["eval_status"] and "A -> B" in out["eval_table"] and "report.json" in out["eval_table"]
        assert out["eval_sheet"]["visible"] is False  # no sheet on disk: none shown
    finally:
        again.queue.close()
