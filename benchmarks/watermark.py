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

    python benchmarks/watermark.py --model /path/to/model_dir [--work /tmp/wm] [--to a]

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
from pathlib import Path

import av
import cv2
import numpy as np

from facetwin.config import ConvertConfig
from facetwin.convert import convert
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
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *scale, "-c:v", "libx264", "-crf", "23",
                        "-preset", "medium", "-pix_fmt", "yuv420p", "-c:a", "copy", str(dst)], check=True)
        return
    frames = frames_of(src)
    if half:
        frames = [cv2.resize(f, (f.shape[1] // 4 * 2, f.shape[0] // 4 * 2), interpolation=cv2.INTER_AREA) for f in frames]
    encode(frames, dst, crf=23)


def encode(frames: list[np.ndarray], dst: Path | io.BytesIO, *, crf: int) -> None:
    with av.open(dst, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = frames[0].shape[1] // 2 * 2, frames[0].shape[0] // 2 * 2
        stream.pix_fmt, stream.options = "yuv420p", {"crf": str(crf), "preset": "medium"}
        for f in frames:
            img = np.ascontiguousarray(f[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def h264_round_trip(frames: list[np.ndarray], crf: int = 23) -> list[np.ndarray]:
    buffer = io.BytesIO()
    encode(frames, buffer, crf=crf)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def half(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)


def outputs(model: Path, work: Path, to: str) -> None:
    print("## 1. facetwin outputs (convert with marks), then ffmpeg CRF 23, then halved + CRF 23\n")
    print("| video | frames | verify: as written | CRF 23 | half + CRF 23 | frames marked: as written | CRF 23 | half |")
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
    print(f"\nfiles found: as written {totals['found'][0]}/{n}, CRF 23 {totals['found'][1]}/{n}, "
          f"half {totals['found'][2]}/{n}")
    for k, name in enumerate(("as written", "CRF 23", "half + CRF 23")):
        s = scores[k]
        print(f"frames marked {name}: {totals['marked'][k]}/{totals['frames'][k]} "
              f"({100 * totals['marked'][k] / totals['frames'][k]:.2f} %), score median {statistics.median(s):.1f}, "
              f"min {min(s):.1f} sigma")


def clean() -> None:
    print("\n## 2. Real videos and photos (no marks)\n")
    scores, files, synthetic = [], 0, 0
    for video in sorted((DATA / "videos").glob("*.mp4")):
        s = [watermark_score(f) for f in frames_of(video)]
        scores += s
        report = verify(video)
        files += 1
        synthetic += report.synthetic
        print(f"{video.stem}: {len(s)} frames, max {max(s):.1f} sigma, verify: {report.verdict} "
              f"({report.watermark.score:.1f} sigma)", flush=True)
    photos = [p for p in sorted((DATA / "images").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    photo_scores = [watermark_score(read_image(p)) for p in photos]
    print(f"\nvideo frames: {len(scores)}, scored >= {THRESHOLD}: {sum(v >= THRESHOLD for v in scores)}, "
          f"max {max(scores):.2f}, share > 3 sigma {np.mean(np.array(scores) > 3):.4f}, "
          f"mean {np.mean(scores):.2f}, sd {np.std(scores):.2f}")
    print(f"photos: {len(photos)}, scored >= {THRESHOLD}: {sum(v >= THRESHOLD for v in photo_scores)}, "
          f"max {max(photo_scores):.2f}")
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
    print("| method | embed ms (720p) | PSNR dB | found: as marked | CRF 23 | half | half + CRF 23 | clean frames found |")
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
        print(f"| {method} | {ms} | {statistics.median(psnrs):.1f} | "
              + " | ".join(f"{hits[k]}/{total}" for k in ("marked", "crf", "half", "both", "clean")) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a trained model folder (for step 1)")
    parser.add_argument("--to", default="a", choices=["a", "b"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/facetwin-watermark-bench"))
    parser.add_argument("--parts", default="123")
    parser.add_argument("--per-video", type=int, default=10, help="part 3: frames from each video")
    parser.add_argument("--methods", default="facetwin,dwtDct,rivaGan", help="part 3: which marks")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
