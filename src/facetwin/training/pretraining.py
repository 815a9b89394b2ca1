"""Pre-training: teach the shared encoder and a decoder faces in general.

A pair trained from noise spends its first hundreds of steps learning what a face is;
DeepFaceLab's users skip that by starting from a model pre-trained on thousands of
faces. ``pretrain`` trains one architecture on many people at once: each person's faces
are cut to the face type's window, pooled, and every step's two half-steps both train
the shared encoder with decoder A, which so becomes a decoder of *any* face. Decoder B
is saved as a copy of decoder A (``train(..., pretraining=True)``).

Why one general decoder rather than two trained on halves of the people: a fine-tuned
pair starts both its decoders from the same prior, so neither person's decoder starts
biased toward the faces it happened to be given, and all of a step's gradient goes into
one decoder, which learns twice as fast. Identity is then learnt from the pair alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from facetwin._check import check_path, check_paths
from facetwin.config import TrainConfig
from facetwin.data.augment import AugmentConfig
from facetwin.data.dataset import Faces, frame_faces, load_faces, pool_faces
from facetwin.errors import FacesetError
from facetwin.faces.align import face_type
from facetwin.io.atomic import atomic_write_bytes
from facetwin.io.images import IMAGE_SUFFIXES
from facetwin.io.lock import locks_output
from facetwin.models import create_model
from facetwin.models.checkpoint import is_model_dir
from facetwin.progress import ProgressFn
from facetwin.training.trainer import TrainSummary, train

__all__ = ["pretrain", "pretrain_sources", "load_people", "PEOPLE_NAME"]

#: The list of people (folders, faces used, left out) written into a pre-trained model's folder.
PEOPLE_NAME = "people.json"

log = logging.getLogger(__name__)


def _is_face_folder(folder: Path) -> bool:
    return (folder / "alignments.json").is_file() or any(
        p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir() if p.is_file()
    )


def pretrain_sources(sources: Sequence[str | Path]) -> list[Path]:
    """The face folders (one person each) that ``sources`` name.

    A source is a face folder (an extraction folder or a folder of face images), or a
    folder whose sub-folders are face folders (one person each).

    Raises:
        FacesetError: a source is not a folder or holds no face folder.
    """
    folders: list[Path] = []
    for source in check_paths(sources, "sources"):
        if not source.is_dir():
            raise FacesetError(source, "not a folder (give extraction folders, or a folder of them)")
        if _is_face_folder(source):
            folders.append(source)
            continue
        found = sorted(p for p in source.iterdir() if p.is_dir() and _is_face_folder(p))
        if not found:
            raise FacesetError(source, "holds no faces and no folders of faces (extract them first)")
        folders.extend(found)
    return folders


def load_people(
    folders: Sequence[Path], *, face: str, window: int, per_person: int | None = None
) -> tuple[Faces, list[dict]]:
    """Every person's faces framed for ``face`` at ``window`` px, pooled into one set.

    Folders without a readable face are left out and listed; ``per_person`` keeps at most that many faces of each (evenly spread), so a
    long video does not outweigh the rest.

    Returns:
        The pool and one record per folder: path, faces used, or why it was left out.
    """
    fraction = AugmentConfig().warp_coverage
    sets, record = [], []
    for folder in folders:
        try:
            faces = load_faces(folder, min_faces=1)
        except FacesetError as error:
            log.warning("left out: %s", error)
            record.append({"folder": str(folder), "faces": 0, "left_out": str(error)})
            continue
        if per_person is not None and len(faces) > per_person:
            keep = (
                [round(i * (len(faces) - 1) / (per_person - 1)) for i in range(per_person)] if per_person > 1 else [0]
            )
            faces = Faces(faces.images[keep], [faces.names[i] for i in keep], faces.source, faces.coverage)
        sets.append(frame_faces(faces, face_type(face), window, window_fraction=fraction))
        record.append({"folder": str(folder), "faces": len(faces), "coverage": faces.coverage})
    if len(sets) < 2:
        raise FacesetError(
            Path(folders[0]) if folders else Path("."), "pre-training needs the faces of at least 2 people"
        )
    return pool_faces(sets, source=Path(folders[0]).parent), record


@locks_output("model_dir", "pretrain", clean=("previews",))
def pretrain(
    sources: Sequence[str | Path],
    model_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    resume: bool = False,
    per_person: int | None = None,
    device: str = "auto",
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainSummary:
    """Pre-train ``config.model`` on the faces of many people (one folder each).

    Args:
        sources: face folders, or folders of them (``pretrain_sources``).
        model_dir: the model folder, as ``train`` writes it; resumable the same way.
        config: training settings (colour matching between people is always off).
        per_person: at most this many faces of each person.

    Returns:
        ``train``'s summary; ``notes`` lists the people used and those left out.
    """
    config = config or TrainConfig()
    config = TrainConfig(**{**config.to_json(), "match_colour": False})
    folders = pretrain_sources(sources)
    window = create_model(config.model).input_size
    pool, record = load_people(folders, face=config.face, window=window, per_person=per_person)
    used = [r for r in record if r["faces"]]
    log.info("pre-training on %d faces of %d people", len(pool), len(used))
    model_dir = check_path(model_dir, "model_dir")
    try:
        summary = train(
            pool,
            pool,
            model_dir,
            config=config,
            resume=resume,
            init_from=None,
            device=device,
            progress=progress,
            should_stop=should_stop,
            pretraining=True,
        )
    finally:
        if is_model_dir(model_dir):  # what the model saw, kept beside it (docs and the base's record)
            atomic_write_bytes(
                model_dir / PEOPLE_NAME, json.dumps({"per_person": per_person, "people": record}, indent=1).encode()
            )
    summary.notes.append(f"{len(pool)} faces of {len(used)} people")
    summary.notes.extend(f"left out {r['folder']}: {r['left_out']}" for r in record if not r["faces"])
    return summary
