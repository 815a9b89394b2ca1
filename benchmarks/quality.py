"""facetwin's default model against the `original` model trained the original way, on the
same data for the same time, judged by `facetwin evaluate`'s metrics.

Data: talking_d3 (A) and talking_d13 (B) from ../shared/data/videos; each model is
trained on the first part of each video (extracted with `--held-out 0.2`, so the last
20 % and the second before it are never read) and evaluated on the held-out end.

    # train both for the same wall-clock time on a quiet machine, then evaluate:
    python benchmarks/quality.py --work /tmp/quality --budget 30m
    # or evaluate models trained elsewhere (e.g. with step counts worth the same time):
    python benchmarks/quality.py --work /tmp/quality --models default=DIR original=DIR

"The original way": the `original` architecture (64x64, 1024-wide bottleneck), float32,
batch 64, Adam 5e-5 with beta1 0.5, L1 only, no colour jitter. The default: `facetwin
train` with no options (fast64, bf16 where fast, its augmentation).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from facetwin.evaluation.report import summary, write_report
from facetwin.evaluation.runner import EvaluateConfig, evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
A, B = DATA / "talking_d3.mp4", DATA / "talking_d13.mp4"
ORIGINAL_WAY = ["--model", "original", "--precision", "fp32", "--colour-jitter", "0"]

ROWS = [
    ("id_retrieval_dlib", "ID retrieval, dlib", "{:.1%}", "higher"),
    ("identity_dlib_to_target", "dlib distance to target", "{:.3f}", "lower"),
    ("id_retrieval_sface", "ID retrieval, SFace", "{:.1%}", "higher"),
    ("identity_sface_to_target", "SFace distance to target", "{:.3f}", "lower"),
    ("landmark_error", "landmark error / IOD", "{:.3f}", "lower"),
    ("pose_error_yaw", "yaw error (deg)", "{:.2f}", "lower"),
    ("pose_error_pitch", "pitch error (deg)", "{:.2f}", "lower"),
    ("flicker", "flicker / input's", "{:.3f}", "closer to 1"),
    ("jitter_ratio", "landmark jitter / input's", "{:.3f}", "closer to 1"),
    ("seam", "seam", "{:.3f}", "closer to 1"),
]


def run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run([sys.executable, "-m", "facetwin", "-q", *cmd], check=True)


def train_both(work: Path, budget: str) -> dict[str, Path]:
    for side, video in (("a", A), ("b", B)):
        if not (work / f"faces_{side}" / "alignments.json").exists():
            run(["extract", str(video), "-o", str(work / f"faces_{side}"), "--every", "2", "--held-out", "0.2"])
    models = {"default": work / "default", "original": work / "original"}
    for name, extra in (("default", []), ("original", ORIGINAL_WAY)):
        if not (models[name] / "state.json").exists():
            run(
                [
                    "train",
                    str(work / "faces_a"),
                    str(work / "faces_b"),
                    "-o",
                    str(models[name]),
                    "--time",
                    budget,
                    *extra,
                ]
            )
    return models


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/facetwin-quality"))
    parser.add_argument("--budget", default="30m", help="training time per model (facetwin train --time)")
    parser.add_argument("--models", nargs=2, metavar="NAME=DIR", help="evaluate these instead of training")
    parser.add_argument("--max-frames", type=int, default=0, help="test frames per video (0: the whole test part)")
    args = parser.parse_args()
    if not A.exists():
        print(f"needs the real data in {DATA}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    models = dict(m.split("=", 1) for m in args.models) if args.models else train_both(args.work, args.budget)
    results = {}
    for name, model in models.items():
        evaluation = evaluate(model, A, B, config=EvaluateConfig(max_frames=args.max_frames))
        write_report(evaluation, args.work / f"evaluation_{name}")
        results[name] = summary(evaluation)
        results[name]["_recon"] = evaluation.reconstruction
        print(f"{name}: evaluated in {evaluation.seconds:.0f} s", flush=True)

    names = list(results)
    directions = [d for d in results[names[0]] if not d.startswith("_")]
    print(
        "\n| metric | better | "
        + " | ".join(f"{n}: {d.replace('_to_', '->').upper()}" for d in directions for n in names)
        + " |"
    )
    print("|---|---|" + "---|" * (len(names) * len(directions)))
    for key, label, fmt, better in ROWS:
        cells = []
        for d in directions:
            for n in names:
                value = results[n][d].get(key)
                cells.append("n/a" if value is None else fmt.format(value))
        print(f"| {label} | {better} | " + " | ".join(cells) + " |")
    print("\n| reconstruction (held-out faces, PSNR dB / SSIM, higher is better) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for side in ("a", "b"):
        cells = [f"{results[n]['_recon'][side]['psnr']:.2f} / {results[n]['_recon'][side]['ssim']:.3f}" for n in names]
        print(f"| {side.upper()}->{side.upper()} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
