"""View 3: the input, one frame to tune the mask and colour on, and the whole conversion."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr

from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.errors import FacetwinError, NotReadyError
from facetwin.options import CONVERT_OPTIONS
from facetwin.ui import forms, tasks
from facetwin.ui.views.common import Server, describe_source, job_line, mtime, ref_picker, take_source

__all__ = ["build", "refresh", "frames_of"]

#: Conversion options tuned on one frame (the rest are for the whole video).
_TUNING_GROUPS = ("mask", "blending")


def build(server: Server, where: str) -> dict[str, Any]:
    """The conversion view; returns the components the timer updates, by name."""
    proj = server.project
    tuning_options = [o for o in CONVERT_OPTIONS if o.group in _TUNING_GROUPS]
    # --coverage only matters for models from before face types, which a project never holds.
    video_options = [o for o in CONVERT_OPTIONS if o not in tuning_options and o.field not in ("to", "coverage")]
    # The direction has a radio of its own (friendlier words); its value is --to's.
    to_option = next(o for o in CONVERT_OPTIONS if o.field == "to")
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
            convert_source = gr.Markdown(describe_source(proj.source("input")), elem_id="convert-source")
            convert_message = gr.Markdown("", elem_id="convert-message", elem_classes="ft-message")
            refs_line, refs_events = ref_picker(server, "input", what="swap")
            direction = gr.Radio(
                [("A's face onto the input", "a"), ("B's face onto the input", "b")],
                value="a",
                label="Whose face to put in",
                elem_id="convert-to",
            )
            frame = gr.Slider(0, 1, value=0, step=1, label="frame to tune on", elem_id="convert-frame")
            tuning_form = forms.form(tuning_options, ConvertConfig())
        with gr.Column(scale=2):
            compare = gr.ImageSlider(label="before | after (drag)", type="filepath", elem_id="convert-compare")
            preview_info = gr.Markdown("", elem_id="convert-preview-info")
            with gr.Accordion("Video output settings", open=False):
                video_form = forms.form(video_options, ConvertConfig())
            convert_run = gr.Button("Convert the whole input", variant="primary", elem_id="convert-run")
            convert_status = gr.Markdown("", elem_id="convert-status")
            result_video = gr.Video(label="Result", interactive=False, elem_id="convert-video")
            result_image = gr.Image(
                label="Result", type="filepath", interactive=False, visible=False, elem_id="convert-image"
            )
            result_download = gr.DownloadButton("Download the result", elem_id="convert-download", visible=False)
            provenance = gr.Markdown("", elem_id="convert-provenance")

    def set_input(files, path):
        text, message = take_source(server, "input", files=files, path=path)
        frames = gr.update() if message else gr.update(maximum=frames_of(server), value=0)
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
    for event in refs_events:  # new reference photos change whose faces are swapped
        event.then(tune, tune_inputs, tune_outputs, concurrency_limit=1, concurrency_id="tune")

    def run_conversion(*values):
        try:
            config = forms.config_from_form(ConvertConfig, [to_option, *tuning_options, *video_options], values)
            source = proj.source("input")
            if source is None:
                raise NotReadyError("convert", "upload or choose the video or image to convert first")
            if not proj.has_model():
                raise NotReadyError("convert", "train a model first (view 2)")
            faces = _faces_config(server)
            server.queue.submit(
                "convert",
                f"convert {source.name} to {config.to.upper()}",
                lambda ctx: tasks.convert_task(
                    ctx, proj, source, config, device=server.device, key_dir=server.key_dir, faces=faces
                ),
            )
            return ""
        except FacetwinError as exc:
            return f"⚠ {exc}"

    convert_run.click(run_conversion, [direction, *tuning_form, *video_form], convert_message)
    return {
        "convert_status": convert_status,
        "result_video": result_video,
        "result_image": result_image,
        "result_download": result_download,
        "provenance": provenance,
        "frame": frame,
        "input_refs": refs_line,
    }


def refresh(server: Server, seen: dict, force: bool) -> dict[str, Any]:
    convert_job = server.queue.latest("convert")
    updates: dict[str, Any] = {"convert_status": job_line(convert_job, "")}
    if (
        convert_job is not None
        and convert_job.state == "done"
        and convert_job.result
        and (force or seen.get("convert") != convert_job.id)
    ):
        seen["convert"] = convert_job.id
        result = convert_job.result
        output = Path(result["output"])  # a str once read back from the job history
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


def frames_of(server: Server) -> int:
    from facetwin.io.media import open_media

    source = server.project.source("input")
    if source is None:
        return 1
    try:
        with open_media(source) as media:
            return max(media.frame_count - 1, 1)
    except FacetwinError:
        return 1


def _faces_config(server: Server) -> ExtractConfig:
    """How the input's faces are found: whose, by the reference photos (``--ref-face``)."""
    return ExtractConfig(ref_faces=tuple(str(p) for p in server.project.refs("input")))


def _preview(server: Server, index: int, config: ConvertConfig) -> tuple[str, str, str]:
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
    faces = _faces_config(server)
    # New photos may keep the old ones' names: their times tell them apart.
    key = (
        str(source),
        mtime(proj.model_dir / "weights.safetensors"),
        tuple((ref, mtime(Path(ref))) for ref in faces.ref_faces),
    )
    with server.preview_lock:
        if server.preview_key != key:
            server.preview = FramePreview(source, proj.model_dir, faces=faces, device=server.device)
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
