"""Extraction speed: facetwin.extraction against the original deepfakes approach.

    python benchmarks/extract.py                     # talking_d3.mp4, 3 repeats, all frames
    python benchmarks/extract.py --repeats 5 --video ../shared/data/videos/talking_d19.mp4
    python benchmarks/extract.py --frames 100        # original measured on the first 100 frames
    python benchmarks/extract.py --with-hog          # add facetwin with detector='hog' to the rotation
    python benchmarks/extract.py --stages            # where facetwin's time goes, stage by stage

(a) ``facetwin.extract(video, tmp)`` with the default ``ExtractConfig``: detection
    (YuNet by default) every ``redetect_every`` frames and windowed tracking in
    between, 68 landmarks, alignment, lossless PNG crops written on a thread; with
    ``OMP_WAIT_POLICY=PASSIVE``, as ``facetwin extract`` sets it.
(b) The original deepfakes extraction approach, re-created from its description:
    decode every frame, dlib's HOG frontal detector at upsample 1 on every full RGB
    frame, cut each detection's bounding box, resize it to 256x256 and save it as
    JPEG with ``cv2.imwrite``. No landmarks, no alignment.

Each run happens in a fresh child process (so peak RSS belongs to one approach only);
the two approaches alternate, and the order flips every repeat. Timing covers the
whole call, model loading included, measured with ``time.perf_counter`` inside the
child; process start and imports are not timed. Prints median frames/s of each, their
ratio, faces saved/found, CPU seconds per frame (the machine has 2 cores: facetwin's
PNG writer thread and OpenCV's DNN can use both, dlib HOG uses one) and peak RSS.

The real data lives beside the repository (``../shared/data``) and is read in place.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_VIDEO = SHARED_DATA / "videos" / "talking_d3.mp4"


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_facetwin(video: Path, out: Path, detector: str | None = None) -> dict:
    import facetwin

    config = facetwin.ExtractConfig() if detector is None else facetwin.ExtractConfig(detector=detector)
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    summary = facetwin.extract(video, out, config=config)
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    return {
        "frames": summary.frames_read,
        "faces": summary.faces_saved,
        "frames_without_face": summary.frames_without_face,
        "files": sum(1 for _ in out.glob("*.png")),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def run_original(video: Path, out: Path, max_frames: int) -> dict:
    """The original approach: full-frame HOG (upsample 1) on every frame, box crop, JPEG."""
    import cv2
    import dlib

    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    detector = dlib.get_frontal_face_detector()
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"OpenCV cannot open {video}")
    frames = faces = 0
    try:
        while max_frames <= 0 or frames < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            h, w = bgr.shape[:2]
            for k, rect in enumerate(detector(rgb, 1)):
                x0, y0 = max(0, rect.left()), max(0, rect.top())
                x1, y1 = min(w, rect.right() + 1), min(h, rect.bottom() + 1)
                if x1 <= x0 or y1 <= y0:
                    continue
                face = cv2.resize(bgr[y0:y1, x0:x1], (256, 256))
                cv2.imwrite(str(out / f"{frames:06d}_{k}.jpg"), face)
                faces += 1
            frames += 1
    finally:
        capture.release()
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    return {
        "frames": frames,
        "faces": faces,
        "files": sum(1 for _ in out.glob("*.jpg")),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }


def stage_costs(video: Path, repeats: int) -> None:
    """Where facetwin's time goes: its extraction loop run serially, each stage timed.

    Mirrors ``facetwin.extraction``'s per-frame work with the default settings (YuNet,
    redetect every 10 frames, windowed tracking, smoothing, 256 px crops, PNG level 1),
    but in one thread and without writing files, so each stage can be timed alone.
    """
    from collections import defaultdict

    from facetwin.config import ExtractConfig
    from facetwin.faces import LandmarkPredictor, create_detector
    from facetwin.faces.align import crop_from_frame, warp_to_crop
    from facetwin.faces.track import FaceTracker
    from facetwin.io.images import encode_png
    from facetwin.io.media import open_media

    cfg = ExtractConfig()
    detector = (
        create_detector(cfg.detector, score_threshold=cfg.yunet_threshold)
        if cfg.detector == "yunet"
        else create_detector("hog", upsample=cfg.hog_upsample)
    )
    window = detector if cfg.detector == "yunet" else create_detector("hog", upsample=0)
    predictor = LandmarkPredictor()
    per_run: list[dict[str, float]] = []
    for _ in range(repeats):
        spent: dict[str, float] = defaultdict(float)
        calls: dict[str, int] = defaultdict(int)

        def timed(name, fn):
            def call(*a):
                t = time.perf_counter()
                out = fn(*a)
                spent[name] += time.perf_counter() - t
                calls[name] += 1
                return out

            return call

        class _Det:
            def __init__(self, name, fn):
                self.name, self._fn = fn.name, timed(name, fn)

            def __call__(self, image):
                return self._fn(image)

        tracker = FaceTracker(
            _Det("detect, full frame", detector),
            timed("landmarks", predictor),
            redetect_every=cfg.redetect_every,
            smooth={"min_cutoff": cfg.smooth_min_cutoff, "beta": cfg.smooth_beta},
            window_detector=_Det("detect, window", window),
        )
        frames = 0
        t_all = time.perf_counter()
        with open_media(video) as source:
            it = source.frames()
            while True:
                t = time.perf_counter()
                frame = next(it, None)
                spent["decode (PyAV, rgb24)"] += time.perf_counter() - t
                if frame is None:
                    break
                frames += 1
                t = time.perf_counter()
                faces = tracker.update(frame.image, frame.time)
                spent["tracker.update (all)"] += time.perf_counter() - t
                for face in faces:
                    t = time.perf_counter()
                    crop = warp_to_crop(
                        frame.image,
                        crop_from_frame(face.landmarks, crop_size=cfg.crop_size, coverage=cfg.coverage),
                        cfg.crop_size,
                    )
                    spent["align + warp"] += time.perf_counter() - t
                    t = time.perf_counter()
                    encode_png(crop, compression=cfg.png_compression)
                    spent["PNG encode (a thread in extract)"] += time.perf_counter() - t
        spent["total (serial)"] = time.perf_counter() - t_all
        spent["tracker: rest (cut check, matching, smoothing)"] = spent["tracker.update (all)"] - sum(
            spent[k] for k in ("detect, full frame", "detect, window", "landmarks")
        )
        per_run.append({k: 1000 * v / frames for k, v in spent.items()})
        counts = dict(calls)
    print(
        f"\nstages of facetwin's default extraction, serial, {frames} frames, median of {repeats} runs "
        f"(ms per frame; calls in the last run):"
    )
    print("| stage | ms / frame | calls |\n|---|---:|---:|")
    order = [
        "decode (PyAV, rgb24)",
        "detect, full frame",
        "detect, window",
        "landmarks",
        "tracker: rest (cut check, matching, smoothing)",
        "align + warp",
        "PNG encode (a thread in extract)",
        "total (serial)",
    ]
    for name in order:
        ms = statistics.median(r[name] for r in per_run)
        print(f"| {name} | {ms:.2f} | {counts.get(name, '')} |")


def _worker(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{args.worker}-") as tmp:
        out = Path(tmp) / "faces"
        out.mkdir()
        if args.worker == "facetwin":
            result = run_facetwin(args.video, out)
        elif args.worker == "facetwin-hog":
            result = run_facetwin(args.video, out, detector="hog")
        else:
            result = run_original(args.video, out, args.frames)
    result["peak_rss_mib"] = _peak_rss_mib()
    print("RESULT " + json.dumps(result), flush=True)


def _spawn(kind: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--video",
        str(args.video),
        "--frames",
        str(args.frames),
    ]
    env = dict(os.environ)
    if kind.startswith("facetwin"):
        # As `facetwin extract` runs it: the command line sets this before torch loads
        # (OpenMP's threads wait passively instead of spinning on the decoder's core).
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{kind} run failed (exit {proc.returncode})")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"{kind} run printed no result:\n{proc.stdout}{proc.stderr}")


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to extract (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each approach (default: %(default)s)")
    parser.add_argument(
        "--frames", type=int, default=0, help="measure the original on the first N frames only (default: all)"
    )
    parser.add_argument(
        "--with-hog", action="store_true", help="also run facetwin with ExtractConfig(detector='hog') in the rotation"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="instead: time each stage of facetwin's extraction loop (serial, in-process)",
    )
    parser.add_argument("--worker", choices=["facetwin", "facetwin-hog", "original"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.video = args.video.resolve()
    if not args.video.is_file():
        hint = (
            f" (the real data is expected at {SHARED_DATA}; it exists only on development machines)"
            if args.video == DEFAULT_VIDEO.resolve()
            else ""
        )
        raise SystemExit(f"video not found: {args.video}{hint}; choose one with --video")
    if args.worker:
        _worker(args)
        return
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    if args.stages:
        print(f"video: {args.video}; cores: {os.cpu_count()}")
        stage_costs(args.video, args.repeats)
        return

    print(f"video: {args.video}")
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, repeats: {args.repeats}")
    if args.frames > 0:
        print(f"NOTE: the original is measured on the first {args.frames} frames only; facetwin on all")
    kinds = ["facetwin", "original"] + (["facetwin-hog"] if args.with_hog else [])
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    started = time.perf_counter()
    for rep in range(args.repeats):
        shift = rep % len(kinds)  # rotate the order so no approach always runs first
        for kind in kinds[shift:] + kinds[:shift]:
            r = _spawn(kind, args)
            r["fps"] = r["frames"] / r["seconds"]
            runs[kind].append(r)
            print(
                f"  repeat {rep + 1} {kind:12s} {r['frames']:4d} frames {r['seconds']:7.2f} s "
                f"{r['fps']:7.2f} fps  faces {r['faces']:4d}  cpu {r['cpu_seconds']:6.2f} s  "
                f"peak RSS {r['peak_rss_mib']:.0f} MiB",
                flush=True,
            )

    ft, og = runs["facetwin"], runs["original"]
    ft_fps, og_fps = _median(ft, "fps"), _median(og, "fps")
    # Ratio per repeat (runs side by side), then the median of those ratios.
    ratios = [a["fps"] / b["fps"] for a, b in zip(ft, og)]
    print()
    print("| approach | frames | median fps | fps per run | CPU ms/frame | faces | peak RSS MiB |")
    print("|---|---:|---:|---|---:|---:|---:|")
    rows = [("facetwin.extraction (default ExtractConfig)", ft), ("original (HOG up1 every frame, JPEG)", og)]
    if args.with_hog:
        rows.append(("facetwin.extraction (detector='hog')", runs["facetwin-hog"]))
    for name, rs in rows:
        fps_list = ", ".join(f"{r['fps']:.1f}" for r in rs)
        cpu_ms = statistics.median(1000 * r["cpu_seconds"] / r["frames"] for r in rs)
        print(
            f"| {name} | {rs[0]['frames']} | {_median(rs, 'fps'):.2f} | {fps_list} | {cpu_ms:.1f} | "
            f"{rs[0]['faces']} | {max(r['peak_rss_mib'] for r in rs):.0f} |"
        )
    print()
    print(
        f"ratio facetwin/original: {ft_fps / og_fps:.1f}x (of medians); per repeat: "
        + ", ".join(f"{x:.1f}x" for x in ratios)
        + f"; median {statistics.median(ratios):.1f}x"
    )
    if args.with_hog:
        fh = runs["facetwin-hog"]
        hog_ratios = [a["fps"] / b["fps"] for a, b in zip(fh, og)]
        yh = [a["fps"] / b["fps"] for a, b in zip(ft, fh)]
        print(
            f"ratio facetwin(hog)/original: median {statistics.median(hog_ratios):.1f}x; "
            f"facetwin default/facetwin(hog): median {statistics.median(yh):.2f}x; "
            f"facetwin(hog) saved {fh[0]['faces']} faces"
        )
    verdict = "meets" if statistics.median(ratios) >= 5 else "DOES NOT meet"
    print(f"requirement facetwin >= 5x faster: {verdict} it")
    print(
        f"faces: facetwin saved {ft[0]['faces']} faces from {ft[0]['frames']} frames "
        f"({ft[0]['frames_without_face']} frames without a face); original found and saved "
        f"{og[0]['faces']} faces in {og[0]['frames']} frames"
    )
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
