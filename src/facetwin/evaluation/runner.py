"""``facetwin evaluate``: every metric of a trained model, on frames it never saw.

Each video is split by time (data/split.py): the model should have been trained on
the first part (``facetwin extract --held-out``), and it is measured on the last. The
people's reference identities come from the training part of their own videos; the
swap is judged on the held-out part:

- identity: each swapped face's identity vector (dlib ResNet, and SFace where its model
  ships) against the target's and the source's mean vectors (two-way: the share of
  swapped faces nearer the target), and its rank among a gallery of many people (top-1,
  top-5; evaluation/gallery.py);
- attributes kept: landmarks, head pose and expression of the swapped face against the
  input's, and how much of the input's expression movement the output makes;
- detail: the swapped face's fine detail over the real face's (a blur scores low);
- reconstruction: PSNR and SSIM of A->A and B->B on the held-out faces, in the model's
  own window;
- temporal: flicker inside the face relative to the input's, landmark jitter relative to
  the input's;
- blend: the seam score of conversion/metrics.py.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facetwin._check import check_config, check_path
from facetwin.config import ConvertConfig, EvaluateConfig, ExtractConfig
from facetwin.errors import NoFaceFoundError
from facetwin.evaluation.gallery import Gallery, person_from_vectors
from facetwin.faces.find import largest_face
from facetwin.progress import Progress, ProgressFn

__all__ = ["evaluate", "rank_faces", "load_tools", "Tools", "EvaluateConfig", "Evaluation", "FaceResult"]

log = logging.getLogger(__name__)


@dataclass
class FaceResult:
    """One swapped face of the test part."""

    frame: int
    dlib_to_target: float
    dlib_to_source: float
    sface_to_target: float | None
    sface_to_source: float | None
    landmark_error: float
    pose_error: np.ndarray  # (3,) yaw, pitch, roll, degrees
    seam: float
    detail: float  # the output's fine detail over the input's (metrics.detail_ratio)
    input_crop: np.ndarray = field(repr=False)
    output_crop: np.ndarray = field(repr=False)
    dlib_vector: np.ndarray | None = field(default=None, repr=False)
    sface_vector: np.ndarray | None = field(default=None, repr=False)
    # Filled over the whole clip (expression needs the clip's mean shape) and by ranking.
    expression_error: float = float("nan")
    rank_dlib: int | None = None  # the target's rank in the gallery, 1 = nearest
    rank_sface: int | None = None

    @property
    def margin(self) -> float:
        """How much nearer the target than the source (dlib); > 0 is the target."""
        return self.dlib_to_source - self.dlib_to_target


@dataclass
class Evaluation:
    """Everything measured, ready for ``report.write_report``."""

    model_dir: Path
    videos: dict[str, Path]
    splits: dict[str, Any]
    directions: dict[str, list[FaceResult]]
    temporal: dict[str, dict[str, float]]
    reconstruction: dict[str, dict[str, float]]
    seconds: float = 0.0
    sface: bool = False
    # The two people as gallery entries (from their training parts), and the gallery the
    # faces were ranked in (names, in order), with any gallery footage left out and why.
    people: dict[str, Any] = field(default_factory=dict)
    gallery: list[str] = field(default_factory=list)
    gallery_skipped: dict[str, str] = field(default_factory=dict)


def evaluate(
    model_dir: str | Path,
    video_a: str | Path,
    video_b: str | Path,
    *,
    config: EvaluateConfig | None = None,
    convert: ConvertConfig | None = None,
    faces: ExtractConfig | None = None,
    gallery: Gallery | None = None,
    device: str = "auto",
    progress: ProgressFn | None = None,
    tools: Tools | None = None,
) -> Evaluation:
    """Measure the model of ``model_dir`` (trained on A = ``video_a``, B = ``video_b``).

    ``convert`` sets how faces are blended (its ``to`` is set per direction); ``faces``
    how they are found. Swapped faces are ranked among A, B and the people of
    ``gallery`` (``evaluate.gallery.build_gallery``); ``rank_faces`` ranks them again
    in another gallery. ``tools`` (``load_tools()``) saves loading the networks again
    when several models are evaluated. Raises FacetwinError subclasses for unreadable
    inputs, a bad model folder, or a test part without faces.
    """
    from facetwin.conversion.swap import FaceSwapper
    from facetwin.device import pick_device
    from facetwin.models.checkpoint import load_model

    started = time.perf_counter()
    model_dir = check_path(model_dir, "model_dir")
    videos = {"a": check_path(video_a, "video_a"), "b": check_path(video_b, "video_b")}
    config = check_config(config, "config", EvaluateConfig)
    convert = check_config(convert, "convert", ConvertConfig)
    faces = check_config(faces, "faces", ExtractConfig)
    report = progress or (lambda event: None)
    dev = pick_device(device)
    model = load_model(model_dir, device=dev)
    tools = tools or load_tools()

    parts = {side: _read_parts(path, config, faces, report, side) for side, path in videos.items()}
    vectors = {side: _reference_vectors(part.reference, tools) for side, part in parts.items()}
    # Two-way distances keep the plain mean of dlib's vectors (Euclidean, as before).
    means = {side: {rec: np.mean(v, axis=0) if v else None for rec, v in vec.items()} for side, vec in vectors.items()}
    people = {side: person_from_vectors(path.stem, path, vectors[side]) for side, path in videos.items()}

    directions: dict[str, list[FaceResult]] = {}
    temporal: dict[str, dict[str, float]] = {}
    for source, target in (("a", "b"), ("b", "a")):
        swapper = FaceSwapper(model, replace(convert, to=target), bf16=False)
        results, temporal[f"{source}_to_{target}"] = _swap_and_measure(
            parts[source].test,
            swapper,
            tools,
            means[target],
            means[source],
            report,
            f"{source}->{target}",
        )
        directions[f"{source}_to_{target}"] = results
    reconstruction = {side: _reconstruction(model, parts[side].test, side, convert, dev) for side in ("a", "b")}
    evaluation = Evaluation(
        Path(model_dir),
        videos,
        {side: part.split_json for side, part in parts.items()},
        directions,
        temporal,
        reconstruction,
        time.perf_counter() - started,
        tools.sface is not None,
        people,
    )
    everyone = Gallery([people["a"], people["b"]])
    for person in gallery.people if gallery else []:
        everyone.add(person)
    rank_faces(evaluation, everyone)
    if gallery is not None:
        evaluation.gallery_skipped = dict(gallery.skipped)
    return evaluation


def rank_faces(evaluation: Evaluation, gallery: Gallery) -> None:
    """Set every swapped face's ``rank_dlib``/``rank_sface``: the target's rank among ``gallery``.

    ``gallery`` must hold both people of the evaluation (by their videos' paths).
    """
    from facetwin.evaluation.gallery import target_ranks

    evaluation.gallery = [p.name for p in gallery.people]
    for name, faces in evaluation.directions.items():
        if not faces:
            continue
        target = gallery.index(evaluation.people[name.split("_to_")[1]].key)
        for recogniser in ("dlib", "sface"):
            if getattr(faces[0], f"{recogniser}_vector") is None:
                continue
            ranks = target_ranks(
                np.stack([getattr(f, f"{recogniser}_vector") for f in faces]), gallery.matrix(recogniser), target
            )
            for face, rank in zip(faces, ranks):
                setattr(face, f"rank_{recogniser}", int(rank))


# --- reading the parts ------------------------------------------------------------------


@dataclass
class Tools:
    """The networks every measurement uses, loaded once (``load_tools``)."""

    dlib: Any
    sface: Any | None
    landmarks: Any


def load_tools() -> Tools:
    """dlib's identity ResNet, SFace where its model ships, dlib's 68-point landmarks."""
    from facetwin.evaluation.metrics import SFaceEncoder
    from facetwin.faces import LandmarkPredictor
    from facetwin.faces.identity import IdentityEncoder

    return Tools(IdentityEncoder(), SFaceEncoder() if SFaceEncoder.available() else None, LandmarkPredictor())


@dataclass
class _Part:
    reference: list[tuple[np.ndarray, np.ndarray]]  # (frame, landmarks) from the training part
    test: list[tuple[int, np.ndarray, list]]  # (index, frame, [FoundFace]) consecutive test frames
    split_json: dict[str, Any]


def _read_parts(path: Path, config: EvaluateConfig, faces: ExtractConfig, report, side: str) -> _Part:
    from facetwin.data.split import time_split
    from facetwin.faces.find import FaceFinder
    from facetwin.io.media import open_media

    with open_media(path) as source:
        split = time_split(source.frame_count, source.fps, held_out=config.held_out, gap_seconds=config.gap_seconds)
        test_stop = (
            split.test.stop if not config.max_frames else min(split.test.stop, split.test.start + config.max_frames)
        )
        picks = set(
            np.linspace(split.train.start, split.train.stop - 1, num=min(config.reference_frames, len(split.train)))
            .round()
            .astype(int)
            .tolist()
        )
        reference, test = [], []
        finder = FaceFinder(faces, video=True)
        for frame in source.frames():
            if frame.index in picks:
                found = FaceFinder(faces, video=False)(frame.image, frame.time)
                if found:
                    reference.append((frame.image, largest_face(found).landmarks))
            elif frame.index >= split.test.start:
                test.append((frame.index, frame.image, finder(frame.image, frame.time)))
                report(Progress(f"{side} read", len(test), test_stop - split.test.start))
            if frame.index + 1 >= test_stop:
                break
    if not reference:
        raise NoFaceFoundError(
            str(path), len(picks), "no face in the training part to learn the person's identity from"
        )
    if not any(found for _, _, found in test):
        raise NoFaceFoundError(str(path), len(test), "no face in the held-out part")
    split_json = {
        "frames": len(split.train) + len(split.test) + split.gap,
        "train": [split.train.start, split.train.stop],
        "test": [split.test.start, split.test.stop],
        "tested": [split.test.start, test_stop],
    }
    return _Part(reference, test, split_json)


def _reference_vectors(reference, tools: Tools) -> dict[str, list[np.ndarray]]:
    return {
        "dlib": [tools.dlib(image, lm) for image, lm in reference],
        "sface": [tools.sface(image, lm) for image, lm in reference] if tools.sface else [],
    }


# --- the swap ---------------------------------------------------------------------------


def _swap_and_measure(test, swapper, tools: Tools, target_mean, source_mean, report, stage: str):
    from facetwin.conversion.metrics import flicker_score, seam_score
    from facetwin.conversion.swap import SwapFace
    from facetwin.evaluation.metrics import (
        detail_ratio,
        expression_errors,
        expression_motion,
        expression_size,
        head_pose,
        jitter_ratio,
        landmark_error,
        pose_error,
        sface_distance,
    )

    results: list[FaceResult] = []
    outputs, inputs, masks = [], [], []
    track_in, track_out = [], []
    for i, (index, frame, found) in enumerate(test):
        if not found:
            # A gap in the tracks: jitter skips it instead of bridging two distant frames.
            track_in.append(np.full((68, 2), np.nan))
            track_out.append(np.full((68, 2), np.nan))
            continue
        face = largest_face(found)
        output, mask = swapper.swap(frame, [SwapFace(face.landmarks, face.track_id, face.box)])
        # Both faces' landmarks found afresh in the same box: the tracked input landmarks
        # are smoothed over time, and comparing them with raw ones would count the
        # smoothing as error and as jitter. The recognisers see the output face as its
        # own landmarks frame it, as they would any photo of it.
        landmarks_out = tools.landmarks(output, face.box).astype(np.float64)
        landmarks_in = tools.landmarks(frame, face.box).astype(np.float64)
        size = (frame.shape[1], frame.shape[0])
        vector = tools.dlib(output, landmarks_out)
        to_target = float(np.linalg.norm(vector - target_mean["dlib"]))
        to_source = float(np.linalg.norm(vector - source_mean["dlib"]))
        s_target = s_source = s_vector = None
        if tools.sface is not None:
            s_vector = tools.sface(output, landmarks_out)
            s_target = float(sface_distance(s_vector, target_mean["sface"]))
            s_source = float(sface_distance(s_vector, source_mean["sface"]))
        seam = float(seam_score(_tensor(output), _tensor(frame), torch.from_numpy(mask)[None, None])[0])
        crop_in, crop_out = _face_crop(frame, face.landmarks), _face_crop(output, face.landmarks)
        results.append(
            FaceResult(
                index,
                to_target,
                to_source,
                s_target,
                s_source,
                float(landmark_error(landmarks_out, landmarks_in)),
                pose_error(head_pose(landmarks_out, size), head_pose(landmarks_in, size)),
                seam,
                detail_ratio(crop_out, crop_in),
                crop_in,
                crop_out,
                vector,
                s_vector,
            )
        )
        outputs.append(output)
        inputs.append(frame)
        masks.append(mask)
        track_in.append(landmarks_in)
        track_out.append(landmarks_out)
        report(Progress(stage, i + 1, len(test), "face"))
    temporal = {
        "flicker": float("nan"),
        "jitter_ratio": float("nan"),
        "motion_ratio": float("nan"),
        "expression_still": float("nan"),
    }
    if len(outputs) >= 2:
        tracks_out, tracks_in = np.stack(track_out), np.stack(track_in)
        errors = expression_errors(tracks_out, tracks_in)
        for result, error in zip(results, errors[np.isfinite(errors)]):
            result.expression_error = float(error)
        temporal["motion_ratio"] = expression_motion(tracks_out) / max(expression_motion(tracks_in), 1e-9)
        temporal["expression_still"] = expression_size(tracks_in)
    if len(outputs) >= 3:
        box = _union_box(masks)
        crop = lambda images: torch.stack([_tensor(im[box])[0] for im in images])  # noqa: E731
        temporal["flicker"] = float(
            flicker_score(crop(outputs), crop(inputs), torch.stack([torch.from_numpy(m[box])[None] for m in masks]))
        )
        temporal["jitter_ratio"] = float(jitter_ratio(np.stack(track_out), np.stack(track_in)))
    return results, temporal


def _tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div_(255)


def _union_box(masks: list[np.ndarray]) -> tuple[slice, slice]:
    """The frame region any mask touches, with a margin (keeps the flicker tensors small)."""
    touched = np.any(np.stack(masks) > 0, axis=0)
    ys, xs = np.nonzero(touched)
    if len(ys) == 0:
        return slice(None), slice(None)
    pad = 8
    h, w = touched.shape
    return slice(max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)), slice(
        max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    )


def _face_crop(image: np.ndarray, landmarks: np.ndarray, size: int = 160) -> np.ndarray:
    from facetwin.faces.align import crop_from_frame, warp_to_crop

    return warp_to_crop(image, crop_from_frame(landmarks, crop_size=size, coverage=0.6), size)


# --- reconstruction ------------------------------------------------------------------------


@torch.no_grad()
def _reconstruction(model, test, side: str, convert: ConvertConfig, dev: torch.device) -> dict[str, float]:
    """PSNR/SSIM of person ``side`` through their own decoder, in the model's window, on
    test frames, after matching the mean colour (as conversion's default colour mode)."""
    from facetwin.conversion.swap import model_face, model_window
    from facetwin.evaluation.metrics import psnr, ssim
    from facetwin.faces.align import warp_to_crop

    size = int(model.input_size)
    face = model_face(model, convert.coverage)
    crops = [
        warp_to_crop(frame, model_window(largest_face(found).landmarks, size, face), size)
        for _, frame, found in test
        if found
    ]
    psnrs, ssims = [], []
    for start in range(0, len(crops), 32):
        batch = np.stack(crops[start : start + 32])
        x = torch.from_numpy(batch).to(dev).permute(0, 3, 1, 2).float().div_(255)
        out = model(x, to=side).float()[:, :3]
        # Mean colour matched to the input first, as conversion does: training shifts
        # A's colours toward B's (match_colour), which would otherwise count as error.
        out = (out - out.mean(dim=(2, 3), keepdim=True) + x.mean(dim=(2, 3), keepdim=True)).clamp(0, 1)
        recon = (out.permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        for a, b in zip(recon, batch):
            psnrs.append(psnr(a, b))
            ssims.append(ssim(a, b))
    return {"psnr": float(np.median(psnrs)), "ssim": float(np.median(ssims)), "faces": len(crops)}
