"""What the views share: the server's state, job lines, sources."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from tqdm import tqdm

from facetwin.errors import FacetwinError
from facetwin.ui.access import allowed_input
from facetwin.ui.jobs import Job, JobQueue
from facetwin.ui.project import Person, Project

__all__ = [
    "Server",
    "job_line",
    "progress_line",
    "queue_table",
    "mtime",
    "describe_source",
    "take_source",
    "describe_refs",
    "ref_picker",
]


@dataclass
class Server:
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


def progress_line(job: Job) -> str:
    total = f" / {job.total}" if job.total else ""
    rate = f" · {job.rate:.2f} {job.unit}s/s" if job.rate else ""
    eta = f" · ETA {tqdm.format_interval(job.eta)}" if job.eta is not None else ""
    detail = f" · {job.detail}" if job.detail else ""
    return f"{job.done}{total} {job.unit}s{rate}{eta}{detail}"


def job_line(job: Job | None, idle: str) -> str:
    if job is None:
        return idle
    if job.state == "queued":
        return f"#{job.id} {job.title}: waiting in the queue"
    if job.state in ("running", "paused"):
        return f"#{job.id} {job.title}: **{job.state}** · {progress_line(job)}"
    if job.state == "failed":
        return f"#{job.id} {job.title}: **failed** · {job.error}"
    took = tqdm.format_interval((job.finished or 0) - (job.started or job.submitted)) if job.started else "-"
    return f"#{job.id} {job.title}: **{job.state}** after {took} · {progress_line(job)}"


def queue_table(jobs: list[Job]) -> str:
    if not jobs:
        return "**Jobs** · none yet. Long work runs here one job at a time, and goes on if this tab is closed."
    rows = ["| # | job | state | progress |", "|---|---|---|---|"]
    for job in reversed(jobs[-8:]):  # the newest eight; *Clear finished* drops the rest
        # One line per job, whatever the error: a "|" would end the cell, a newline the table.
        state = (job.state + (f": {job.error}" if job.error else "")).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {job.id} | {job.title} | {state} | {progress_line(job) if job.started else ''} |")
    return "**Jobs** (one at a time, newest first)\n\n" + "\n".join(rows)


def mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def describe_source(path: Path | None) -> str:
    if path is None:
        return "No source yet: upload a video or images, or give a path."
    if path.is_dir():
        return f"Source: folder `{path.name}` ({sum(1 for p in path.iterdir() if p.is_file())} files)"
    return f"Source: `{path.name}`"


def take_source(server: Server, who: Person, *, files: list | None = None, path: str | None = None) -> tuple:
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
    return describe_source(source), ""


def describe_refs(refs: list[Path]) -> str:
    if not refs:
        return "Whose faces: everyone's (no reference face)."
    return "Whose faces: only those like " + ", ".join(f"`{p.name}`" for p in refs) + "."


def ref_picker(server: Server, who: Person, *, what: str) -> tuple[gr.Markdown, list]:
    """A reference-face upload (``--ref-face``) for ``who``, kept in the project.

    Returns the line that names the photos (the page's timer updates it when another tab
    changes them) and the events that change them, for a view to chain its own update on
    (``.then``): a new photo may have the old one's name, so the line need not change.
    """
    with gr.Row(equal_height=True):
        upload = gr.File(
            label=f"Reference face: photos of the one person whose faces to {what} (optional)",
            file_count="multiple",
            file_types=["image"],
            type="filepath",
            height=90,
            elem_id=f"ref-{who}",
            scale=4,
        )
        clear = gr.Button("Everyone's", elem_id=f"ref-clear-{who}", size="sm", scale=1, min_width=90)
    line = gr.Markdown(describe_refs(server.project.refs(who)), elem_id=f"ref-line-{who}")

    def take(files):
        if not files:  # the box was cleared: the photos stay until "Everyone's"
            return gr.update(), None
        try:
            refs = server.project.set_refs(who, files, max_bytes=server.max_upload)
        except FacetwinError as exc:
            return f"⚠ {exc}\n\n{describe_refs(server.project.refs(who))}", None
        return describe_refs(refs), None  # the upload box is a drop zone: emptied

    events = [
        upload.upload(take, upload, [line, upload]),
        clear.click(lambda: describe_refs(server.project.set_refs(who, [])), None, line),
    ]
    return line, events
