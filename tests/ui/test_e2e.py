"""The web UI end to end, in Debian's headless Chromium driven by Playwright.

Extraction, training, conversion and evaluation run for real (a tiny model, package
portraits); the test sees what a user sees: messages, galleries, reference faces that
decide whose faces are used, the preview and loss plot changing, a model saved while it
trains, the result downloaded and verified, and the page reattaching to a job after its
tab closed.
Set FACETWIN_UI_SCREENSHOTS=DIR to keep a screenshot of each view.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from _helpers import write_video

gradio = pytest.importorskip("gradio", reason="the web UI needs facetwin[ui] (pip install 'facetwin[ui]')")
playwright = pytest.importorskip("playwright.sync_api", reason="the UI test needs playwright (facetwin[test])")

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package (.ci/run does)", allow_module_level=True)

# The machine's network is closed: no component updates, sync or other background
# requests, and a profile of its own so nothing is shared with another run.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MAX_UPLOAD = 1 << 20
TIMEOUT_MS = 120_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import cv2
    import matplotlib.cbook
    import skimage.data

    from facetwin.demo import portrait_views
    from facetwin.io.images import read_image, write_png

    folder = tmp_path_factory.mktemp("inputs")
    grace = read_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    a = portrait_views(skimage.data.astronaut(), folder / "a", count=10)
    b = portrait_views(grace, folder / "b", count=10, seed=1)
    frames = [read_image(p)[:510, :510] for p in sorted(b.glob("*.png"))[:6]]
    clip = write_video(folder / "clip.mp4", [np.ascontiguousarray(f) for f in frames], fps=5)
    (folder / "notes.mp4").write_text("these are notes, not a video\n")
    (folder / "huge.mp4").write_bytes(os.urandom(MAX_UPLOAD + 4096))
    coffee = folder / "coffee.png"  # a photo without a face
    write_png(coffee, np.ascontiguousarray(skimage.data.coffee()))
    assert cv2 is not None
    return {
        "a": sorted(a.glob("*.png")),
        "b": sorted(b.glob("*.png")),
        "clip": clip,
        "notes": folder / "notes.mp4",
        "huge": folder / "huge.mp4",
        "coffee": coffee,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from facetwin.ui.app import launch

    port = _free_port()
    app = launch(tmp_path_factory.mktemp("project") / "p", port=port, max_upload=MAX_UPLOAD, device="cpu", block=False)
    yield f"http://127.0.0.1:{port}/", app
    app.facetwin_server.queue.close()
    app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


def _text(page, selector: str) -> str:
    return page.inner_text(selector)


def _wait_text(page, selector: str, *needles: str, timeout: int = TIMEOUT_MS) -> str:
    """Wait until the element's text holds one of ``needles``; return the text."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(
            "([sel, needles]) => { const e = document.querySelector(sel);"
            " return e && needles.some(n => e.innerText.includes(n)); }",
            arg=[selector, list(needles)],
            timeout=timeout,
        )
    except TimeoutError:
        pytest.fail(f"{selector} never showed {needles}; the page said:\n{page.inner_text('body')[:3000]}")
    return _text(page, selector)


def _images(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} img", "els => els.map(e => e.src)")


def _shot(page, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"ui-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("FACETWIN_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(keep) / path.name)
    return path


def _open(browser, url: str):
    page = browser.new_page()
    page.goto(url)
    page.wait_for_selector("#extract-a", timeout=TIMEOUT_MS)
    return page


def test_extract_train_convert_download(server, browser, inputs, tmp_path):
    from facetwin import verify
    from facetwin.alignments import load_alignments
    from facetwin.models.checkpoint import read_state

    url, app = server
    project = app.facetwin_server.project
    page = _open(browser, url)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    for view in ("1. Project and faces", "2. Training", "3. Conversion", "4. Evaluate and verify"):
        assert page.get_by_role("tab", name=view).count() == 1
    # Nothing runs: the job controls are greyed out.
    assert page.locator("#stop-job").is_disabled() and page.locator("#clear-jobs").is_disabled()

    # --- bad uploads: a message in the page, and the server goes on -------------------
    page.locator("#upload-a input[type=file]").set_input_files([inputs["notes"]])
    message = _wait_text(page, "#message-a", "cannot read")
    assert message.startswith("⚠ cannot read notes.mp4 as an image or video") and "Traceback" not in message
    page.locator("#upload-a input[type=file]").set_input_files([inputs["huge"]])
    page.wait_for_function("document.body.innerText.includes('exceed the maximum allowed size')", timeout=TIMEOUT_MS)
    page.locator("#upload-b input[type=file]").set_input_files([inputs["coffee"]])
    _wait_text(page, "#source-b", "folder")
    page.click("#extract-b")
    status = _wait_text(page, "#extract-status-b", "failed")
    assert "no face found" in status

    # --- the two people: upload, extract, browse, remove one face ---------------------
    page.locator("#upload-a input[type=file]").set_input_files(inputs["a"])
    _wait_text(page, "#source-a", "(10 files)")
    # Whose faces: A's reference photo (--ref-face), kept in the project for the extraction.
    page.locator("#ref-a input[type=file]").set_input_files([inputs["a"][0]])
    assert "only those like" in _wait_text(page, "#ref-line-a", inputs["a"][0].name)
    page.locator("#path-b textarea, #path-b input").first.fill(str(inputs["b"][0].parent / "missing"))
    page.click("#use-path-b")
    assert "input not found" in _wait_text(page, "#message-b", "not found")
    page.locator("#path-b textarea, #path-b input").first.fill(str(inputs["b"][0].parent))  # used in place
    page.click("#use-path-b")
    _wait_text(page, "#source-b", "(10 files)")
    assert app.facetwin_server.project.source("b") == inputs["b"][0].parent
    page.click("#extract-a")
    page.click("#extract-b")
    _wait_text(page, "#extract-status-a", "done")
    assert "10 faces" in _wait_text(page, "#extract-status-b", "done")
    (ref,) = project.refs("a")
    assert load_alignments(project.faces_dir("a") / "alignments.json").settings["ref_faces"] == [
        str(ref)
    ]  # the job used it
    assert load_alignments(project.faces_dir("b") / "alignments.json").settings["ref_faces"] == []  # B: everyone's
    page.wait_for_function("document.querySelectorAll('#faces-a img').length == 10", timeout=TIMEOUT_MS)
    # Two faces selected by clicking, one Remove; then every face under a sharpness nobody reaches.
    page.locator("#faces-a img").nth(0).click()
    # The page sends the selection it holds with each click: wait for the first to come back.
    _wait_text(page, "#selection-a", "Selected 1")
    page.locator("#faces-a img").nth(1).click()
    assert "Selected 2" in _wait_text(page, "#selection-a", "Selected 2")
    page.click("#remove-a")
    assert _wait_text(page, "#message-a", "Removed").startswith("Removed 000000_0.png, 000001_0.png")
    page.wait_for_function("document.querySelectorAll('#faces-a img').length == 8", timeout=TIMEOUT_MS)
    assert len(list(project.faces_dir("a").glob("*.png"))) == 8
    page.locator("#below-b input").fill("0")
    page.click("#remove-below-b")
    assert "No face is under sharpness 0" in _wait_text(page, "#message-b", "No face")
    assert len(list(project.faces_dir("b").glob("*.png"))) == 10
    _shot(page, "project", tmp_path)

    # --- training: start, close the tab, reattach from a new page ---------------------
    page.get_by_role("tab", name="2. Training").click()
    assert page.locator("#train-save").is_disabled() and page.locator("#train-pause").is_disabled()
    page.get_by_text("Training settings").click()  # collapsed until asked for
    model = page.locator("#opt-model input")
    model.click()
    model.fill("tiny64")
    page.keyboard.press("Enter")
    for field, value in {
        "batch-size": "4",
        "steps": "120",
        "preview-every": "6",
        "log-every": "2",
        "save-every": "1000",  # the checkpoints in between come from Save now
    }.items():
        page.locator(f"#opt-{field} input, #opt-{field} textarea").first.fill(value)
    page.click("#train-start")
    _wait_text(page, "#train-status", "running")
    page.click("#train-start")  # one training at a time
    assert "cannot start training yet: job #" in _wait_text(page, "#train-message", "already")
    page.close()  # the job belongs to the server, not to the tab

    page = _open(browser, url)
    page.get_by_role("tab", name="2. Training").click()
    # Save now: a checkpoint mid-run (none is due before step 1000), and training goes on.
    _wait_text(page, "#train-status", "faces/s")  # stepping: the model is loaded and saved once
    page.wait_for_function("!document.querySelector('#train-save').disabled", timeout=TIMEOUT_MS)
    assert read_state(project.model_dir)["step"] == 0  # the new model's first checkpoint only
    page.click("#train-save")
    # The confirmation is a passing notice (gr.Info), not the red message line.
    assert "training goes on" in _wait_text(page, "body", "Saving at the next step")
    assert _text(page, "#train-message").strip() == ""
    deadline = time.monotonic() + 120
    while read_state(project.model_dir)["step"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    saved_step = read_state(project.model_dir)["step"]
    assert 0 < saved_step < 120 and app.facetwin_server.queue.latest("train").state == "running"
    assert (project.model_dir / "previews" / f"step_{saved_step:07d}.png").exists()
    previews, plots, statuses = set(), set(), []
    deadline = time.monotonic() + 300  # generous: CI machines are shared and slow
    while time.monotonic() < deadline:
        previews.update(_images(page, "#train-preview"))
        plots.update(_images(page, "#train-loss"))
        statuses.append(_text(page, "#train-status"))
        if "done" in statuses[-1] or "failed" in statuses[-1]:
            break
        time.sleep(0.25)
    assert "done" in statuses[-1] and "120 / 120 steps" in statuses[-1], statuses[-1]
    assert any("running" in s and "steps/s" in s and "faces/s" in s for s in statuses)
    assert any("ETA" in s for s in statuses)
    assert len(previews) >= 2, "the preview grid never changed while training"
    assert len(plots) >= 2, "the loss plot never changed while training"
    assert read_state(project.model_dir)["step"] == 120
    page.wait_for_function("document.querySelector('#train-save').disabled", timeout=TIMEOUT_MS)  # over
    _shot(page, "training", tmp_path)

    # --- conversion: tune on one frame, convert, download -----------------------------
    page.get_by_role("tab", name="3. Conversion").click()
    page.locator("#convert-upload input[type=file]").set_input_files([inputs["clip"]])
    assert "1 face" in _wait_text(page, "#convert-preview-info", "frame 0:")
    first = _images(page, "#convert-compare")
    assert len(first) == 2
    page.locator("#convert-upload input[type=file]").set_input_files([inputs["notes"]])
    assert "cannot read notes.mp4" in _wait_text(page, "#convert-message", "cannot read")
    time.sleep(2)  # the refused file neither replaces the clip nor has its message cleared
    assert "cannot read notes.mp4" in _text(page, "#convert-message")
    assert "clip.mp4" in _text(page, "#convert-source")
    # Whose face is swapped: with A's photo as the reference, Grace Hopper's face is left be;
    # with one of hers, it is swapped again.
    page.locator("#ref-input input[type=file]").set_input_files([inputs["a"][0]])
    assert "no face found" in _wait_text(page, "#convert-preview-info", "no face found")
    page.locator("#ref-input input[type=file]").set_input_files([inputs["b"][0]])
    assert "1 face" in _wait_text(page, "#convert-preview-info", "1 face")
    feather = page.locator("#opt-feather input")
    feather.fill("0.15")
    feather.press("Enter")
    page.wait_for_function(
        "([sel, old]) => { const s = [...document.querySelectorAll(sel + ' img')].map(e => e.src);"
        " return s.length == 2 && s[1] != old; }",
        arg=["#convert-compare", first[1]],
        timeout=TIMEOUT_MS,
    )
    page.click("#convert-run")
    assert "6 / 6 frames" in _wait_text(page, "#convert-status", "done", "failed")
    provenance = _wait_text(page, "#convert-provenance", "SYNTHETIC")
    assert "watermark: found" in provenance and "C2PA:      valid" in provenance
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.click("#convert-download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "clip_to_a.mp4"
    report = verify(saved)
    assert report.synthetic and report.watermark.found and report.claim is not None
    _shot(page, "conversion", tmp_path)

    # --- evaluate the model, verify files: view 4 --------------------------------------
    page.get_by_role("tab", name="4. Evaluate and verify").click()
    page.locator("#opt-gap-seconds input").fill("0")  # 10 pictures: no second to spare before the test part
    page.click("#eval-run")
    assert "done" in _wait_text(page, "#eval-status", "done", "failed")
    table = _wait_text(page, "#eval-table", "A -> B")
    assert "B -> A" in table and "reconstruction A->A" in table
    assert (project.evaluation_dir / "report.json").exists()
    page.locator("#verify-upload input[type=file]").set_input_files([saved])
    verified = _wait_text(page, "#verify-report", "SYNTHETIC", "not", "⚠")
    assert "clip_to_a.mp4" in verified and "watermark: found" in verified, verified
    page.locator("#verify-upload input[type=file]").set_input_files([inputs["coffee"]])
    plain = _wait_text(page, "#verify-report", "coffee.png")
    assert "SYNTHETIC" not in plain and "watermark: found" not in plain, plain
    _shot(page, "evaluate", tmp_path)

    # --- the job table: finished jobs cleared, kept on disk for the next server --------
    assert '"evaluate"' in (project.root / "jobs.json").read_text()
    page.wait_for_function("!document.querySelector('#clear-jobs').disabled", timeout=TIMEOUT_MS)
    page.click("#clear-jobs")
    _wait_text(page, "#queue", "none yet")
    assert app.facetwin_server.queue.snapshot() == []
    assert not errors, errors
