"""The quality yardstick: a fixed list of pairs of different people, a fixed training
budget in steps, and `facetwin evaluate`'s summary over all pairs at once.

Every later quality claim in this project is measured with this script (docs/BENCHMARKS.md,
"The quality suite"). Each video of ../shared/data/videos is one person; each model is
trained on the first part of its two videos (extracted with `--held-out 0.2`: the last
20 % and the second before it are never read) and evaluated on that held-out end, against
a gallery of every person of the pairs plus the 79 people of ../shared/data/pretrain.

    # train the default preset (200 steps a pair, see STEPS), then evaluate:
    python benchmarks/quality_suite.py --work /tmp/suite
    # another preset: extra `facetwin train` options, its own work folder
    python benchmarks/quality_suite.py --work /tmp/suite-orig --train-args "--model original"
    # only train (e.g. in the background), or only evaluate models trained already
    python benchmarks/quality_suite.py --work /tmp/suite --stage train
    python benchmarks/quality_suite.py --work /tmp/suite --stage evaluate

Training resumes where it stopped (`facetwin train --resume`) and skips a model that has
reached the step count, so the script can be stopped and started again at any time.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEOS = DATA / "videos"
#: (A, B): eight different people; no person is in two pairs, none is in pretrain/.
PAIRS = [
    ("talking_d3", "talking_d13"),
    ("talking_d19", "talking_d18"),
    ("portrait_s18", "portrait_s20"),
    ("talking_obama", "talking_d12"),
]
#: The training budget: about 13 minutes of the former default (fast64, batch 64, float32)
#: on a 2-core AVX2 CPU without bf16 (3.9 s a step quiet); under 4 minutes where bf16 is
#: fast (1.1 s a step). Other presets get the same minutes as their own step count
#: (docs/BENCHMARKS.md, "Face types and the base model").
STEPS = 200

#: Published figures on FaceForensics++ (ID retrieval top-1 %, pose error, expression error),
#: as the face-swap papers tabulate them (FaceShifter, SimSwap, FaceDancer).
PAPERS = [
    ("Deepfakes (FF++)", 81.96, 4.14, None),
    ("FaceSwap (FF++)", 54.19, 2.51, None),
    ("FaceShifter", 97.38, 2.96, None),
    ("SimSwap", 92.83, 1.53, None),
    ("FaceDancer", 98.57, 2.27, 7.98),
]


def run(cmd: list[str]) -> None:
    print("$ facetwin", " ".join(cmd), flush=True)
    subprocess.run([sys.executable, "-m", "facetwin", "-q", *cmd], check=True)


def trained_steps(model: Path) -> int:
    state = model / "state.json"
    return json.loads(state.read_text())["step"] if state.is_file() else 0


def train_all(work: Path, steps: int, train_args: list[str], pairs: list[tuple[str, str]]) -> None:
    for a, b in pairs:
        for name in (a, b):
            faces = work / "faces" / name
            if not (faces / "alignments.json").exists():
                run(["extract", str(VIDEOS / f"{name}.mp4"), "-o", str(faces), "--every", "2", "--held-out", "0.2"])
        model = work / "models" / f"{a}_{b}"
        done = trained_steps(model)
        if done >= steps:
            continue
        started = time.perf_counter()
        run(
            [
                "train",
                str(work / "faces" / a),
                str(work / "faces" / b),
                "-o",
                str(model),
                "--steps",
                str(steps),
                *(["--resume"] if done else []),
                *train_args,
            ]
        )
        print(f"{a}_{b}: {steps - done} steps in {time.perf_counter() - started:.0f} s", flush=True)


def write_pair_list(work: Path, pairs: list[tuple[str, str]]) -> Path:
    path = work / "pairs.csv"
    rows = ["target,source,model"] + [
        f"{VIDEOS / (a + '.mp4')},{VIDEOS / (b + '.mp4')},{work / 'models' / f'{a}_{b}'}" for a, b in pairs
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/facetwin-quality-suite"))
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps per pair. Default: {STEPS}")
    parser.add_argument("--train-args", default="", help="extra `facetwin train` options (the preset to measure)")
    parser.add_argument("--stage", choices=["all", "train", "evaluate"], default="all")
    parser.add_argument("--pairs", type=int, default=len(PAIRS), help=f"use the first N pairs. Default: {len(PAIRS)}")
    parser.add_argument("--max-frames", type=int, default=0, help="test frames per video (0: the whole test part)")
    parser.add_argument(
        "--gallery",
        nargs="*",
        type=Path,
        default=[DATA / "pretrain"],
        help="extra people for the identity gallery. Default: ../shared/data/pretrain",
    )
    args = parser.parse_args()
    if not VIDEOS.is_dir():
        print(f"needs the real data in {VIDEOS}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage in ("all", "train"):
        train_all(args.work, args.steps, shlex.split(args.train_args), PAIRS[: args.pairs])
    if args.stage in ("all", "evaluate"):
        pairs = write_pair_list(args.work, PAIRS[: args.pairs])
        cmd = [
            "evaluate",
            "--pairs",
            str(pairs),
            "-o",
            str(args.work / "evaluation"),
            "--max-frames",
            str(args.max_frames),
        ]
        if args.gallery:
            cmd += ["--gallery", *map(str, args.gallery)]
        run(cmd)
        print_markdown(args.work / "evaluation" / "summary.json", args.steps)
    return 0


def print_markdown(path: Path, steps: int) -> None:
    """The summary beside the papers' figures, then a row per swap, as docs/BENCHMARKS.md shows them."""
    doc = json.loads(path.read_text())
    overall = doc["overall"]

    def cell(stats: dict | None, fmt: str, scale: float = 1.0) -> str:
        if not stats or stats.get("mean") is None:
            return "n/a"
        return f"{fmt.format(stats['mean'] * scale)} ± {fmt.format(stats['std'] * scale)}"

    print("\n| method | recogniser | ID top-1 % | ID top-5 % | pose error (deg) | expression error |")
    print("|---|---|---|---|---|---|")
    for name, rec in (("dlib ResNet", "dlib"), ("SFace", "sface")):
        print(
            f"| facetwin default, {steps} steps ({doc['gallery_size']} people) | {name} | "
            f"{cell(overall.get(f'id_top1_{rec}'), '{:.1f}', 100)} | {cell(overall.get(f'id_top5_{rec}'), '{:.1f}', 100)} | "
            f"{cell(overall.get('pose_error_l2'), '{:.2f}')} | {cell(overall.get('expression_error'), '{:.4f}')} /IOD |"
        )
    for name, top1, pose, expression in PAPERS:
        print(
            f"| {name} (published) | CosFace/ArcFace | {top1:.2f} | | {pose:.2f} | "
            f"{'' if expression is None else f'{expression} (3DMM)'} |"
        )
    keys = [
        ("id_top1_dlib", "{:.0f}", 100),
        ("id_top5_dlib", "{:.0f}", 100),
        ("id_top1_sface", "{:.0f}", 100),
        ("id_top5_sface", "{:.0f}", 100),
        ("id_retrieval_dlib", "{:.0f}", 100),
        ("id_retrieval_sface", "{:.0f}", 100),
        ("pose_error_l2", "{:.2f}", 1),
        ("expression_error", "{:.3f}", 1),
        ("expression_error_still", "{:.3f}", 1),
        ("motion_ratio", "{:.2f}", 1),
        ("detail_ratio", "{:.2f}", 1),
        ("flicker", "{:.2f}", 1),
        ("seam", "{:.2f}", 1),
    ]
    print(
        "\n| swap | top-1 dlib % | top-5 dlib % | top-1 SFace % | top-5 SFace % | two-way dlib % | two-way SFace % "
        "| pose (deg) | expression /IOD | ... of a still face | motion / input's | detail / real | flicker / input's | seam |"
    )
    print("|---|" + "---|" * len(keys))
    for row in doc["rows"]:
        cells = ["n/a" if row.get(k) is None else fmt.format(row[k] * scale) for k, fmt, scale in keys]
        print(f"| {row['direction']} | " + " | ".join(cells) + " |")
    means = [cell(overall.get(k), fmt, scale) for k, fmt, scale in keys]
    print("| **mean ± std over pairs** | " + " | ".join(means) + " |")


if __name__ == "__main__":
    sys.exit(main())
