"""Does a detector trained on a facetwin dataset learn the swap, or facetwin's mark? (issue 16)

One dataset written by ``facetwin dataset`` (format 2: originals and fakes carry the
same watermark) is read two ways:

- **after**: as written.
- **before**: as dataset format 1 wrote it: the fakes as they are, the originals without
  the mark (c0 the source video itself, the lossy levels re-encoded from it with the
  fakes' encoder and settings, no watermark, no provenance). Built under ``--work`` with
  hard links; the dataset itself is not touched.

And a control, **mark-only**: each "fake" is its target's real video with the mark (the
dataset's marked original), each real the same video without it, so the mark is the only
difference a detector could learn (train it on a lossy level: format 1's lossless
original was the source file itself, another codec).

For each, the baseline detector (``facetwin detect train``, from scratch, on the lossless
level unless ``--train-levels``) is trained and tested (``facetwin detect eval``) with
the shortcut probe, on the dataset's own split and, with ``--folds``, once for every
group of pairs that share videos as the test set (the next group as validation, the rest
for training): with few pairs one split's test set is one or two videos. Before that,
the dataset's own checks (``check_pair``: frame counts, mask against changed pixels,
|fake - original| away from the swap, the container cues) and its time per pair.

    python benchmarks/detector.py --dataset DATASET --work WORK [--folds] [--steps 600]

Prints the tables of docs/BENCHMARKS.md ("A dataset without a shortcut"); every report
is kept as JSON under WORK (reruns reuse what is there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from facetwin.config import DetectConfig
from facetwin.dataset import check_pair
from facetwin.detection.data import open_dataset
from facetwin.detection.evaluation import evaluate_detector, write_detect_report
from facetwin.detection.splits import _video_groups, dataset_splits
from facetwin.detection.trainer import train_detector


def link_tree(src: Path, dst: Path) -> None:
    """Hard links of every file under ``src`` (copies across filesystems)."""
    for path in sorted(src.rglob("*")):
        if path.is_dir():
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            continue
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)


def unmarked_originals(dataset: Path, store: Path) -> Path:
    """The originals as format 1 wrote them: lossy levels re-encoded with no mark."""
    from facetwin.io.media import open_media
    from facetwin.io.writers import VideoWriter

    manifest = json.loads((dataset / "manifest.json").read_text())
    settings = manifest["settings"]
    if settings.get("variants"):
        raise SystemExit("variants are not rebuilt here: use a dataset without --variant")
    preset = settings.get("convert", {}).get("preset", "medium")
    targets = sorted({entry["target"] for entry in manifest["pairs"].values()})
    for name in targets:
        video = dataset / "original" / name
        for level, crf in settings["ladder"].items():
            if crf == 0:
                continue  # format 1's lossless original was the source file itself
            out = store / level / name
            if out.exists():
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.part.mp4")
            with open_media(video) as source, VideoWriter(tmp, like=source, crf=crf, preset=preset) as writer:
                for frame in source.frames():
                    writer.write(frame.image, time=frame.time)
            os.replace(tmp, out)
    return store


def make_view(dataset: Path, view: Path, *, design: str, unmarked: Path | None) -> Path:
    """A dataset folder of links: the dataset read as ``design`` (its splits set per run)."""
    if (view / "manifest.json").exists():
        return view
    manifest = json.loads((dataset / "manifest.json").read_text())
    for part in ("manipulated", "masks", "labels"):
        link_tree(dataset / part, view / part)
    for path in (dataset / "original").glob("*.mp4"):
        link_tree_file(path, view / "original" / path.name)
    if design == "after":
        for level in manifest["settings"]["ladder"]:
            if (dataset / "original" / level).is_dir():
                link_tree(dataset / "original" / level, view / "original" / level)
    else:
        link_tree(unmarked, view / "original")
        manifest["version"] = 1  # originals without the mark: the probe adds it to them
    if design == "mark-only":
        # The control: each "fake" is its target's real video with the mark (the dataset's
        # marked original), each real the same video without it. Can the detector learn the
        # mark when it is the only difference? (Lossy levels only: format 1's lossless
        # original was the source file, another codec.)
        for name, entry in manifest["pairs"].items():
            for level, crf in manifest["settings"]["ladder"].items():
                fake = view / "manipulated" / "facetwin" / level / f"{name}.mp4"
                fake.unlink(missing_ok=True)
                link_tree_file(dataset / "original" / level / entry["target"], fake)
    (view / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return view


def set_splits(view: Path, splits: dict[str, list[str]] | None, dataset: Path) -> None:
    """The view's manifest with one run's splits (None: the dataset's own)."""
    manifest = json.loads((view / "manifest.json").read_text())
    own = json.loads((dataset / "manifest.json").read_text())["splits"]
    manifest["splits"] = own if splits is None else {**splits, "by": "video", "fold": True}
    tmp = view / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, view / "manifest.json")


def link_tree_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)


def folds(dataset: Path) -> list[dict[str, list[str]]]:
    """Every group of pairs sharing videos as the test set once, the next as validation."""
    pairs = open_dataset(dataset).pairs
    groups = sorted(_video_groups(pairs))
    out = []
    for i, test in enumerate(groups):
        val = groups[(i + 1) % len(groups)]
        train = [p for g in groups if g is not test and g is not val for p in g]
        out.append({"train": sorted(train), "val": val, "test": test})
    return out


def run_detector(view: Path, work: Path, name: str, config: DetectConfig, crops: Path) -> dict[str, Any]:
    report_path = work / "reports" / f"{name}.json"
    if report_path.exists():
        return json.loads(report_path.read_text())
    detector = work / "detectors" / name
    # Every run on one view cuts the same crops: they are cut once (the cache is keyed by
    # the videos, labels and crop settings, not by the splits).
    detector.mkdir(parents=True, exist_ok=True)
    crops.mkdir(parents=True, exist_ok=True)
    if not (detector / "crops").exists():
        (detector / "crops").symlink_to(crops, target_is_directory=True)
    started = time.perf_counter(), time.process_time()
    summary = train_detector(view, detector, config=config, resume=(detector / "state.json").exists(), device="cpu")
    trained = time.perf_counter() - started[0], time.process_time() - started[1]
    started = time.perf_counter(), time.process_time()
    report = evaluate_detector(detector, view, probe=True, frames_per_video=config.frames_per_video, device="cpu")
    tested = time.perf_counter() - started[0], time.process_time() - started[1]
    report["benchmark"] = {
        "train_wall_s": round(trained[0], 1),
        "train_cpu_s": round(trained[1], 1),
        "eval_wall_s": round(tested[0], 1),
        "eval_cpu_s": round(tested[1], 1),
        "steps": summary.step,
        "val": summary.validation,
        "crops": summary.crops,
        "split": summary.split,
    }
    write_detect_report(report, report_path)
    print(
        f"  {name}: trained {summary.step} steps in {trained[0]:.0f} s (CPU {trained[1]:.0f} s), tested in "
        f"{tested[0]:.0f} s, test frame AUC {report['all']['frames']['auc']:.3f}",
        flush=True,
    )
    return report


def mean(values: list[float | None]) -> str:
    kept = [v for v in values if v is not None]
    if not kept:
        return "-"
    if len(kept) == 1:
        return f"{kept[0]:.3f}"
    return f"{statistics.mean(kept):.3f} ± {statistics.stdev(kept):.3f}"


def print_checks(dataset: Path) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    print(
        "\n| pair | seconds | frames (labels / every video) | fake frames | mask IoU (median) | "
        "changed pixels inside mask | |fake - original| away from the swap: mean / p99 / max | container cues |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, entry in manifest["pairs"].items():
        if entry.get("status") != "done":
            continue
        c = check_pair(dataset, name)
        far = c["outside_mask"] or {}
        cues = c["cues"]
        differ = sorted({d for v in cues.values() for d in v["differ"]})
        ratios = ", ".join(f"{lvl} {v['size_ratio']}" for lvl, v in cues.items())
        counts = sorted(set(c["video_frames"].values()))
        print(
            f"| {entry['target']} <- {entry['source']} | {entry.get('seconds', 0):.0f} | "
            f"{c['frames_labelled']} / {','.join(map(str, counts))} | {c['fake_frames']} | "
            f"{c['mask_iou_median']:.3f} | {c['changed_inside_mask']:.4f} | "
            f"{far.get('mean', 0):.3f} / {far.get('p99', 0):.0f} / {far.get('max', 0)} | "
            f"{'same' if not differ else 'differ: ' + ', '.join(differ)}; bytes fake/original {ratios} |"
        )


def print_tables(reports: dict[str, list[dict[str, Any]]]) -> None:
    levels = list(next(iter(reports.values()))[0]["levels"])
    print("\nDetection on the test pairs (frame AUC; video AUC), mean ± sd over folds")
    print("| design | trained on | " + " | ".join(f"{lvl} frames | {lvl} videos" for lvl in levels) + " |")
    print("|---|---|" + "---|---|" * len(levels))
    for design, runs in reports.items():
        cells = []
        for lvl in levels:
            cells.append(mean([r["levels"][lvl]["frames"]["auc"] for r in runs]))
            cells.append(mean([r["levels"][lvl]["videos"]["auc"] for r in runs]))
        print(f"| {design} | {runs[0]['cross_level']['trained_on']} | " + " | ".join(cells) + " |")
    print(
        "\nShortcut probe (the same test crops with the mark changed): AUC changed vs as they are "
        "(0.5: the mark moves no score), share of decisions changed, mean P(fake) before -> after"
    )
    print(
        "| design | level | real: mark | real AUC | real decisions changed | real P(fake) | "
        "fake: mark | fake AUC | fake decisions changed | fake P(fake) | watermark sigma real -> changed, fake -> changed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for design, runs in reports.items():
        for lvl in levels:
            probes = [r["probe"]["levels"][lvl] for r in runs]
            real_mark = probes[0]["real_changed"]["mark"]
            print(
                f"| {design} | {lvl} | {real_mark} | {mean([p['auc_real_changed'] for p in probes])} | "
                f"{mean([p['decisions_changed_real'] for p in probes])} | "
                f"{mean([p['real']['mean_score'] for p in probes])} -> "
                f"{mean([p['real_changed']['mean_score'] for p in probes])} | "
                f"{probes[0]['fake_changed']['mark']} | {mean([p['auc_fake_changed'] for p in probes])} | "
                f"{mean([p['decisions_changed_fake'] for p in probes])} | "
                f"{mean([p['fake']['mean_score'] for p in probes])} -> "
                f"{mean([p['fake_changed']['mean_score'] for p in probes])} | "
                f"{mean([p['watermark']['real'] for p in probes])} -> "
                f"{mean([p['watermark']['real_changed'] for p in probes])}, "
                f"{mean([p['watermark']['fake'] for p in probes])} -> "
                f"{mean([p['watermark']['fake_changed'] for p in probes])} |"
            )
    print("\nEach run: the test pairs, frame AUC per level, the largest share of decisions the mark changed")
    print("| design | test pairs | " + " | ".join(levels) + " | decisions changed (max) | train s (CPU s) |")
    print("|---|---|" + "---|" * len(levels) + "---|---|")
    for design, runs in reports.items():
        for r in runs:
            aucs = " | ".join(f"{r['levels'][lvl]['frames']['auc']:.3f}" for lvl in levels)
            bench = r.get("benchmark", {})
            print(
                f"| {design} | {', '.join(r['split']['pairs'])} | {aucs} | "
                f"{r['probe']['decisions_changed_max']:.3f} | {bench.get('train_wall_s')} ({bench.get('train_cpu_s')}) |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, required=True, help="a folder written by facetwin dataset (format 2)")
    parser.add_argument("--work", type=Path, required=True, help="views, detectors and reports go here")
    parser.add_argument(
        "--folds",
        type=int,
        nargs="?",
        const=0,
        default=None,
        metavar="N",
        help="each group of pairs as the test set once (the first N groups; all without N)",
    )
    parser.add_argument("--report-only", action="store_true", help="print the tables of the runs already done")
    parser.add_argument("--steps", type=int, default=DetectConfig.steps, help="detector training steps")
    parser.add_argument("--frames", type=int, default=None, help="at most this many frames a video")
    parser.add_argument("--crop-size", type=int, default=DetectConfig.crop_size, help="detector crop side, px")
    parser.add_argument("--batch-size", type=int, default=DetectConfig.batch_size, help="crops per step")
    parser.add_argument("--train-levels", nargs="*", default=[], help="levels to train on (default: lossless)")
    parser.add_argument(
        "--designs",
        nargs="*",
        default=["before", "after"],
        choices=["before", "after", "mark-only"],
        help="mark-only: the control where the mark is the only difference (train on c23)",
    )
    parser.add_argument("--no-checks", action="store_true", help="skip the dataset's own checks")
    args = parser.parse_args()
    dataset, work = args.dataset.resolve(), args.work.resolve()
    if json.loads((dataset / "manifest.json").read_text()).get("version") != 2:
        raise SystemExit(f"{dataset}: a dataset of format 2 is needed (marked originals)")
    if not args.no_checks:
        print_checks(dataset)
    config = DetectConfig(
        steps=args.steps,
        frames_per_video=args.frames,
        train_levels=tuple(args.train_levels),
        crop_size=args.crop_size,
        batch_size=args.batch_size,
    )
    tag = ("+".join(args.train_levels) or "lossless") + (
        "" if args.crop_size == DetectConfig.crop_size else f"_{args.crop_size}px"
    )
    unmarked = unmarked_originals(dataset, work / "unmarked") if {"before", "mark-only"} & set(args.designs) else None
    print(f"detector: {config.steps} steps on {tag}, frames per video {config.frames_per_video or 'all'}")
    runs = [None] if args.folds is None else folds(dataset)[: args.folds or None]
    print(f"\n{len(runs)} split(s); splits of the dataset itself: {dict(dataset_splits(dataset))}", flush=True)
    reports: dict[str, list[dict[str, Any]]] = {}
    for design in args.designs:
        view = make_view(dataset, work / "views" / design, design=design, unmarked=unmarked)
        for i, split in enumerate(runs):
            name = f"{design}_{tag}_{'own' if split is None else f'fold{i}'}"
            if args.report_only:
                path = work / "reports" / f"{name}.json"
                if path.exists():
                    reports.setdefault(design, []).append(json.loads(path.read_text()))
                continue
            set_splits(view, split, dataset)
            reports.setdefault(design, []).append(
                run_detector(view, work, name, config, work / "crops" / f"{design}_{tag}")
            )
    if not reports:
        print("no detector runs yet")
        return 1
    print_tables(reports)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
