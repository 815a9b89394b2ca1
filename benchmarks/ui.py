"""What the web UI costs, measured in one run in Debian's headless Chromium.

    python benchmarks/ui.py [--model-from facetwin-demo/model] [--screenshots docs/images]

Prints: server start; page load (new tab to a usable page); the page timer's server
work per tick (nothing changed / a gallery to list); the one-frame preview on a 720p
frame (server side, and from a settings change to the new picture in the browser);
extraction, training, conversion and evaluation through the page. With --model-from,
training continues that model (e.g. the one `facetwin demo` writes), so the screenshots
show a trained swap; with --screenshots, a JPEG of each view is written there.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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


def _inputs(folder: Path, views: int) -> dict:
    import av
    import cv2
    import matplotlib.cbook
    import skimage.data

    from facetwin.demo import portrait_views
    from facetwin.io.images import read_image

    grace = read_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    a = portrait_views(skimage.data.astronaut(), folder / "a", count=views)
    b = portrait_views(grace, folder / "b", count=views, seed=1)
    clip = folder / "grace_720p.mp4"
    with av.open(str(clip), "w") as out:  # 720p: Grace Hopper's views scaled up, padded to 16:9
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for path in sorted(b.glob("*.png"))[:25]:
            image = read_image(path)
            image = cv2.resize(image, (round(image.shape[1] * 720 / image.shape[0]), 720))
            pad = 1280 - image.shape[1]
            image = cv2.copyMakeBorder(image, 0, 0, pad // 2, pad - pad // 2, cv2.BORDER_CONSTANT, value=(24, 24, 24))
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return {"a": sorted(a.glob("*.png")), "b": sorted(b.glob("*.png")), "clip": clip}


def _wait_text(page, selector: str, *needles: str, timeout: float = 600_000) -> str:
    page.wait_for_function(
        "([sel, needles]) => { const e = document.querySelector(sel);"
        " return e && needles.some(n => e.innerText.includes(n)); }",
        arg=[selector, list(needles)],
        timeout=timeout,
    )
    return page.inner_text(selector)


def _images(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} img", "els => els.map(e => e.src)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-from", type=Path, help="a trained model folder to continue (fast64 from scratch if not)"
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        help="write ui-project.jpg, ui-training.jpg, ui-conversion.jpg, ui-conversion-result.jpg, ui-evaluate.jpg here",
    )
    parser.add_argument("--steps", type=int, default=60, help="training steps run through the page")
    parser.add_argument("--views", type=int, default=16, help="views of each portrait to extract")
    parser.add_argument("--repeat", type=int, default=7, help="repeats of each timed step (medians are printed)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from facetwin.config import ConvertConfig
    from facetwin.conversion import FramePreview
    from facetwin.forensics.provenance import Provenance, write_marked_png
    from facetwin.ui import app as ui_app

    rows: list[tuple[str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="facetwin-ui-bench-"))
    inputs = _inputs(work / "inputs", args.views)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    app = ui_app.launch(work / "project", port=port, block=False, device="cpu")
    rows.append(("server start (build the page, listen)", f"{time.perf_counter() - started:.2f} s"))
    server = app.facetwin_server
    url = f"http://127.0.0.1:{port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1250}, accept_downloads=True)
            loads = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("#extract-a")
                loads.append(time.perf_counter() - t0)
                page.close()
            rows.append(
                (
                    f"page load, new tab to usable page (median of {args.repeat})",
                    f"{statistics.median(loads) * 1000:.0f} ms",
                )
            )

            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#extract-a")
            for person in ("a", "b"):
                page.locator(f"#upload-{person} input[type=file]").set_input_files(inputs[person])
                _wait_text(page, f"#source-{person}", f"({len(inputs[person])} files)")
                # Whose faces: one view of the person as the reference photo.
                page.locator(f"#ref-{person} input[type=file]").set_input_files([inputs[person][0]])
                _wait_text(page, f"#ref-line-{person}", "only those like")
            t0 = time.perf_counter()
            page.click("#extract-a")
            page.click("#extract-b")
            _wait_text(page, "#extract-status-a", "done")
            _wait_text(page, "#extract-status-b", "done")
            rows.append(
                (f"extract {2 * args.views} portrait views through the page", f"{time.perf_counter() - t0:.1f} s")
            )
            page.wait_for_function(f"document.querySelectorAll('#faces-b img').length == {args.views}")
            order = page.locator("#order-b input")
            order.click()
            page.get_by_role("option", name="least sharp first").click()
            time.sleep(2)
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.screenshots / "ui-project.jpg"), full_page=False, quality=82)

            orders = {"a": ("as extracted", 1), "b": ("least sharp first", 1)}
            seen = ui_app._refresh(server, {}, orders)["seen"]
            quiet, listing = [], []
            for _ in range(30):
                t0 = time.perf_counter()
                seen = ui_app._refresh(server, seen, orders)["seen"]
                quiet.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                ui_app._refresh(server, {"force": True}, orders)
                listing.append(time.perf_counter() - t0)
            rows.append(
                (
                    "page timer, server work per tick: nothing changed (median of 30)",
                    f"{statistics.median(quiet) * 1000:.1f} ms",
                )
            )
            rows.append(
                (
                    f"  ... a gallery of {args.views} faces to list and review (median of 30)",
                    f"{statistics.median(listing) * 1000:.0f} ms",
                )
            )

            if args.model_from:
                shutil.copytree(args.model_from, server.project.model_dir)
            page.get_by_role("tab", name="2. Training").click()
            page.get_by_text("Training settings").click()  # collapsed by default
            page.locator("#opt-batch-size input").fill("16")
            from facetwin.models.checkpoint import read_state

            done_before = read_state(server.project.model_dir)["step"] if args.model_from else 0
            for field, value in {
                "steps": str(done_before + args.steps),
                "preview-every": "10",
                "log-every": "2",
                "save-every": "1000",
            }.items():
                page.locator(f"#opt-{field} input, #opt-{field} textarea").first.fill(value)
            t0 = time.perf_counter()
            page.click("#train-start")
            page.get_by_text("Training settings").click()  # folded again: the preview is what to watch
            shot_taken = False
            while True:
                status = page.inner_text("#train-status")
                if not shot_taken and args.screenshots and "ETA" in status and _images(page, "#train-loss"):
                    page.click("#train-save")  # the message under the controls shows in the picture
                    time.sleep(1)
                    page.screenshot(path=str(args.screenshots / "ui-training.jpg"), full_page=False, quality=82)
                    shot_taken = True
                if "done" in status or "failed" in status:
                    break
                time.sleep(0.5)
            rows.append(
                (
                    f"train {args.steps} steps, batch 16, the page open and watched",
                    f"{time.perf_counter() - t0:.1f} s, {server.queue.latest('train').rate:.2f} steps/s",
                )
            )

            # The same again with the tab closed, then from the command line on the same faces.
            target = done_before + 2 * args.steps
            page.get_by_text("Training settings").click()  # unfolded again for the new step limit
            page.locator("#opt-steps textarea, #opt-steps input").first.fill(str(target))
            page.click("#train-start")
            _wait_text(page, "#train-status", "running")
            page.close()
            t0 = time.perf_counter()
            server.queue.wait()
            rows.append(
                (
                    f"train {args.steps} more steps with the tab closed",
                    f"{time.perf_counter() - t0:.1f} s, {server.queue.latest('train').rate:.2f} steps/s",
                )
            )
            cli_model = work / "cli_model"
            shutil.copytree(server.project.model_dir, cli_model)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "facetwin",
                    "-q",
                    "train",
                    str(server.project.faces_dir("a")),
                    str(server.project.faces_dir("b")),
                    "-o",
                    str(cli_model),
                    "--resume",
                    "--steps",
                    str(target + args.steps),
                    "--batch-size",
                    "16",
                    "--preview-every",
                    "10",
                    "--log-every",
                    "2",
                    "--save-every",
                    "1000",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            faces_per_s = float(re.search(r"([\d.]+) faces/s", done.stdout).group(1))
            rows.append(
                (f"train {args.steps} more steps with facetwin train (no server)", f"{faces_per_s / 32:.2f} steps/s")
            )

            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#extract-a")
            page.get_by_role("tab", name="3. Conversion").click()
            page.locator("#convert-upload input[type=file]").set_input_files([inputs["clip"]])
            _wait_text(page, "#convert-preview-info", "frame 0:")
            page.locator("#ref-input input[type=file]").set_input_files([inputs["b"][0]])
            _wait_text(page, "#ref-line-input", "only those like")
            time.sleep(2)  # the preview again, with whose face to swap
            clicks = []
            feather = page.locator("#opt-feather input")
            for i in range(args.repeat):
                old = _images(page, "#convert-compare")[1]
                t0 = time.perf_counter()
                feather.fill(f"{0.04 + 0.01 * i:.2f}")
                feather.press("Enter")
                page.wait_for_function(
                    "([sel, old]) => { const s = [...document.querySelectorAll(sel + ' img')].map(e => e.src);"
                    " return s.length == 2 && s[1] != old; }",
                    arg=["#convert-compare", old],
                )
                clicks.append(time.perf_counter() - t0)
            rows.append(
                (
                    f"preview, a setting changed to the new picture in the browser (720p, median of {args.repeat})",
                    f"{statistics.median(clicks) * 1000:.0f} ms",
                )
            )
            if args.screenshots:
                page.evaluate("window.scrollTo(0, 0)")
                time.sleep(0.5)
                page.screenshot(path=str(args.screenshots / "ui-conversion.jpg"), full_page=False, quality=82)

            preview = FramePreview(inputs["clip"], server.project.model_dir, device="cpu")
            preview.swap(0)
            swaps, writes = [], []
            provenance = Provenance.for_model(server.project.model_dir)
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                shown = preview.swap(0, ConvertConfig(feather=0.05))
                swaps.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                write_marked_png(work / "after.png", shown.after, provenance)
                writes.append(time.perf_counter() - t0)
            rows.append(("  ... of which FramePreview.swap, server side", f"{statistics.median(swaps) * 1000:.0f} ms"))
            rows.append(
                (
                    "  ... of which writing the marked PNG (watermark, C2PA)",
                    f"{statistics.median(writes) * 1000:.0f} ms",
                )
            )

            t0 = time.perf_counter()
            page.click("#convert-run")
            status = _wait_text(page, "#convert-status", "done", "failed")
            _wait_text(page, "#convert-provenance", "SYNTHETIC", "not")
            rows.append(
                (
                    f"convert the 720p clip through the page, verify included ({status.split(' · ')[1]})",
                    f"{time.perf_counter() - t0:.1f} s",
                )
            )
            if args.screenshots:
                page.locator("#convert-provenance").scroll_into_view_if_needed()
                time.sleep(1)
                page.screenshot(path=str(args.screenshots / "ui-conversion-result.jpg"), full_page=False, quality=82)

            page.get_by_role("tab", name="4. Evaluate and verify").click()
            page.locator("#opt-gap-seconds input").fill("0")  # pictures, not a video: no second to leave out
            t0 = time.perf_counter()
            page.click("#eval-run")
            status = _wait_text(page, "#eval-status", "done", "failed")
            rows.append(
                (
                    f"evaluate the model through the page ({status.split(' · ')[-1]})",
                    f"{time.perf_counter() - t0:.1f} s",
                )
            )
            converted = server.queue.latest("convert").result["output"]
            page.locator("#verify-upload input[type=file]").set_input_files([str(converted)])
            _wait_text(page, "#verify-report", "SYNTHETIC", "not", "⚠")
            if args.screenshots:
                time.sleep(1)
                page.screenshot(path=str(args.screenshots / "ui-evaluate.jpg"), full_page=False, quality=82)
            browser.close()
    finally:
        server.queue.close()
        app.close()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
