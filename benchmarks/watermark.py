"""Does ``facetwin verify`` find facetwin's outputs, and only them?

1. Outputs: every video of ../shared/data/videos is converted with a trained model
   (facetwin convert, marks on), then re-encoded with the ffmpeg command line at CRF 23
   and, separately, scaled to half size (CRF 23). ``verify`` runs on each file; every
   frame of each is also scored on its own.
2. Clean: every frame of the same real videos and every real photo in
   ../shared/data/images, scored; ``verify`` on each real video.
3. Other watermarks, on the same frames: invisible-watermark's DWT-DCT and RivaGAN (if
   installed; it is not a facetwin dependency), 32 bits, "found" when at least 29 of 32
   bits come back (a chance of 1 in 190,000 for an unmarked frame).
4. Crops, pads, flips and turns (issue 15): the first ``--frames`` frames of every video of
   ../shared/data/videos marked with ``embed_watermark`` and written as facetwin's video
   writer writes them (libx264 CRF 18, preset medium, yuv420p, through PyAV), then cropped
   (5 % and 10 % of each side, or 10 % of the right and bottom only), padded (16 px of
   black), flipped, turned, halved, made grey or sampled at 10 fps, each re-encoded at
   CRF 28; and each frame saved as a JPEG still (a screenshot). Every case is read as
   ``verify`` reads a video (the reader over its frames) and frame by frame.
5. False alarms: every picture under ../shared/data (faces/, images/, pretrain/) and every
   video there, ``--verify-frames`` frames spread over it as ``verify`` reads them.

    python benchmarks/watermark.py --model /path/to/model_dir [--work /tmp/wm] [--to a]
    python benchmarks/watermark.py --parts 45 [--frames 16] [--mark old_watermark.py]

``--mark`` measures another file with the same API in parts 4 and 5, e.g. the mark before
issue 15: ``git show 3e99dd1:src/facetwin/forensics/watermark.py > /tmp/wm_v1.py``.

Prints the tables of docs/BENCHMARKS.md (Provenance). Needs the model of a real pair
(benchmarks/swap_pair.py makes one) and, for step 1, ffmpeg on the PATH (PyAV otherwise).
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from facetwin.config import ConvertConfig
from facetwin.conversion import convert
from facetwin.forensics.report import verify
from facetwin.forensics.watermark import THRESHOLD, embed_watermark, watermark_score
from facetwin.io.images import IMAGE_SUFFIXES, read_image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def frames_of(path: Path, step: int = 1, limit: int | None = None) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % step == 0:
                out.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(out) >= limit:
                break
    return out


def reencode(src: Path, dst: Path, *, half: bool) -> None:
    """What a platform or a user would do to the file: ffmpeg at CRF 23 (optionally halved)."""
    if shutil.which("ffmpeg"):
        scale = ["-vf", "scale=trunc(iw/4)*2:trunc(ih/4)*2:flags=area"] if half else []
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-i",
                str(src),
                *scale,
                "-c:v",
                "libx264",
                "-crf",
                "23",
                "-preset",
                "medium",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "copy",
                str(dst),
            ],
            check=True,
        )
        return
    frames = frames_of(src)
    if half:
        frames = [
            cv2.resize(f, (f.shape[1] // 4 * 2, f.shape[0] // 4 * 2), interpolation=cv2.INTER_AREA) for f in frames
        ]
    encode(frames, dst, crf=23)


def encode(frames: list[np.ndarray], dst: Path | io.BytesIO, *, crf: int, fps: float = 30) -> None:
    with av.open(dst, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames[0].shape[1] // 2 * 2, frames[0].shape[0] // 2 * 2
        stream.pix_fmt, stream.options = "yuv420p", {"crf": str(crf), "preset": "medium"}
        for f in frames:
            img = np.ascontiguousarray(f[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def h264_round_trip(frames: list[np.ndarray], crf: int = 23, fps: float = 30) -> list[np.ndarray]:
    buffer = io.BytesIO()
    encode(frames, buffer, crf=crf, fps=fps)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def half(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)


def outputs(model: Path, work: Path, to: str) -> None:
    print("## 1. facetwin outputs (convert with marks), then ffmpeg CRF 23, then halved + CRF 23\n")
    print(
        "| video | frames | verify: as written | CRF 23 | half + CRF 23 | frames marked: as written | CRF 23 | half |"
    )
    print("|---|---|---|---|---|---|---|---|")
    totals = {"files": 0, "found": [0, 0, 0], "frames": [0, 0, 0], "marked": [0, 0, 0]}
    scores: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for video in sorted((DATA / "videos").glob("*.mp4")):
        out = work / f"{video.stem}.mp4"
        if not out.exists():
            convert(video, model, out, config=ConvertConfig(to=to))
        crf = work / f"{video.stem}.crf23.mp4"
        small = work / f"{video.stem}.half.mp4"
        if not crf.exists():
            reencode(out, crf, half=False)
        if not small.exists():
            reencode(out, small, half=True)
        row = [video.stem]
        per_frame = []
        for k, path in enumerate((out, crf, small)):
            report = verify(path)
            totals["found"][k] += report.synthetic
            row.append(("found" if report.synthetic else "MISSED") + f" ({report.watermark.score:.0f} sigma)")
            s = [watermark_score(f) for f in frames_of(path)]
            scores[k] += s
            marked = sum(v >= THRESHOLD for v in s)
            totals["frames"][k] += len(s)
            totals["marked"][k] += marked
            per_frame.append(f"{marked}/{len(s)}")
        totals["files"] += 1
        frame_count = per_frame[0].split("/")[1]
        print(f"| {row[0]} | {frame_count} | " + " | ".join(row[1:]) + " | " + " | ".join(per_frame) + " |", flush=True)
    n = totals["files"]
    print(
        f"\nfiles found: as written {totals['found'][0]}/{n}, CRF 23 {totals['found'][1]}/{n}, "
        f"half {totals['found'][2]}/{n}"
    )
    for k, name in enumerate(("as written", "CRF 23", "half + CRF 23")):
        s = scores[k]
        print(
            f"frames marked {name}: {totals['marked'][k]}/{totals['frames'][k]} "
            f"({100 * totals['marked'][k] / totals['frames'][k]:.2f} %), score median {statistics.median(s):.1f}, "
            f"min {min(s):.1f} sigma"
        )


def clean() -> None:
    print("\n## 2. Real videos and photos (no marks)\n")
    scores, files, synthetic = [], 0, 0
    for video in sorted((DATA / "videos").glob("*.mp4")):
        s = [watermark_score(f) for f in frames_of(video)]
        scores += s
        report = verify(video)
        files += 1
        synthetic += report.synthetic
        print(
            f"{video.stem}: {len(s)} frames, max {max(s):.1f} sigma, verify: {report.verdict} "
            f"({report.watermark.score:.1f} sigma)",
            flush=True,
        )
    photos = [p for p in sorted((DATA / "images").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    photo_scores = [watermark_score(read_image(p)) for p in photos]
    print(
        f"\nvideo frames: {len(scores)}, scored >= {THRESHOLD}: {sum(v >= THRESHOLD for v in scores)}, "
        f"max {max(scores):.2f}, share > 3 sigma {np.mean(np.array(scores) > 3):.4f}, "
        f"mean {np.mean(scores):.2f}, sd {np.std(scores):.2f}"
    )
    print(
        f"photos: {len(photos)}, scored >= {THRESHOLD}: {sum(v >= THRESHOLD for v in photo_scores)}, "
        f"max {max(photo_scores):.2f}"
    )
    print(f"real videos called synthetic by verify: {synthetic}/{files}")


def others(per_video: int, methods: list[str]) -> None:
    print(f"\n## 3. Against invisible-watermark (same frames: {per_video} from each of 6 videos)\n")
    try:
        from imwatermark import WatermarkDecoder, WatermarkEncoder
    except ImportError:
        print("invisible-watermark is not installed: pip install invisible-watermark onnxruntime (not a dependency)")
        return
    names = ["portrait_s18", "talking_d3", "talking_d13", "multi_hamilton", "talking_obama", "faceswap_test"]
    sample = {n: frames_of(DATA / "videos" / f"{n}.mp4", step=9, limit=per_video) for n in names}
    bits = np.random.default_rng(1).integers(0, 2, 32).tolist()
    print(
        "| method | embed ms (720p) | PSNR dB | found: as marked | CRF 23 | half | half + CRF 23 | clean frames found |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method in methods:
        if method == "facetwin":
            mark = embed_watermark

            def found(f):
                return watermark_score(f) >= THRESHOLD
        else:
            encoder = WatermarkEncoder()
            encoder.set_watermark("bits", bits)
            decoder = WatermarkDecoder("bits", 32)
            if method == "rivaGan":
                try:
                    WatermarkEncoder.loadModel()
                    decoder.loadModel()
                except Exception as exc:  # onnxruntime absent
                    print(f"| rivaGan | not run: {exc} |")
                    continue

            def mark(f, encoder=encoder, method=method):
                bgr = cv2.cvtColor(f, cv2.COLOR_RGB2BGR)
                return cv2.cvtColor(encoder.encode(bgr, method), cv2.COLOR_BGR2RGB)

            def found(f, decoder=decoder, method=method):
                if f.shape[0] * f.shape[1] < 256 * 256:
                    return False  # the library refuses smaller pictures
                got = decoder.decode(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), method)
                return sum(int(a) == int(b) for a, b in zip(got, bits)) >= 29

        hits = {"marked": 0, "crf": 0, "half": 0, "both": 0, "clean": 0}
        total, times, psnrs = 0, [], []
        for name, frames in sample.items():
            marked = []
            for f in frames:
                t = time.perf_counter()
                m = mark(f)
                if f.shape[1] == 1280:
                    times.append(time.perf_counter() - t)
                psnrs.append(cv2.PSNR(f, m))
                marked.append(m)
            crf = h264_round_trip(marked)
            both = h264_round_trip([half(m) for m in marked])
            for f, m, c, b in zip(frames, marked, crf, both):
                total += 1
                hits["marked"] += found(m)
                hits["crf"] += found(c)
                hits["half"] += found(half(m))
                hits["both"] += found(b)
                hits["clean"] += found(f)
        ms = f"{1000 * statistics.median(times):.0f}" if times else "-"
        print(
            f"| {method} | {ms} | {statistics.median(psnrs):.1f} | "
            + " | ".join(f"{hits[k]}/{total}" for k in ("marked", "crf", "half", "both", "clean"))
            + " |",
            flush=True,
        )


# --- parts 4 and 5: crops, pads, flips and turns (issue 15) -----------------------------


def load_mark(path: Path | None):
    """The watermark module to measure: facetwin's, or another file with the same API
    (e.g. an older ``watermark.py`` from git history, to measure before and after)."""
    if path is None:
        import facetwin.forensics.watermark as module

        return module
    import importlib.util

    spec = importlib.util.spec_from_file_location("other_watermark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def crop(frame: np.ndarray, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.ascontiguousarray(frame[round(top * h) : h - round(bottom * h), round(left * w) : w - round(right * w)])


def grey(frame: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2))


def jpeg(frame: np.ndarray, quality: int = 75) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


#: What is done to a marked file: a change to each frame, then (unless noted) a re-encode
#: at CRF 28, as a re-upload or an editor's export would.
CASES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as written (CRF 18)": lambda f: f,
    "CRF 28": lambda f: f,
    "10 fps + CRF 28": lambda f: f,
    "greyscale + CRF 28": grey,
    "halved + CRF 28": half,
    "screenshots (JPEG 75, each frame a still)": jpeg,
    "crop 5 % each side + CRF 28": lambda f: crop(f, 0.05, 0.05, 0.05, 0.05),
    "crop 10 % each side + CRF 28": lambda f: crop(f, 0.1, 0.1, 0.1, 0.1),
    "crop right and bottom 10 % + CRF 28": lambda f: crop(f, 0, 0, 0.1, 0.1),
    "pad 16 px black + CRF 28": lambda f: cv2.copyMakeBorder(f, 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=(0, 0, 0)),
    "flip left-right + CRF 28": lambda f: np.ascontiguousarray(f[:, ::-1]),
    "flip upside down + CRF 28": lambda f: np.ascontiguousarray(f[::-1]),
    "turn 90 degrees + CRF 28": lambda f: np.ascontiguousarray(np.rot90(f, 1)),
    "turn 270 degrees + CRF 28": lambda f: np.ascontiguousarray(np.rot90(f, 3)),
}


def video_rate(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.streams.video[0].average_rate or 30)


def geometry(mark, frames_per_video: int) -> tuple[float, float]:
    """Part 4: every video of ../shared/data/videos marked, then each case of CASES."""
    videos = sorted((DATA / "videos").glob("*.mp4"))
    print(
        f"\n## 4. Crops, pads, flips and turns: the first {frames_per_video or 'all'} frames of each of "
        f"{len(videos)} videos, marked and written as facetwin's writer does (libx264 CRF 18, medium)\n"
    )
    found = {case: [0, 0, 0, 0] for case in CASES}  # files found, files, frames found, frames
    lowest: dict[str, tuple[float, str, float]] = {case: (float("inf"), "", float("inf")) for case in CASES}
    psnrs, embed_ms, score_ms = [], [], []
    for video in videos:
        fps = video_rate(video)
        source = frames_of(video, limit=frames_per_video or None)
        marked = []
        for f in source:
            t = time.perf_counter()
            m = mark.embed_watermark(f)
            if max(f.shape[:2]) == 1280:
                embed_ms.append(1000 * (time.perf_counter() - t))
            psnrs.append(cv2.PSNR(f, m))
            marked.append(m)
        written = h264_round_trip(marked, crf=18, fps=fps)
        for case, change in CASES.items():
            frames, rate = written, fps
            if case.startswith("10 fps"):
                keep = [i for i in range(len(written)) if int(i * 10 / fps) != int((i - 1) * 10 / fps) or i == 0]
                frames, rate = [written[i] for i in keep], 10.0
            frames = [change(f) for f in frames]
            if "CRF 28" in case:
                frames = h264_round_trip(frames, crf=28, fps=rate)
            reader = mark.WatermarkReader()
            scores = []
            for f in frames:
                t = time.perf_counter()
                scores.append(reader.add(f))
                if max(f.shape[:2]) == 1280:
                    score_ms.append(1000 * (time.perf_counter() - t))
            still = case.startswith("screenshots")
            # A video is read as verify reads it (the reader over its frames); screenshots
            # are single pictures, so for them the "file" is the weakest frame.
            file_score = min(scores) if still else reader.result().score
            tally = found[case]
            tally[0] += file_score >= mark.THRESHOLD
            tally[1] += 1
            tally[2] += sum(s >= mark.THRESHOLD for s in scores)
            tally[3] += len(scores)
            low_file, name, low_frame = lowest[case]
            if file_score < low_file:
                low_file, name = file_score, video.stem
            lowest[case] = (low_file, name, min(low_frame, min(scores)))
        print(
            f"  {video.stem}: {len(source)} frames of {source[0].shape[1]}x{source[0].shape[0]} done",
            file=sys.stderr,
            flush=True,
        )
    print("| case | files found | lowest file score (video) | frames found | lowest frame score |")
    print("|---|---|---|---|---|")
    weakest = float("inf")
    for case, (files_found, files, frames_found, frames) in found.items():
        low_file, name, low_frame = lowest[case]
        weakest = min(weakest, low_file)
        print(
            f"| {case} | {files_found}/{files} | {low_file:.1f} ({name}) | {frames_found}/{frames} | {low_frame:.1f} |"
        )
    print(
        f"\nPSNR marked against source: median {statistics.median(psnrs):.2f} dB, lowest {min(psnrs):.2f} dB "
        f"({len(psnrs)} frames); 1280-px frames: embed {statistics.median(embed_ms):.0f} ms, "
        f"read {statistics.median(score_ms):.0f} ms (medians)"
    )
    return weakest, statistics.median(psnrs)


def real_files(mark, frames_per_video: int) -> float:
    """Part 5: every picture and every video under ../shared/data, unmarked: none may be found."""
    images = [p for p in sorted(DATA.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    videos = sorted(DATA.rglob("*.mp4"))
    print(
        f"\n## 5. False alarms: every real file under ../shared/data ({len(images)} pictures, {len(videos)} videos; "
        f"{frames_per_video} frames spread over each video, as verify reads them)\n"
    )
    image_scores = [mark.watermark_score(read_image(p)) for p in images]
    video_scores, frame_scores = [], []
    for video in videos:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            total = stream.frames or sum(1 for _ in container.decode(stream))
        picks = set(np.linspace(0, total - 1, num=min(frames_per_video, total)).round().astype(int).tolist())
        reader = mark.WatermarkReader()
        with av.open(str(video)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index in picks:
                    frame_scores.append(reader.add(frame.to_ndarray(format="rgb24")))
                if index >= max(picks):
                    break
        video_scores.append(reader.result().score)
    print("| | files or frames | found (>= threshold) | highest score | above 3 sigma |")
    print("|---|---|---|---|---|")
    rows = (
        ("pictures", image_scores, images),
        ("videos (the reader over their frames)", video_scores, videos),
        ("video frames, each alone", frame_scores, None),
    )
    for what, scores, paths in rows:
        top = int(np.argmax(scores))
        where = f" ({paths[top].relative_to(DATA)})" if paths is not None else ""
        print(
            f"| {what} | {len(scores)} | {sum(s >= mark.THRESHOLD for s in scores)} | {scores[top]:.2f}{where} | "
            f"{sum(s > 3 for s in scores)} |"
        )
    return max(image_scores + video_scores + frame_scores)


def machine() -> str:
    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else "unknown CPU"
    )
    import os

    return f"{model}, {os.cpu_count()} cores; OpenCV {cv2.__version__}, PyAV {av.__version__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a trained model folder (for step 1)")
    parser.add_argument("--to", default="a", choices=["a", "b"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/facetwin-watermark-bench"))
    parser.add_argument("--parts", default="123")
    parser.add_argument("--per-video", type=int, default=10, help="part 3: frames from each video")
    parser.add_argument("--methods", default="facetwin,dwtDct,rivaGan", help="part 3: which marks")
    parser.add_argument("--frames", type=int, default=16, help="part 4: the first frames of each video (0: all)")
    parser.add_argument("--verify-frames", type=int, default=32, help="part 5: frames read from each real video")
    parser.add_argument("--mark", type=Path, help="parts 4-5: another watermark.py to measure (e.g. an older one)")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"needs the real data in {DATA}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    if "1" in args.parts:
        if args.model is None:
            parser.error("--model is needed for part 1")
        outputs(args.model, args.work, args.to)
    if "2" in args.parts:
        clean()
    if "3" in args.parts:
        others(args.per_video, args.methods.split(","))
    if "4" in args.parts or "5" in args.parts:
        mark = load_mark(args.mark)
        print(f"\n{machine()}; mark: {args.mark or 'facetwin.forensics.watermark'}")
        start = time.perf_counter()
        weakest = highest = None
        if "4" in args.parts:
            weakest, _ = geometry(mark, args.frames)
        if "5" in args.parts:
            highest = real_files(mark, args.verify_frames)
        if weakest is not None and highest is not None:
            print(
                f"\nlowest marked file score {weakest:.2f} against the highest unmarked score {highest:.2f} "
                f"(threshold {mark.THRESHOLD})"
            )
        print(f"parts 4-5: {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
