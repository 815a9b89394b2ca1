"""View 1: each person's source, the extraction of their faces, and the faces to review."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from facetwin.config import ExtractConfig
from facetwin.errors import FacetwinError, NotReadyError
from facetwin.options import EXTRACT_OPTIONS, Option
from facetwin.ui import forms, tasks
from facetwin.ui.project import Person
from facetwin.ui.views.common import Server, describe_refs, describe_source, job_line, mtime, ref_picker, take_source

__all__ = ["build", "refresh"]

#: Faces shown per page of a person's gallery, in the chosen order (worst first when sorted).
_GALLERY_FACES = 120
_ORDERS = {"as extracted": None, "least sharp first": "sharpness", "least like the others first": "identity"}
#: Extraction options the form does not show: reference photos have a picker of their own.
_HIDDEN_EXTRACT = {"ref_faces"}


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
                ui["refs"], _ = ref_picker(server, person, what="extract")
                ui["message"] = gr.Markdown("", elem_id=f"message-{person}", elem_classes="ft-message")
                ui["extract"] = gr.Button(
                    f"Extract faces of {person.upper()}", variant="primary", elem_id=f"extract-{person}"
                )
                ui["status"] = gr.Markdown("", elem_id=f"extract-status-{person}")
                with gr.Row():
                    ui["order"] = gr.Dropdown(
                        list(_ORDERS), value="as extracted", label="Order", elem_id=f"order-{person}", scale=3
                    )
                    ui["page"] = gr.Number(
                        1, precision=0, minimum=1, label="Page", elem_id=f"page-{person}", scale=1, min_width=80
                    )
                ui["gallery"] = gr.Gallery(
                    label=f"Faces of {person.upper()}: click faces to select them, then Remove",
                    columns=6,
                    height=280,
                    allow_preview=False,
                    elem_id=f"faces-{person}",
                )
                ui["selection"] = gr.Markdown("", elem_id=f"selection-{person}")
                ui["remove"] = gr.Button("Remove the selected faces", elem_id=f"remove-{person}", size="sm")
                with gr.Row(equal_height=True):
                    ui["below"] = gr.Number(
                        label="Sharpness under (the number under each face)",
                        elem_id=f"below-{person}",
                        scale=3,
                        min_width=120,
                    )
                    ui["remove_below"] = gr.Button(
                        "Remove all under it", elem_id=f"remove-below-{person}", size="sm", scale=2
                    )
                ui["crops"] = gr.State([])
                ui["selected"] = gr.State([])
                person_ui[person] = ui
    for person, ui in person_ui.items():
        _wire_person(server, person, ui, extract_options, extract_form)
    return person_ui


def refresh(
    server: Server, person: str, order: str, page: float | None, seen: dict, force: bool, new_sources: bool
) -> dict:
    proj = server.project
    job = server.queue.latest(f"extract-{person}")
    line = job_line(job, "")
    folder = proj.faces_dir(person)
    stamp = mtime(folder / "alignments.json")
    if not line and stamp is not None:
        line = "Faces extracted earlier (Extract again to redo them)."
    updates: dict[str, Any] = {f"{person}_status": line}
    key = f"faces-{person}"
    page = max(int(page or 1), 1)
    view = (stamp, order, page)
    if stamp is not None and (force or seen.get(key) != list(view)):
        seen[key] = list(view)
        reviews = _faces_in_order(folder, order)
        pages = max(math.ceil(len(reviews) / _GALLERY_FACES), 1)
        page = min(page, pages)
        first = (page - 1) * _GALLERY_FACES
        shown = reviews[first : first + _GALLERY_FACES]
        where = f", {first + 1}-{first + len(shown)} on page {page} of {pages}" if pages > 1 else ""
        label = f"Faces of {person.upper()} ({len(reviews)}{where}): click faces to select them, then Remove"
        updates[f"{person}_gallery"] = gr.update(
            value=[(str(folder / r.crop), f"{r.crop} · {r.sharpness:.3g}") for r in shown], label=label
        )
        updates[f"{person}_crops"] = [r.crop for r in shown]
    if new_sources:
        updates[f"{person}_source"] = describe_source(proj.source(person))
        updates[f"{person}_refs"] = describe_refs(proj.refs(person))
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
            # Whose faces: the photos of the picker above (--ref-face), as the job starts.
            config = replace(config, ref_faces=tuple(str(p) for p in proj.refs(person)))
            server.queue.submit(
                f"extract-{person}",
                f"extract faces of {person.upper()}",
                lambda ctx: tasks.extract_task(ctx, source, proj.faces_dir(person), config),
            )
            return ""
        except FacetwinError as exc:
            return f"⚠ {exc}"

    def select(crops: list[str], selected: list[str], evt: gr.SelectData):
        # A click adds a face to the selection, a second click takes it out again.
        if not 0 <= evt.index < len(crops):
            return selected, _selection_line(selected)
        crop = crops[evt.index]
        selected = [c for c in selected if c != crop] if crop in selected else [*selected, crop]
        return selected, _selection_line(selected)

    def remove(selected: list[str]):
        from facetwin.extraction import remove_faces

        if not selected:
            return "⚠ click faces in the gallery first, then Remove", [], ""
        try:
            remove_faces(proj.faces_dir(person), selected)
        except FacetwinError as exc:
            return f"⚠ {exc}", [], ""
        # alignments.json changed: the next refresh shows the gallery without the faces
        return f"Removed {', '.join(selected)}.", [], ""

    def remove_below(threshold: float | None):
        from facetwin.extraction import remove_faces
        from facetwin.faces.review import review_faces

        if threshold is None:
            return "⚠ give the sharpness first: faces under it are removed"
        try:
            blurred = [r.crop for r in review_faces(proj.faces_dir(person)) if r.sharpness < threshold]
            if not blurred:
                return f"No face is under sharpness {threshold:g}."
            remove_faces(proj.faces_dir(person), blurred)
        except FacetwinError as exc:
            return f"⚠ {exc}"
        return f"Removed {len(blurred)} face{'s' if len(blurred) != 1 else ''} under sharpness {threshold:g}."

    ui["upload"].upload(uploaded, ui["upload"], [ui["source"], ui["message"], ui["upload"]])
    ui["use_path"].click(use_path, ui["path"], [ui["source"], ui["message"]])
    ui["extract"].click(extract_faces, extract_form, ui["message"])
    ui["gallery"].select(select, [ui["crops"], ui["selected"]], [ui["selected"], ui["selection"]])
    ui["remove"].click(remove, ui["selected"], [ui["message"], ui["selected"], ui["selection"]])
    ui["remove_below"].click(remove_below, ui["below"], ui["message"])


def _selection_line(selected: list[str]) -> str:
    if not selected:
        return ""
    names = ", ".join(selected[:6]) + (f" and {len(selected) - 6} more" if len(selected) > 6 else "")
    return f"Selected {len(selected)}: {names}"


def _faces_in_order(folder: Path, order: str) -> list:
    """The folder's ``FaceReview``s in the chosen order."""
    from facetwin.faces.review import order_for_review, review_faces

    try:
        reviews = review_faces(folder)
    except FacetwinError:
        return []
    by = _ORDERS.get(order)
    return order_for_review(reviews, by=by) if by is not None else reviews
