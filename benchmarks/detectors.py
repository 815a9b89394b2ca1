"""Which face detector should extraction use by default? Recall and speed, measured.

    python benchmarks/detectors.py                    # recall/FP/speed table, landmark cost
    python benchmarks/detectors.py --repeats 5
    python benchmarks/detectors.py --build-truth      # re-pool candidate faces, write a contact sheet

Data: every image in ``../shared/data/images`` (59 photos, 240 to 2464 px, some with
several faces), read in place.

Ground truth (``benchmarks/detectors_truth.json``, boxes only, no pixels) was built
with ``--build-truth``: the faces found by any detector configuration at its most
sensitive (dlib HOG at upsample 0, 1 and 2 -- 2 only on images up to 1500 px --, and
YuNet at its default and at score 0.5 with ``max_side`` 1280) were pooled, merged by
IoU > 0.3 (element-wise median box, dlib framing), drawn as a labelled contact sheet
and checked by eye; false positives were removed. Faces that no configuration found
are missing from it, so recall here is relative to the pool.

Measured per configuration: recall (ground-truth faces matched at IoU > 0.3),
false positives per image (detections matching no true face, duplicates included),
median IoU of the matched boxes with the ground truth (how well boxes are framed),
median and mean milliseconds per image (each image timed ``--repeats`` times, median
per image; configurations alternate on each image and their order rotates), and
milliseconds per 512x512 video frame (frames of talking_d3.mp4). Then the cost of the
68-point landmark predictor and of the identity vector per face.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TRUTH = Path(__file__).resolve().parent / "detectors_truth.json"
MATCH_IOU = 0.3
HOG_UP2_MAX_SIDE = 1500


def _need(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"real data not found: {path} is absent (it exists only on development machines)")
    return path


def load_images(folder: Path) -> dict[str, np.ndarray]:
    from facetwin.io.images import IMAGE_SUFFIXES, read_image

    files = sorted(p for p in _need(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return {p.name: read_image(p) for p in files}


def configurations(sensitive: bool = False) -> dict[str, object]:
    from facetwin.faces import create_detector

    configs = {
        "hog up0": create_detector("hog", upsample=0),
        "hog up1": create_detector("hog", upsample=1),
        "yunet (0.6, 640)": create_detector("yunet"),
        "yunet (0.5, 1280)": create_detector("yunet", score_threshold=0.5, max_side=1280),
    }
    if sensitive:
        configs["hog up2"] = create_detector("hog", upsample=2)
    return configs


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from facetwin.faces.track import box_iou as iou

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    return iou(a, b)


def match(truth: np.ndarray, found: np.ndarray, ious: list[float] | None = None) -> tuple[int, int]:
    """(true faces matched, false positives): greedy one-to-one matching by IoU.

    The IoU of each match is appended to ``ious`` when given.
    """
    iou = box_iou(truth, found)
    hit = 0
    used_t, used_f = set(), set()
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] <= MATCH_IOU:
            break
        if i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        hit += 1
        if ious is not None:
            ious.append(float(iou[i, j]))
    return hit, len(found) - hit


# --- ground truth -----------------------------------------------------------------


def build_truth(images: dict[str, np.ndarray], out_dir: Path) -> None:
    """Pool every configuration's faces, merge, and draw them for checking by eye."""
    configs = configurations(sensitive=True)
    candidates = []
    for name, image in images.items():
        found: list[tuple[str, np.ndarray]] = []
        for cname, det in configs.items():
            if cname == "hog up2" and max(image.shape[:2]) > HOG_UP2_MAX_SIDE:
                continue
            t = time.perf_counter()
            d = det(image)
            print(f"  {name:28s} {cname:18s} {len(d)} faces {1000 * (time.perf_counter() - t):7.0f} ms", flush=True)
            found += [(cname, b) for b in d.boxes]
        # Merge by IoU > 0.3 (single linkage).
        clusters: list[list[tuple[str, np.ndarray]]] = []
        for cname, box in found:
            joined = [c for c in clusters if box_iou(box[None], np.stack([b for _, b in c])).max() > MATCH_IOU]
            merged = [(cname, box)] + [m for c in joined for m in c]
            clusters = [c for c in clusters if all(c is not j for j in joined)] + [merged]
        for c in clusters:
            box = np.median(np.stack([b for _, b in c]), axis=0)
            candidates.append(
                {
                    "id": len(candidates),
                    "image": name,
                    "box": [round(float(v), 1) for v in box],
                    "found_by": sorted({n for n, _ in c}),
                }
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    cand_path = out_dir / "detector_truth_candidates.json"
    cand_path.write_text(json.dumps(candidates, indent=1))
    sheet = out_dir / "detector_truth_sheet.png"
    _contact_sheet(images, candidates, sheet)
    overview = out_dir / "detector_truth_overview.png"
    _overview_sheet(images, candidates, overview)
    print(f"{len(candidates)} pooled faces in {len(images)} images")
    print(f"candidates: {cand_path}\ncontact sheet: {sheet}\noverview (whole images, boxes drawn): {overview}")
    print(f"check them by eye, then record the true faces in {TRUTH}")


_SHORT = {"hog up0": "h0", "hog up1": "h1", "hog up2": "h2", "yunet (0.6, 640)": "y", "yunet (0.5, 1280)": "y5"}


def _contact_sheet(images: dict[str, np.ndarray], candidates: list[dict], path: Path) -> None:
    thumb, label_h, cols = 128, 30, 12
    rows = (len(candidates) + cols - 1) // cols
    sheet = np.full((rows * (thumb + label_h), cols * thumb, 3), 255, np.uint8)
    for k, c in enumerate(candidates):
        image = images[c["image"]]
        x0, y0, x1, y1 = c["box"]
        # Show a margin around the box so context tells a face from a pattern.
        m = 0.25 * max(x1 - x0, y1 - y0)
        h, w = image.shape[:2]
        xa, ya, xb, yb = (int(max(0, x0 - m)), int(max(0, y0 - m)), int(min(w, x1 + m)), int(min(h, y1 + m)))
        crop = image[ya:yb, xa:xb].copy()
        cv2.rectangle(
            crop, (int(x0 - xa), int(y0 - ya)), (int(x1 - xa), int(y1 - ya)), (255, 0, 0), max(1, crop.shape[1] // 100)
        )
        s = thumb / max(crop.shape[:2])
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))))
        r, col = divmod(k, cols)
        oy, ox = r * (thumb + label_h), col * thumb
        sheet[oy : oy + crop.shape[0], ox : ox + crop.shape[1]] = crop
        stem = c["image"].rsplit(".", 1)[0].replace("wild_0000", "w").replace("portrait_", "p")
        by = ",".join(_SHORT[n] for n in c["found_by"])
        cv2.putText(
            sheet, f"#{c['id']} {stem}", (ox + 2, oy + thumb + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1
        )
        cv2.putText(
            sheet, f"{by} {int(x1 - x0)}px", (ox + 2, oy + thumb + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 160), 1
        )
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def _overview_sheet(images: dict[str, np.ndarray], candidates: list[dict], path: Path) -> None:
    """Every whole image with the pooled boxes drawn, to spot faces no detector found."""
    tile, cols = 320, 6
    names = list(images)
    rows = (len(names) + cols - 1) // cols
    sheet = np.full((rows * (tile + 14), cols * tile, 3), 255, np.uint8)
    for k, name in enumerate(names):
        image = images[name].copy()
        lw = max(2, max(image.shape[:2]) // 200)
        for c in candidates:
            if c["image"] == name:
                x0, y0, x1, y1 = (int(v) for v in c["box"])
                cv2.rectangle(image, (x0, y0), (x1, y1), (255, 0, 0), lw)
                cv2.putText(
                    image, str(c["id"]), (x0, max(0, y0 - lw)), cv2.FONT_HERSHEY_SIMPLEX, lw / 3, (255, 255, 0), lw
                )
        s = tile / max(image.shape[:2])
        image = cv2.resize(
            image, (max(1, round(image.shape[1] * s)), max(1, round(image.shape[0] * s))), interpolation=cv2.INTER_AREA
        )
        r, col = divmod(k, cols)
        oy, ox = r * (tile + 14), col * tile
        sheet[oy : oy + image.shape[0], ox : ox + image.shape[1]] = image
        cv2.putText(sheet, name, (ox + 2, oy + tile + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def load_truth(images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if not TRUTH.is_file():
        raise SystemExit(f"{TRUTH} is missing: build it with --build-truth and check it by eye")
    doc = json.loads(TRUTH.read_text())
    truth = {name: np.array(boxes, np.float64).reshape(-1, 4) for name, boxes in doc["images"].items()}
    missing = sorted(set(images) - set(truth))
    if missing:
        raise SystemExit(f"{TRUTH} has no entry for {missing}: rebuild it")
    return truth


# --- measurement ------------------------------------------------------------------


def _timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def measure(
    images: dict[str, np.ndarray], truth: dict[str, np.ndarray], frames: list[np.ndarray], repeats: int
) -> None:
    configs = configurations()
    names = list(configs)
    per_image: dict[str, list[float]] = {n: [] for n in names}
    hits = {n: 0 for n in names}
    fps_ = {n: 0 for n in names}
    small_hits = {n: 0 for n in names}
    match_iou: dict[str, list[float]] = {n: [] for n in names}
    n_true = sum(len(b) for b in truth.values())
    widths = np.concatenate([b[:, 2] - b[:, 0] for b in truth.values()])
    small = 80  # dlib HOG's smallest face at upsample 0 is about 80 px
    n_small = int((widths < small).sum())
    for det in configs.values():  # warm up (model load, first-call allocations)
        det(frames[0])
    for k, (name, image) in enumerate(images.items()):
        times = {n: [] for n in names}
        result = {}
        for r in range(repeats):
            shift = (k + r) % len(names)
            for n in names[shift:] + names[:shift]:
                dt, result[n] = _timed(configs[n], image)
                times[n].append(dt)
        for n in names:
            per_image[n].append(statistics.median(times[n]))
            h, fp = match(truth[name], result[n].boxes, match_iou[n])
            hits[n] += h
            fps_[n] += fp
            t = truth[name]
            if len(t):
                is_small = (t[:, 2] - t[:, 0]) < small
                h_small, _ = match(t[is_small], result[n].boxes)
                small_hits[n] += h_small
        print(f"  {k + 1:2d}/{len(images)} {name}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    frame_ms = {n: [] for n in names}
    for k, frame in enumerate(frames):
        for r in range(repeats):
            shift = (k + r) % len(names)
            for n in names[shift:] + names[:shift]:
                dt, _ = _timed(configs[n], frame)
                frame_ms[n].append(dt)

    print(
        f"\n{len(images)} images, {n_true} verified faces ({n_small} narrower than {small} px); "
        f"{repeats} repeats; {len(frames)} frames of 512x512 video; cv2 threads {cv2.getNumThreads()}\n"
    )
    print(
        "| detector | recall | recall < 80 px | false pos. / image | median IoU | median ms / image "
        "| mean ms / image | ms / 512x512 frame |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in names:
        rs = f"{small_hits[n]}/{n_small}" if n_small else "-"
        print(
            f"| {n} | {hits[n] / n_true:.3f} ({hits[n]}/{n_true}) | {rs} | {fps_[n] / len(images):.3f} "
            f"({fps_[n]}) | {statistics.median(match_iou[n]):.2f} | {1000 * statistics.median(per_image[n]):.1f} | "
            f"{1000 * statistics.mean(per_image[n]):.1f} | {1000 * statistics.median(frame_ms[n]):.1f} |"
        )
    ref = "hog up1"
    print("\nspeed ratios against hog up1 (median ms per image, same run):")
    for n in names:
        if n != ref:
            ratio = statistics.median(per_image[ref]) / statistics.median(per_image[n])
            fr = statistics.median(frame_ms[ref]) / statistics.median(frame_ms[n])
            print(f"  {n}: {ratio:.1f}x faster per image, {fr:.1f}x per 512x512 frame")

    _per_face_costs(images, truth, repeats)


def _per_face_costs(images: dict[str, np.ndarray], truth: dict[str, np.ndarray], repeats: int) -> None:
    from facetwin.faces import IdentityEncoder, LandmarkPredictor

    predictor = LandmarkPredictor()
    faces = [(images[n], b) for n, boxes in truth.items() for b in boxes]
    predictor(*faces[0])
    lm = []
    for _ in range(repeats):
        for image, box in faces:
            dt, _ = _timed(predictor, image, box)
            lm.append(dt)
    print(
        f"\nlandmarks (LandmarkPredictor, 68 points): median {1000 * statistics.median(lm):.2f} ms per face, "
        f"mean {1000 * statistics.mean(lm):.2f} ms ({len(faces)} faces x {repeats})"
    )
    encoder = IdentityEncoder()
    few = faces[:: max(1, len(faces) // 8)][:8]
    marks = [predictor(image, box) for image, box in few]
    encoder(few[0][0], marks[0])
    ident = [_timed(encoder, image, m)[0] for (image, _), m in zip(few, marks)]
    print(
        f"identity vector (IdentityEncoder): median {1000 * statistics.median(ident):.0f} ms per face "
        f"({len(few)} faces)"
    )


def video_frames(path: Path, count: int) -> list[np.ndarray]:
    from facetwin.io.media import open_media

    frames = []
    with open_media(_need(path)) as source:
        for frame in source.frames():
            frames.append(frame.image)
            if len(frames) >= count:
                break
    return frames


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, default=SHARED_DATA / "images")
    parser.add_argument(
        "--video",
        type=Path,
        default=SHARED_DATA / "videos" / "talking_d3.mp4",
        help="512x512 video for the per-frame cost",
    )
    parser.add_argument("--frames", type=int, default=30, help="video frames timed (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per image and detector (default: %(default)s)")
    parser.add_argument("--cv-threads", type=int, default=None, help="cv2.setNumThreads (default: OpenCV's own)")
    parser.add_argument("--build-truth", action="store_true", help="pool candidates and draw the contact sheets")
    parser.add_argument("--sheet-dir", type=Path, default=Path("/tmp"), help="where --build-truth writes")
    args = parser.parse_args(argv)
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    print(f"cores: {os.cpu_count()}, OpenCV {cv2.__version__}")
    images = load_images(args.images)
    if args.build_truth:
        build_truth(images, args.sheet_dir)
        return
    truth = load_truth(images)
    measure(images, truth, video_frames(args.video, args.frames), args.repeats)


if __name__ == "__main__":
    main()
