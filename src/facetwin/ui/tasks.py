"""The UI's jobs: each is one library call, reporting to its ``JobContext``.

No Gradio here: what a button starts is plain library use, testable without a page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from facetwin.config import ConvertConfig, EvaluateConfig, ExtractConfig, TrainConfig
from facetwin.errors import OutputConflictError
from facetwin.ui.jobs import JobContext
from facetwin.ui.project import Project

__all__ = ["extract_task", "train_task", "convert_task", "evaluate_task", "verify_file", "output_for"]


def extract_task(ctx: JobContext, source: Path, out: Path, config: ExtractConfig):
    """``facetwin.extraction`` into ``out``; a folder of another source or settings is redone."""
    from facetwin.extraction import extract

    try:
        return extract(source, out, config=config, progress=ctx.progress())
    except OutputConflictError:  # another source or other settings than the folder's: start afresh
        return extract(source, out, config=config, progress=ctx.progress(), overwrite=True)


def train_task(ctx: JobContext, proj: Project, config: TrainConfig, resume: bool, device: str):
    """``facetwin.training.train`` on the project's faces; Stop ends it cleanly (``should_stop``)
    and *Save now* writes a checkpoint, preview and loss plot while it goes on (``should_save``)."""
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
        should_save=ctx.save_requested,
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
    faces: ExtractConfig | None = None,
) -> dict:
    """``facetwin.conversion.convert`` (finding faces as ``faces`` says: whose, with
    ``ref_faces``), then ``facetwin.verify`` on the result.

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
        source,
        proj.model_dir,
        out,
        config=config,
        faces=faces,
        device=device,
        progress=ctx.progress(),
        key_dir=key_dir,
    )
    checked = out if out.is_file() else next(iter(sorted(out.glob("*.png"))), None)
    download = out
    if out.is_dir():  # a folder of images goes down as one zip
        download = Path(shutil.make_archive(str(out), "zip", out))
    report = ""
    if checked is not None:  # the page names the file as it is downloaded, not by its path here
        report = format_report(verify(checked, trust_dir=key_dir)).replace(str(checked), checked.name, 1)
    return {"output": out, "download": download, "summary": summary, "report": report}


def evaluate_task(ctx: JobContext, project: Project, config: EvaluateConfig, *, device: str = "auto") -> dict:
    """``facetwin.evaluate`` of the project's model on A's and B's sources, as ``facetwin
    evaluate`` does; the report and contact sheet go to ``outputs/evaluation``.

    Returns ``table`` (the command line's summary table), ``report`` and ``sheet`` (paths).
    """
    from facetwin.errors import NotReadyError
    from facetwin.evaluation import evaluate, format_table, write_report

    sources = {person: project.source(person) for person in ("a", "b")}
    missing = [person.upper() for person, source in sources.items() if source is None]
    if missing:
        raise NotReadyError("evaluate", f"give person {' and '.join(missing)} a source first (view 1)")
    if not project.has_model():
        raise NotReadyError("evaluate", "train a model first (view 2)")
    result = evaluate(
        project.model_dir, sources["a"], sources["b"], config=config, device=device, progress=ctx.progress()
    )
    paths = write_report(result, project.evaluation_dir)
    return {"table": format_table(result), "report": paths["report"], "sheet": paths["sheet"]}


def verify_file(path: Path, *, name: str | None = None, key_dir: Path | None = None) -> str:
    """``facetwin verify``'s report on one file, naming it ``name`` (as uploaded) rather than
    by its path on the server. Quick (a few frames of a video): run by the page, not queued."""
    from facetwin.forensics.report import format_report, verify

    text = format_report(verify(path, trust_dir=key_dir))
    return text.replace(str(path), name, 1) if name else text
