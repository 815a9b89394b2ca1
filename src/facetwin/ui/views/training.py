"""View 2: training, with its controls, the latest preview grid and the loss plot."""

from __future__ import annotations

import shutil
from typing import Any

import gradio as gr

from facetwin.config import TrainConfig
from facetwin.errors import FacetwinError, NotReadyError, OwnerOnlyError
from facetwin.options import TRAIN_OPTIONS
from facetwin.ui import forms, tasks
from facetwin.ui.views.common import Server, job_line, mtime

__all__ = ["build", "refresh"]


def build(server: Server, shared: bool) -> dict[str, Any]:
    """The training view; returns the components the timer updates, by name."""
    proj = server.project
    # Controls that would do nothing are greyed out; the timer switches them (``refresh``).
    with gr.Row():
        train_start = gr.Button("Start / continue", variant="primary", elem_id="train-start")
        train_save = gr.Button("Save now", elem_id="train-save", interactive=False)
        train_pause = gr.Button("Pause", elem_id="train-pause", interactive=False)
        train_resume = gr.Button("Resume", elem_id="train-resume", interactive=False)
        train_stop = gr.Button("Stop (saves)", variant="stop", elem_id="train-stop", interactive=False)
        start_over = gr.Checkbox(
            label="start over (discard the model)",
            value=False,
            elem_id="train-start-over",
            visible=not shared,
        )
    train_status = gr.Markdown("", elem_id="train-status")
    train_message = gr.Markdown("", elem_id="train-message", elem_classes="ft-message")
    # The grid's own header names its columns: a heading above it, not Gradio's label badge
    # (which would cover that header), and the grid as large as the page allows.
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Markdown("#### Preview: A, A→A, A→B | B, B→B, B→A", elem_id="train-preview-heading")
            train_preview = gr.Image(
                show_label=False,
                type="filepath",
                interactive=False,
                height=560,
                buttons=["fullscreen"],
                elem_id="train-preview",
            )
        with gr.Column(scale=2):
            gr.Markdown("#### Loss", elem_id="train-loss-heading")
            train_loss = gr.Image(
                show_label=False, type="filepath", interactive=False, buttons=["fullscreen"], elem_id="train-loss"
            )
    with gr.Accordion("Training settings (as facetwin train --help)", open=False):
        train_form = forms.form(TRAIN_OPTIONS, TrainConfig())

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
        done = {
            "pause": server.queue.pause,
            "resume": server.queue.resume,
            "stop": server.queue.stop,
            "save": server.queue.request_save,
        }[action](job.id)
        if action == "save" and done:  # news, not an error: a passing notice, not the red message line
            gr.Info("Saving at the next step: the checkpoint, preview and loss plot; training goes on.")
            return ""
        return "" if done else f"Training is {job.state}: cannot {action} it."

    train_save.click(lambda: control("save"), None, train_message)
    train_pause.click(lambda: control("pause"), None, train_message)
    train_resume.click(lambda: control("resume"), None, train_message)
    train_stop.click(lambda: control("stop"), None, train_message)
    return {
        "train_status": train_status,
        "train_preview": train_preview,
        "train_loss": train_loss,
        "train_save": train_save,
        "train_pause": train_pause,
        "train_resume": train_resume,
        "train_stop": train_stop,
    }


def refresh(server: Server, seen: dict, force: bool) -> dict[str, Any]:
    proj = server.project
    train_job = server.queue.latest("train")
    status = job_line(train_job, "")
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
    # Which controls would do something: sent only when that changes (a button re-sent
    # every second would flicker).
    state = train_job.state if train_job is not None else None
    enabled = {
        "train_save": state == "running",
        "train_pause": state == "running",
        "train_resume": state == "paused",
        "train_stop": state in ("queued", "running", "paused"),
    }
    if force or seen.get("train_buttons") != enabled:
        seen["train_buttons"] = enabled
        updates.update({name: gr.update(interactive=on) for name, on in enabled.items()})
    for key, name in (("train_preview", "preview.png"), ("train_loss", "loss.png")):
        path = proj.model_dir / name
        stamp = mtime(path)
        if stamp is not None and (force or seen.get(name) != stamp):
            seen[name] = stamp
            updates[key] = str(path)
    return updates
