"""Conversion speed: facetwin's ``convert`` against a re-creation of the original convert_video.py.

Both swap every face of the same 720p clip (the first --frames frames of
../shared/data/videos/portrait_s18.mp4, 1280x720, with sound) with the same trained
model (a model folder of architecture ``original``; --model).

(a) facetwin: ``facetwin.conversion.convert`` with its defaults: faces found by YuNet and
    followed between full searches, landmarks smoothed, model batched in bf16 where the
    CPU is fast at it, hull mask, Reinhard colour, feathered alpha blend, H.264 with
    the source's timing and sound; decoding and encoding on their own threads.
(b) the original's convert_video.py approach, re-created: for every frame, a new dlib
    HOG detector (upsample 1), and for every face the autoencoder built and its weights
    loaded again (as the script's per-frame conversion function did), the detection box
    cut out and resized to 64x64, predicted in float32, resized back, and cloned into the
    frame with ``cv2.seamlessClone`` through a white rectangle mask; frames written with
    OpenCV's mp4v VideoWriter (no sound).

The approaches run alternately, --repeats times each; the figures are medians and the
ratio compares the fastest run of each.

Run: python benchmarks/convert.py --model MODEL_DIR [--frames 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEO = DATA / "videos" / "portrait_s18.mp4"


def make_clip(source: Path, frames: int, path: Path) -> Path:
    """The first ``frames`` frames of ``source`` (with its sound), via facetwin's writer."""
    from facetwin.io.media import open_media
    from facetwin.io.writers import VideoWriter

    with open_media(source) as media, VideoWriter(path, like=media, crf=16, preset="veryfast") as out:
        for frame in media.frames():
            if frame.index >= frames:
                break
            out.write(frame.image, time=frame.time)
    return path


def run_facetwin(clip: Path, model_dir: Path, output: Path) -> tuple[float, int]:
    from facetwin.conversion import convert

    started = time.perf_counter()
    summary = convert(clip, model_dir, output)
    return time.perf_counter() - started, summary.faces_swapped


def run_original(clip: Path, model_dir: Path, output: Path) -> tuple[float, int]:
    import cv2
    import dlib
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from facetwin.models import create_model

    started = time.perf_counter()
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(output), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    faces = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        detector = dlib.get_frontal_face_detector()  # rebuilt every frame, as the script did
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        for det in detector(rgb, 1):
            x0, y0 = max(det.left(), 0), max(det.top(), 0)
            x1, y1 = min(det.right(), frame.shape[1] - 1), min(det.bottom(), frame.shape[0] - 1)
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            model = create_model("original")  # and the autoencoder, for every face
            model.load_state_dict(load_file(str(model_dir / "weights.safetensors")))
            model.eval()
            face = cv2.resize(frame[y0:y1, x0:x1], (64, 64))
            with torch.no_grad():
                x = torch.from_numpy(face[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
                new = model(x, to="a")[0, :3].permute(1, 2, 0).numpy()[..., ::-1]
            new = cv2.resize(np.clip(new * 255, 0, 255).astype(np.uint8), (x1 - x0, y1 - y0))
            mask = 255 * np.ones(new.shape, new.dtype)  # the white rectangle
            centre = ((x0 + x1) // 2, (y0 + y1) // 2)
            frame = cv2.seamlessClone(new, frame, mask, centre, cv2.NORMAL_CLONE)
            faces += 1
        writer.write(frame)
    writer.release()
    capture.release()
    return time.perf_counter() - started, faces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model folder of architecture `original`")
    parser.add_argument("--frames", type=int, default=60, help="frames of the 720p clip (default 60)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each approach (default 2)")
    parser.add_argument("--video", type=Path, default=VIDEO, help="the 720p source (default portrait_s18.mp4)")
    args = parser.parse_args()
    if not args.video.exists():
        sys.exit(f"benchmarks/convert.py: {args.video} not found (it lives in ../shared/data, not the repository)")

    import torch

    from facetwin.models.checkpoint import read_config

    if read_config(args.model)["model"]["name"] != "original":
        sys.exit("benchmarks/convert.py: --model must be a model of architecture `original`")
    tmp = Path(tempfile.mkdtemp(prefix="facetwin-convert-bench-"))
    clip = make_clip(args.video, args.frames, tmp / "clip.mp4")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; clip: {args.frames} frames of "
        f"{args.video.name} (1280x720); model {args.model}",
        flush=True,
    )

    times: dict[str, list[float]] = {"facetwin": [], "original": []}
    for r in range(args.repeats):
        for name, run in (("facetwin", run_facetwin), ("original", run_original)):
            seconds, faces = run(clip, args.model, tmp / f"{name}_{r}.mp4")
            times[name].append(seconds)
            print(
                f"  run {r + 1} {name}: {seconds:.1f} s, {args.frames / seconds:.2f} frames/s, {faces} faces swapped",
                flush=True,
            )
    print()
    for name, values in times.items():
        print(
            f"{name:<9} median {statistics.median(values):7.1f} s  ({args.frames / statistics.median(values):6.2f} "
            f"frames/s), fastest {min(values):.1f} s"
        )
    ratio = min(times["original"]) / min(times["facetwin"])
    print(
        f"RATIO facetwin/original frames/s (fastest run of each): {ratio:.1f}x "
        f"(issue requires >= 10x: {'met' if ratio >= 10 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
