"""The UI's jobs: each is one library call, reporting to its ``JobContext``.

No Gradio here: what a button starts is plain library use, testable without a page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import OutputConflictError
from facetwin.ui.jobs import JobContext
from facetwin.ui.project import Project

__all__ = ["extract_task", "train_task", "convert_task", "output_for"]


def extract_task(ctx: JobContext, source: Path, out: Path, config: ExtractConfig):
    """``facetwin.extraction`` into ``out``; a folder of another source or settings is redone."""
    from facetwin.extraction import extract

    try:
        return extract(source, out, config=config, progress=ctx.progress())
    except OutputConflictError:  # another source or other settings than the folder's: start afresh
        return extract(source, out, config=config, progress=ctx.progress(), overwrite=True)


def train_task(ctx: JobContext, proj: Project, config: TrainConfig, resume: bool, device: str):
    """``facetwin.training.train`` on the project's faces; Stop ends it cleanly (``should_stop``)."""
    from facetwin.training import train

    return train(
        proj.faces_dir("a"),
        proj.faces_dir("b"),
        proj.model_dir,
        config=config,
        resume=resume,
        device=device,
        progress=ctx.progress(stop_on_report=False),
        should_stop=ctx.stop_requested,
    )


def output_for(proj: Project, source: Path, to: str) -> Path:
    """Where converting ``source`` goes: a video to .mp4, an image to .png, a folder to a folder."""
    from facetwin.io.images import IMAGE_SUFFIXES

    stem = f"{source.stem}_to_{to}"
    if source.is_dir():
        return proj.outputs_dir / stem
    if source.suffix.lower() in IMAGE_SUFFIXES:
        return proj.outputs_dir / f"{stem}.png"
    return proj.outputs_dir / f"{stem}.mp4"


def convert_task(
    ctx: JobContext,
    project: Project,
    source: Path,
    config: ConvertConfig,
    *,
    device: str = "auto",
    key_dir: Path | None = None,
) -> dict:
    """``facetwin.conversion.convert``, then ``facetwin.verify`` on the result.

    Returns ``output``, ``download`` (the file, or a zip of an image folder), ``summary``
    and ``report`` (verify's text, the file named as it downloads).
    """
    from facetwin.conversion import convert
    from facetwin.forensics.report import format_report, verify

    proj = project
    out = output_for(proj, source, config.to)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()

    summary = convert(
        source, proj.model_dir, out, config=config, device=device, progress=ctx.progress(), key_dir=key_dir
    )
    checked = out if out.is_file() else next(iter(sorted(out.glob("*.png"))), None)
    download = out
    if out.is_dir():  # a folder of images goes down as one zip
        download = Path(shutil.make_archive(str(out), "zip", out))
    report = ""
    if checked is not None:  # the page names the file as it is downloaded, not by its path here
        report = format_report(verify(checked, trust_dir=key_dir)).replace(str(checked), checked.name, 1)
    return {"output": out, "download": download, "summary": summary, "report": report}
