"""The web UI: three views over one project, in Gradio.

Every button calls the library as the command line does (``facetwin.extraction``,
``facetwin.training.train``, ``facetwin.conversion.convert``, ``facetwin.verify``); the forms
are built from the same option tables as ``--help`` (``facetwin.options``). Long work
goes through one ``JobQueue`` in the server, and a timer on the page reads the queue and
the project's folders, so a page opened later picks up where the work stands.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from tqdm import tqdm

from facetwin._check import check_number, check_range
from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import FacetwinError, InvalidOptionError, NotReadyError, OwnerOnlyError, ServerStartError
from facetwin.options import CONVERT_OPTIONS, EXTRACT_OPTIONS, TRAIN_OPTIONS, Option
from facetwin.ui import forms, tasks
from facetwin.ui.access import allowed_input, generate_credentials, is_loopback, resolve_roots, served_files
from facetwin.ui.jobs import Job, JobQueue
from facetwin.ui.project import Person, Project

__all__ = ["build_app", "launch", "DEFAULT_MAX_UPLOAD"]

log = logging.getLogger(__name__)

#: Uploads larger than this are refused (a path on this machine has no limit).
DEFAULT_MAX_UPLOAD = 2 * 2**30
#: Faces shown per person: the first ones in the chosen order (worst first when sorted).
_GALLERY_FACES = 120
_ORDERS = {"as extracted": None, "least sharp first": "sharpness", "least like the others first": "identity"}
#: Extraction options the UI does not show: reference photos need a file picker of their own.
_HIDDEN_EXTRACT = {"ref_faces", "ref_threshold"}
#: Conversion options tuned on one frame (the rest are for the whole video).
_TUNING_GROUPS = ("mask", "blending")
_CSS = ".ft-message p { color: #b3261e; font-weight: 600; }"


@dataclass
class _Server:
    project: Project
    queue: JobQueue
    device: str
    max_upload: int
    key_dir: Path | None
    roots: tuple[Path, ...] | None = None  # where typed paths may point; None: anywhere
    shared: bool = False  # served to others: the owner's destructive actions are refused
    preview: Any = None  # the FramePreview of (input, model state) in use
    preview_key: tuple | None = None
    preview_lock: threading.Lock = field(default_factory=threading.Lock)


# --- what the page shows ---------------------------------------------------------------


def _progress_line(job: Job) -> str:
    total = f" / {job.total}" if job.total else ""
    rate = f" · {job.rate:.2f} {job.unit}s/s" if job.rate else ""
    eta = f" · ETA {tqdm.format_interval(job.eta)}" if job.eta is not None else ""
    detail = f" · {job.detail}" if job.detail else ""
    return f"{job.done}{total} {job.unit}s{rate}{eta}{detail}"


def _job_line(job: Job | None, idle: str) -> str:
    if job is None:
        return idle
    if job.state == "queued":
        return f"#{job.id} {job.title}: waiting in the queue"
    if job.state in ("running", "paused"):
        return f"#{job.id} {job.title}: **{job.state}** · {_progress_line(job)}"
    if job.state == "failed":
        return f"#{job.id} {job.title}: **failed** · {job.error}"
    took = tqdm.format_interval((job.finished or 0) - (job.started or job.submitted)) if job.started else "-"
    return f"#{job.id} {job.title}: **{job.state}** after {took} · {_progress_line(job)}"


def _queue_table(jobs: list[Job]) -> str:
    if not jobs:
        return "**Jobs** · none yet. Long work runs here one job at a time, and goes on if this tab is closed."
    rows = ["| # | job | state | progress |", "|---|---|---|---|"]
    for job in reversed(jobs[-8:]):
        # One line per job, whatever the error: a "|" would end the cell, a newline the table.
        state = (job.state + (f": {job.error}" if job.error else "")).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {job.id} | {job.title} | {state} | {_progress_line(job) if job.started else ''} |")
    return "**Jobs** (one at a time, newest first)\n\n" + "\n".join(rows)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _describe_source(path: Path | None) -> str:
    if path is None:
        return "No source yet: upload a video or images, or give a path."
    if path.is_dir():
        return f"Source: folder `{path.name}` ({sum(1 for p in path.iterdir() if p.is_file())} files)"
    return f"Source: `{path.name}`"


# --- the app ---------------------------------------------------------------------------


def build_app(
    project: str | Path,
    *,
    queue: JobQueue | None = None,
    device: str = "auto",
    max_upload: int = DEFAULT_MAX_UPLOAD,
    key_dir: str | Path | None = None,
    refresh: float = 1.0,
    roots: tuple[Path, ...] | None = None,
    shared: bool = False,
) -> gr.Blocks:
    """The UI over the project folder ``project`` (created if missing).

    Args:
        queue: the job queue (one is made, with crash logs in the project, if None).
        device: where training and conversion run: "auto", "cpu", "cuda".
        max_upload: the largest upload accepted, in bytes.
        key_dir: the signing key folder for the outputs' C2PA manifests.
        refresh: seconds between the page's reads of the jobs and the project.
        roots: resolved folders typed paths must lie under (``access.allowed_input``);
            None: any path on this machine.
        shared: the page is served to others: *start over* (discarding the model) is
            refused and hidden.
    """
    proj = Project(project)
    server = _Server(
        proj,
        queue or JobQueue(crash_log=proj.root / "logs"),
        device,
        max_upload,
        Path(key_dir) if key_dir is not None else None,
        roots=roots,
        shared=shared,
    )
    where = "on this machine" if roots is None else "under " + " or ".join(f"{r}" for r in roots)
    extract_options = [o for o in EXTRACT_OPTIONS if o.field not in _HIDDEN_EXTRACT]
    tuning_options = [o for o in CONVERT_OPTIONS if o.group in _TUNING_GROUPS]
    # --coverage only matters for models from before face types, which a project never holds.
    video_options = [o for o in CONVERT_OPTIONS if o not in tuning_options and o.field not in ("to", "coverage")]
    # The direction has a radio of its own (friendlier words); its value is --to's.
    to_option = next(o for o in CONVERT_OPTIONS if o.field == "to")

    # Every preview picture is a new file in Gradio's cache: an hour's worth is kept.
    with gr.Blocks(title="facetwin", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(
            f"# facetwin\nProject `{proj.root}` · every image and video facetwin writes is marked "
            "as synthetic (watermark, metadata, C2PA)."
        )
        with gr.Row(equal_height=False):
            queue_md = gr.Markdown(_queue_table([]), elem_id="queue")
            stop_job = gr.Button(
                "Stop the running job", elem_id="stop-job", size="sm", variant="stop", scale=0, min_width=200
            )
        with gr.Tabs(elem_id="views"):
            # --- project ---------------------------------------------------------------
            with gr.Tab("1. Project and faces", id="project", elem_id="tab-project"):
                with gr.Accordion("Extraction settings", open=False):
                    extract_form = forms.form(extract_options, ExtractConfig(), {"identity": True})
                person_ui: dict[str, dict[str, Any]] = {}
                with gr.Row():
                    for person in ("a", "b"):
                        with gr.Column():
                            ui: dict[str, Any] = {}
                            gr.Markdown(f"### Person {person.upper()}")
                            ui["upload"] = gr.File(
                                label="Upload one video, or images",
                                file_count="multiple",
                                type="filepath",
                                height=120,
                                elem_id=f"upload-{person}",
                            )
                            with gr.Row():
                                ui["path"] = gr.Textbox(
                                    label=f"...or a video, image or folder {where}", elem_id=f"path-{person}", scale=4
                                )
                                ui["use_path"] = gr.Button("Use path", elem_id=f"use-path-{person}", scale=1)
                            ui["source"] = gr.Markdown(
                                _describe_source(proj.source(person)), elem_id=f"source-{person}"
                            )
                            ui["message"] = gr.Markdown("", elem_id=f"message-{person}", elem_classes="ft-message")
                            ui["extract"] = gr.Button(
                                f"Extract faces of {person.upper()}", variant="primary", elem_id=f"extract-{person}"
                            )
                            ui["status"] = gr.Markdown("", elem_id=f"extract-status-{person}")
                            ui["order"] = gr.Dropdown(
                                list(_ORDERS), value="as extracted", label="Order", elem_id=f"order-{person}"
                            )
                            ui["gallery"] = gr.Gallery(
                                label=f"Faces of {person.upper()}: click one, then Remove",
                                columns=6,
                                height=280,
                                allow_preview=False,
                                elem_id=f"faces-{person}",
                            )
                            ui["remove"] = gr.Button("Remove the selected face", elem_id=f"remove-{person}", size="sm")
                            ui["crops"] = gr.State([])
                            ui["selected"] = gr.State(None)
                            person_ui[person] = ui

            # --- training --------------------------------------------------------------
            with gr.Tab("2. Training", id="training", elem_id="tab-training"):
                with gr.Row():
                    train_start = gr.Button("Start / continue", variant="primary", elem_id="train-start")
                    train_pause = gr.Button("Pause", elem_id="train-pause")
                    train_resume = gr.Button("Resume", elem_id="train-resume")
                    train_stop = gr.Button("Stop (saves)", variant="stop", elem_id="train-stop")
                    start_over = gr.Checkbox(
                        label="start over (discard the model)",
                        value=False,
                        elem_id="train-start-over",
                        visible=not shared,
                    )
                train_status = gr.Markdown("", elem_id="train-status")
                train_message = gr.Markdown("", elem_id="train-message", elem_classes="ft-message")
                with gr.Row():
                    train_preview = gr.Image(
                        label="Preview: A, A->A, A->B | B, B->B, B->A",
                        type="filepath",
                        interactive=False,
                        elem_id="train-preview",
                    )
                    train_loss = gr.Image(label="Loss", type="filepath", interactive=False, elem_id="train-loss")
                with gr.Accordion("Training settings (as facetwin train --help)", open=True):
                    train_form = forms.form(TRAIN_OPTIONS, TrainConfig())

            # --- conversion ------------------------------------------------------------
            with gr.Tab("3. Conversion", id="conversion", elem_id="tab-conversion"):
                with gr.Row():
                    with gr.Column(scale=1):
                        convert_upload = gr.File(
                            label="Upload the video or image to convert",
                            file_count="multiple",
                            type="filepath",
                            elem_id="convert-upload",
                        )
                        with gr.Row():
                            convert_path = gr.Textbox(label=f"...or a path {where}", elem_id="convert-path", scale=4)
                            convert_use_path = gr.Button("Use path", elem_id="convert-use-path", scale=1)
                        convert_source = gr.Markdown(_describe_source(proj.source("input")), elem_id="convert-source")
                        convert_message = gr.Markdown("", elem_id="convert-message", elem_classes="ft-message")
                        direction = gr.Radio(
                            [("A's face onto the input", "a"), ("B's face onto the input", "b")],
                            value="a",
                            label="direction (--to)",
                            elem_id="convert-to",
                        )
                        frame = gr.Slider(0, 1, value=0, step=1, label="frame to tune on", elem_id="convert-frame")
                        tuning_form = forms.form(tuning_options, ConvertConfig())
                    with gr.Column(scale=2):
                        compare = gr.ImageSlider(
                            label="before | after (drag)", type="filepath", elem_id="convert-compare"
                        )
                        preview_info = gr.Markdown("", elem_id="convert-preview-info")
                        with gr.Accordion("Video output settings", open=False):
                            video_form = forms.form(video_options, ConvertConfig())
                        convert_run = gr.Button("Convert the whole input", variant="primary", elem_id="convert-run")
                        convert_status = gr.Markdown("", elem_id="convert-status")
                        result_video = gr.Video(label="Result", interactive=False, elem_id="convert-video")
                        result_image = gr.Image(
                            label="Result", type="filepath", interactive=False, visible=False, elem_id="convert-image"
                        )
                        result_download = gr.DownloadButton(
                            "Download the result", elem_id="convert-download", visible=False
                        )
                        provenance = gr.Markdown("", elem_id="convert-provenance")

        seen = gr.State({})
        timer = gr.Timer(refresh)

        # --- handlers: project -----------------------------------------------------------
        for person, ui in person_ui.items():
            _wire_person(server, person, ui, extract_options, extract_form)

        # --- handlers: training ----------------------------------------------------------
        def start_training(over: bool, *values):
            try:
                if over and server.shared:  # checked here too: a visitor can call the API without the page
                    raise OwnerOnlyError("start over (discard the model)")
                config = forms.config_from_form(TrainConfig, TRAIN_OPTIONS, values)
                for person in ("a", "b"):
                    if not proj.has_faces(person):
                        raise NotReadyError("train", f"extract the faces of {person.upper()} first (view 1)")
                running = server.queue.latest("train")
                if running is not None and running.active:
                    raise NotReadyError("start training", f"job #{running.id} is already {running.state}")
                if over and proj.model_dir.exists():
                    shutil.rmtree(proj.model_dir)
                resume = proj.has_model()
                server.queue.submit(
                    "train",
                    "continue training" if resume else "train",
                    lambda ctx: tasks.train_task(ctx, proj, config, resume, server.device),
                )
                return ""
            except FacetwinError as exc:
                return f"⚠ {exc}"

        train_start.click(start_training, [start_over, *train_form], train_message)

        def control(action: str):
            job = server.queue.latest("train")
            if job is None or not job.active:
                return "No training is running."
            done = {"pause": server.queue.pause, "resume": server.queue.resume, "stop": server.queue.stop}[action](
                job.id
            )
            return "" if done else f"Training is {job.state}: cannot {action} it."

        train_pause.click(lambda: control("pause"), None, train_message)
        train_resume.click(lambda: control("resume"), None, train_message)
        train_stop.click(lambda: control("stop"), None, train_message)

        def stop_running():
            job = next((j for j in server.queue.snapshot() if j.state in ("running", "paused")), None)
            if job is not None:
                server.queue.stop(job.id)

        stop_job.click(stop_running, None, None)

        # --- handlers: conversion --------------------------------------------------------
        def set_input(files, path):
            text, message = _take_source(server, "input", files=files, path=path)
            frames = gr.update() if message else gr.update(maximum=_frames_of(server), value=0)
            return text, message, frames, None  # the upload box is a drop zone: emptied

        def tune(index: float, *values):
            try:
                config = forms.config_from_form(ConvertConfig, [to_option, *tuning_options], values)
                before, after, text = _preview(server, int(index or 0), config)
                return (before, after), text, ""
            except FacetwinError as exc:
                return gr.update(), "", f"⚠ {exc}"

        tune_inputs = [frame, direction, *tuning_form]
        tune_outputs = [compare, preview_info, convert_message]
        for component in tune_inputs:
            component.change(
                tune, tune_inputs, tune_outputs, trigger_mode="always_last", concurrency_limit=1, concurrency_id="tune"
            )
        convert_upload.upload(
            lambda files: set_input(files, None),
            convert_upload,
            [convert_source, convert_message, frame, convert_upload],
        )
        convert_use_path.click(
            lambda path: set_input(None, path)[:3], convert_path, [convert_source, convert_message, frame]
        )
        # A new source (its line changes) is previewed; a refused one leaves line and message be.
        convert_source.change(tune, tune_inputs, tune_outputs, concurrency_limit=1, concurrency_id="tune")

        def run_conversion(*values):
            try:
                config = forms.config_from_form(ConvertConfig, [to_option, *tuning_options, *video_options], values)
                source = proj.source("input")
                if source is None:
                    raise NotReadyError("convert", "upload or choose the video or image to convert first")
                if not proj.has_model():
                    raise NotReadyError("convert", "train a model first (view 2)")
                server.queue.submit(
                    "convert",
                    f"convert {source.name} to {config.to.upper()}",
                    lambda ctx: tasks.convert_task(
                        ctx, proj, source, config, device=server.device, key_dir=server.key_dir
                    ),
                )
                return ""
            except FacetwinError as exc:
                return f"⚠ {exc}"

        convert_run.click(run_conversion, [direction, *tuning_form, *video_form], convert_message)

        # --- the page's view of jobs and folders ------------------------------------------
        shown = {
            "queue": queue_md,
            "train_status": train_status,
            "train_preview": train_preview,
            "train_loss": train_loss,
            "convert_status": convert_status,
            "result_video": result_video,
            "result_image": result_image,
            "result_download": result_download,
            "provenance": provenance,
            **{
                f"{p}_{part}": ui[part]
                for p, ui in person_ui.items()
                for part in ("status", "gallery", "crops", "source")
            },
            "seen": seen,
        }
        outputs = [shown[name] for name in _SHOWN]

        def by_component(updates: dict[str, Any]) -> dict:
            return {shown[name]: value for name, value in updates.items()}

        def refresh_page(seen: dict, order_a: str, order_b: str):
            return by_component(_refresh(server, dict(seen), {"a": order_a, "b": order_b}))

        page_inputs = [seen, person_ui["a"]["order"], person_ui["b"]["order"]]
        timer.tick(refresh_page, page_inputs, outputs, show_progress="hidden")
        app.load(refresh_page, page_inputs, outputs, show_progress="hidden")
        app.load(lambda: gr.update(maximum=_frames_of(server)), None, frame, show_progress="hidden")
        for person, ui in person_ui.items():
            ui["order"].change(
                lambda s, oa, ob: by_component(_refresh(server, {**s, "force": True}, {"a": oa, "b": ob})),
                page_inputs,
                outputs,
                show_progress="hidden",
            )
    app.facetwin_server = server  # for tests and embedding
    return app


def _take_source(server: _Server, who: Person, *, files: list | None = None, path: str | None = None) -> tuple:
    """Make uploaded ``files`` (or ``path`` on this machine) the source of ``who``.

    Returns the page's source line (no change when refused) and the message (empty when
    taken). An upload event without files (the box was cleared) changes nothing.
    """
    if files is not None and not files:
        return gr.update(), ""
    if not files and not (path or "").strip():
        return gr.update(), "⚠ type the path of a video, an image or a folder first"
    try:
        if files:
            source = server.project.add_upload(who, files, max_bytes=server.max_upload)
        else:
            source = server.project.set_source(who, allowed_input(path.strip(), server.roots))
    except FacetwinError as exc:
        return gr.update(), f"⚠ {exc}"
    return _describe_source(source), ""


def _wire_person(server: _Server, person: Person, ui: dict, extract_options: list[Option], extract_form: list) -> None:
    proj = server.project

    def uploaded(files):
        # The upload box is emptied either way: it is a drop zone, the source is shown below it.
        return (*_take_source(server, person, files=files), None)

    def use_path(path: str):
        return _take_source(server, person, path=path)

    def extract_faces(*values):
        try:
            config = forms.config_from_form(ExtractConfig, extract_options, values)
            source = proj.source(person)
            if source is None:
                raise NotReadyError("extract", f"give person {person.upper()} a source first: upload a video or images")
            server.queue.submit(
                f"extract-{person}",
                f"extract faces of {person.upper()}",
                lambda ctx: tasks.extract_task(ctx, source, proj.faces_dir(person), config),
            )
            return ""
        except FacetwinError as exc:
            return f"⚠ {exc}"

    def select(crops: list[str], evt: gr.SelectData):
        return crops[evt.index] if 0 <= evt.index < len(crops) else None

    def remove(selected: str | None):
        from facetwin.extraction import remove_faces

        if not selected:
            return "⚠ click a face in the gallery first, then Remove", None
        try:
            remove_faces(proj.faces_dir(person), [selected])
        except FacetwinError as exc:
            return f"⚠ {exc}", None
        # alignments.json changed: the next refresh shows the gallery without the face
        return f"Removed {selected}.", None

    ui["upload"].upload(uploaded, ui["upload"], [ui["source"], ui["message"], ui["upload"]])
    ui["use_path"].click(use_path, ui["path"], [ui["source"], ui["message"]])
    ui["extract"].click(extract_faces, extract_form, ui["message"])
    ui["gallery"].select(select, ui["crops"], ui["selected"])
    ui["remove"].click(remove, ui["selected"], [ui["message"], ui["selected"]])


# --- the single-frame preview --------------------------------------------------------------


def _frames_of(server: _Server) -> int:
    from facetwin.io.media import open_media

    source = server.project.source("input")
    if source is None:
        return 1
    try:
        with open_media(source) as media:
            return max(media.frame_count - 1, 1)
    except FacetwinError:
        return 1


def _preview(server: _Server, index: int, config: ConvertConfig) -> tuple[str, str, str]:
    from facetwin.conversion import FramePreview
    from facetwin.forensics.provenance import Provenance, write_marked_png
    from facetwin.io.atomic import atomic_write_bytes
    from facetwin.io.images import encode_png

    proj = server.project
    source = proj.source("input")
    if source is None:
        raise NotReadyError("convert", "upload or choose the video or image to convert first")
    if not proj.has_model():
        raise NotReadyError("preview", "train a model first (view 2)")
    key = (str(source), _mtime(proj.model_dir / "weights.safetensors"))
    with server.preview_lock:
        if server.preview_key != key:
            server.preview = FramePreview(source, proj.model_dir, device=server.device)
            server.preview_key = key
        started = time.perf_counter()
        shown = server.preview.swap(min(index, server.preview.frame_count - 1), config)
        seconds = time.perf_counter() - started
    before = proj.previews_dir / f"frame_{shown.index:06d}.png"
    if not before.exists():
        atomic_write_bytes(before, encode_png(shown.before))  # the input's own frame: not synthetic
    after = proj.previews_dir / "after.png"
    write_marked_png(after, shown.after, Provenance.for_model(proj.model_dir, key_dir=server.key_dir))
    faces = f"{shown.faces} face{'s' if shown.faces != 1 else ''}" if shown.faces else "no face found in this frame"
    return str(before), str(after), f"frame {shown.index}: {faces} · {seconds * 1000:.0f} ms"


# --- refresh -------------------------------------------------------------------------------


def _refresh(server: _Server, seen: dict, orders: dict[str, str]) -> dict[str, Any]:
    """What the timer updates, by name (``_SHOWN``); a component whose source did not
    change is left out. ``seen`` records what the page shows, and comes back as "seen"."""
    force = seen.pop("force", False)
    updates: dict[str, Any] = {"queue": _queue_table(server.queue.snapshot())}
    updates.update(_training_view(server, seen, force))
    updates.update(_conversion_view(server, seen, force))
    # The sources change only with project.json (another tab may have set them).
    sources_stamp = _mtime(server.project.root / "project.json")
    new_sources = force or seen.get("sources", -1) != sources_stamp
    seen["sources"] = sources_stamp
    for person in ("a", "b"):
        updates.update(_person_view(server, person, orders[person], seen, force, new_sources))
    updates["seen"] = seen
    return updates


#: Every name ``_refresh`` may update: the job table, then each view's components.
_SHOWN = (
    "queue",
    "train_status",
    "train_preview",
    "train_loss",
    "convert_status",
    "result_video",
    "result_image",
    "result_download",
    "provenance",
    *(f"{p}_{part}" for p in "ab" for part in ("status", "gallery", "crops", "source")),
    "seen",
)


def _training_view(server: _Server, seen: dict, force: bool) -> dict[str, Any]:
    proj = server.project
    train_job = server.queue.latest("train")
    status = _job_line(train_job, "")
    if train_job is None or not train_job.active:
        if proj.has_model():
            from facetwin.models.checkpoint import read_state

            try:
                step = read_state(proj.model_dir).get("step")
                status = (status + "\n\n" if status else "") + f"The model has trained {step} steps; "
                status += "Start / continue trains it further."
            except FacetwinError as exc:
                status = f"⚠ {exc}"
        elif not status:
            status = "No model yet: extract both people's faces, then Start."
    updates: dict[str, Any] = {"train_status": status}
    for key, name in (("train_preview", "preview.png"), ("train_loss", "loss.png")):
        path = proj.model_dir / name
        stamp = _mtime(path)
        if stamp is not None and (force or seen.get(name) != stamp):
            seen[name] = stamp
            updates[key] = str(path)
    return updates


def _conversion_view(server: _Server, seen: dict, force: bool) -> dict[str, Any]:
    convert_job = server.queue.latest("convert")
    updates: dict[str, Any] = {"convert_status": _job_line(convert_job, "")}
    if convert_job is not None and convert_job.state == "done" and (force or seen.get("convert") != convert_job.id):
        seen["convert"] = convert_job.id
        result = convert_job.result
        output = result["output"]
        # A video plays in the page, an image shows; an image folder is only downloaded (a zip).
        video = str(output) if output.suffix == ".mp4" else None
        image = str(output) if output.suffix == ".png" else None
        updates.update(
            result_video=gr.update(value=video, visible=image is None),
            result_image=gr.update(value=image, visible=image is not None),
            result_download=gr.update(value=str(result["download"]), visible=True),
            provenance=f"**Provenance** (facetwin verify):\n```\n{result['report']}\n```",
        )
    return updates


def _person_view(server: _Server, person: str, order: str, seen: dict, force: bool, new_sources: bool) -> dict:
    proj = server.project
    job = server.queue.latest(f"extract-{person}")
    line = _job_line(job, "")
    folder = proj.faces_dir(person)
    stamp = _mtime(folder / "alignments.json")
    if not line and stamp is not None:
        line = "Faces extracted earlier (Extract again to redo them)."
    updates: dict[str, Any] = {f"{person}_status": line}
    key = f"faces-{person}"
    view = (stamp, order)
    if stamp is not None and (force or seen.get(key) != list(view)):
        seen[key] = list(view)
        crops, paths, total = _faces_in_order(folder, order)
        shown = f"{total} faces" + (f", the first {len(crops)} in this order" if total > len(crops) else "")
        label = f"Faces of {person.upper()} ({shown}): click one, then Remove"
        updates[f"{person}_gallery"] = gr.update(value=[(p, c) for p, c in zip(paths, crops)], label=label)
        updates[f"{person}_crops"] = crops
    if new_sources:
        updates[f"{person}_source"] = _describe_source(proj.source(person))
    return updates


def _faces_in_order(folder: Path, order: str) -> tuple[list[str], list[str], int]:
    """The crops to show (names, paths) in the chosen order, and how many there are."""
    from facetwin.faces.review import order_for_review, review_faces

    try:
        reviews = review_faces(folder)
    except FacetwinError:
        return [], [], 0
    by = _ORDERS.get(order)
    if by is not None:
        reviews = order_for_review(reviews, by=by)
    shown = reviews[:_GALLERY_FACES]
    return [r.crop for r in shown], [str(folder / r.crop) for r in shown], len(reviews)


def launch(
    project: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    max_upload: int = DEFAULT_MAX_UPLOAD,
    key_dir: str | Path | None = None,
    allow: Sequence[str | Path] | None = None,
    auth: tuple[str, str] | None = None,
    shared: bool | None = None,
    block: bool = True,
):
    """Serve the UI for ``project`` on http://HOST:PORT (loopback only by default).

    On a loopback host the page is its owner's, as the command line is: no log-in, any
    path. Served to others (any other host, or ``shared=True``: a loopback port behind a
    proxy or tunnel) it asks for a log-in, reads typed paths only under ``allow`` (the
    project folder if not given) and refuses *start over*. Either way Gradio serves from
    the project only what the page shows (``access.served_files``): never the weights,
    uploads, ``project.json`` or logs.

    Args:
        allow: folders whose videos and images may be given by path. Default: any path on
            a loopback host, the project folder only when shared.
        auth: (user, password) to log in with; made up when shared and not given
            (``app.facetwin_auth`` holds it, for the caller to pass on; with
            ``block=False`` only, as a blocking call could not hand it over).
        shared: served to others; None: whenever ``host`` is not a loopback address.

    Returns the Gradio app (with ``block=False``; call ``.close()`` to stop it).

    Raises:
        InputNotFoundError: an ``allow`` folder does not exist.
        InvalidOptionError: shared, ``block=True`` and no ``auth``.
        ProjectFolderError: ``project`` is a file or cannot be created.
        ServerStartError: the port cannot be listened on.
    """
    from facetwin.device import pick_device

    # Settings are checked before the project folder is made or opened: a server that
    # cannot start leaves nothing behind.
    port = int(check_number(port, "port", integral=True))
    check_range(port, "port", low=0, high=65535)  # 0: any free port
    pick_device(device)
    shared = not is_loopback(host) if shared is None else shared
    if allow:
        roots: tuple[Path, ...] | None = resolve_roots(allow)
    else:
        roots = (Path(project).resolve(),) if shared else None
    if shared and auth is None:
        if block:  # launch would not return, so a made-up password could never be shown
            raise InvalidOptionError("auth", None, "(user, password) when serving others with block=True")
        auth = generate_credentials()
    app = build_app(project, device=device, max_upload=max_upload, key_dir=key_dir, roots=roots, shared=shared)
    proj = app.facetwin_server.project
    allowed_paths, blocked_paths = served_files(proj)
    if shared:
        log.warning(
            "serving %s to others on %s:%d: visitors log in as %r, run jobs, see the project's faces, "
            "previews and outputs, and give paths under %s only",
            proj.root,
            host,
            port,
            auth[0],
            ", ".join(str(r) for r in roots or ()),
        )
    app.facetwin_auth = auth  # for the caller to show (a made-up password is new at each start)
    app.queue(default_concurrency_limit=4)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            max_file_size=max_upload,
            allowed_paths=allowed_paths,
            blocked_paths=blocked_paths,
            auth=auth,
            auth_message="facetwin: log in with the user name and password the server's owner gave you.",
            prevent_thread_lock=not block,
            ssr_mode=False,
            quiet=True,
            show_error=False,
            css=_CSS,
            footer_links=[],
        )
    except OSError as exc:
        app.facetwin_server.queue.close()
        raise ServerStartError(host, port, str(exc).split(". ")[0]) from None
    return app
