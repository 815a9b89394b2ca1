"""View 4: ``facetwin evaluate`` on the project's model, and ``facetwin verify`` of any file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from facetwin.config import EvaluateConfig
from facetwin.errors import FacetwinError, NotReadyError, UploadTooLargeError
from facetwin.options import EVALUATE_OPTIONS
from facetwin.ui import forms, tasks
from facetwin.ui.views.common import Server, job_line

__all__ = ["build", "refresh"]


def build(server: Server) -> dict[str, Any]:
    """The evaluation view; returns the components the timer updates, by name."""
    proj = server.project
    gr.Markdown(
        "#### Evaluate the model\n"
        "Measures the project's model as `facetwin evaluate` does, on A's and B's sources: the end of each "
        "(the *test part*) is swapped both ways and each swapped face is compared with both people "
        "(identity, pose, expression, seams, flicker). Faces trained on are not a fair test: extract with "
        "*Held-out end of the video* set, or give clips the model has not seen."
    )
    eval_form = forms.form(EVALUATE_OPTIONS, EvaluateConfig())
    with gr.Row():
        eval_run = gr.Button("Evaluate the model", variant="primary", elem_id="eval-run", scale=0, min_width=220)
    eval_message = gr.Markdown("", elem_id="eval-message", elem_classes="ft-message")
    eval_status = gr.Markdown("", elem_id="eval-status")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            eval_table = gr.Markdown("", elem_id="eval-table")
        with gr.Column(scale=2):
            eval_sheet = gr.Image(
                label="Contact sheet: input | swapped, most and least like the target",
                type="filepath",
                interactive=False,
                visible=False,
                elem_id="eval-sheet",
            )

    gr.Markdown(
        "#### Verify any file\n"
        "What `facetwin verify` finds in an image or video: facetwin's watermark, its metadata and a C2PA "
        "manifest (who signed it). Quick: a video is sampled, not decoded whole."
    )
    with gr.Row(equal_height=False):
        verify_upload = gr.File(
            label="Image or video to verify", type="filepath", height=120, elem_id="verify-upload", scale=1
        )
        verify_report = gr.Markdown("", elem_id="verify-report")

    def run_evaluation(*values):
        try:
            config = forms.config_from_form(EvaluateConfig, EVALUATE_OPTIONS, values)
            for person in ("a", "b"):
                if proj.source(person) is None:
                    raise NotReadyError("evaluate", f"give person {person.upper()} a source first (view 1)")
            if not proj.has_model():
                raise NotReadyError("evaluate", "train a model first (view 2)")
            running = server.queue.latest("evaluate")
            if running is not None and running.active:
                raise NotReadyError("evaluate", f"job #{running.id} is already {running.state}")
            server.queue.submit(
                "evaluate",
                "evaluate the model",
                lambda ctx: tasks.evaluate_task(ctx, proj, config, device=server.device),
            )
            return ""
        except FacetwinError as exc:
            return f"⚠ {exc}"

    def verify_upload_(file: str | None):
        # The upload box is emptied either way: a drop zone for the next file, the report below.
        if not file:
            return gr.update(), None
        path = Path(file)
        try:
            if path.stat().st_size > server.max_upload:  # Gradio refuses it first; an API call might not
                raise UploadTooLargeError(path.name, path.stat().st_size, server.max_upload)
            text = tasks.verify_file(path, name=path.name, key_dir=server.key_dir)
        except FacetwinError as exc:
            return f"⚠ {exc}", None
        return f"**{path.name}** (facetwin verify):\n```\n{text}\n```", None

    eval_run.click(run_evaluation, eval_form, eval_message)
    verify_upload.upload(verify_upload_, verify_upload, [verify_report, verify_upload])
    return {"eval_status": eval_status, "eval_table": eval_table, "eval_sheet": eval_sheet}


def refresh(server: Server, seen: dict, force: bool) -> dict[str, Any]:
    job = server.queue.latest("evaluate")
    updates: dict[str, Any] = {"eval_status": job_line(job, "")}
    if job is not None and job.state == "done" and job.result and (force or seen.get("evaluate") != job.id):
        seen["evaluate"] = job.id
        result = job.result
        sheet = Path(result["sheet"]) if result.get("sheet") else None
        updates.update(
            eval_table=f"**Summary** (as `facetwin evaluate` prints it; all of it in `{Path(result['report']).name}`):"
            f"\n```\n{result['table']}\n```",
            eval_sheet=gr.update(
                value=str(sheet) if sheet and sheet.exists() else None, visible=bool(sheet and sheet.exists())
            ),
        )
    return updates
