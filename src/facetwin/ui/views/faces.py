"""View 1: each person's source, the extraction of their faces, and the faces to review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from facetwin.config import ExtractConfig
from facetwin.errors import FacetwinError, NotReadyError
from facetwin.options import EXTRACT_OPTIONS, Option
from facetwin.ui import forms, tasks
from facetwin.ui.project import Person
from facetwin.ui.views.common import Server, describe_source, job_line, mtime, take_source

__all__ = ["build", "refresh"]

#: Faces shown per person: the first ones in the chosen order (worst first when sorted).
_GALLERY_FACES = 120
_ORDERS = {"as extracted": None, "least sharp first": "sharpness", "least like the others first": "identity"}
#: Extraction options the UI does not show: reference photos need a file picker of their own.
_HIDDEN_EXTRACT = {"ref_faces", "ref_threshold"}


def build(server: Server, where: str) -> dict[str, dict[str, Any]]:
    """Both people's columns; returns each person's components by name."""
    proj = server.project
    extract_options = [o for o in EXTRACT_OPTIONS if o.field not in _HIDDEN_EXTRACT]
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
                ui["source"] = gr.Markdown(describe_source(proj.source(person)), elem_id=f"source-{person}")
                ui["message"] = gr.Markdown("", elem_id=f"message-{person}", elem_classes="ft-message")
                ui["extract"] = gr.Button(
                    f"Extract faces of {person.upper()}", variant="primary", elem_id=f"extract-{person}"
                )
                ui["status"] = gr.Markdown("", elem_id=f"extract-status-{person}")
                ui["order"] = gr.Dropdown(list(_ORDERS), value="as extracted", label="Order", elem_id=f"order-{person}")
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
    for person, ui in person_ui.items():
        _wire_person(server, person, ui, extract_options, extract_form)
    return person_ui


def refresh(server: Server, person: str, order: str, seen: dict, force: bool, new_sources: bool) -> dict:
    proj = server.project
    job = server.queue.latest(f"extract-{person}")
    line = job_line(job, "")
    folder = proj.faces_dir(person)
    stamp = mtime(folder / "alignments.json")
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
        updates[f"{person}_source"] = describe_source(proj.source(person))
    return updates


def _wire_person(server: Server, person: Person, ui: dict, extract_options: list[Option], extract_form: list) -> None:
    proj = server.project

    def uploaded(files):
        # The upload box is emptied either way: it is a drop zone, the source is shown below it.
        return (*take_source(server, person, files=files), None)

    def use_path(path: str):
        return take_source(server, person, path=path)

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
