"""Does the default ``fast64`` reach ``original``'s quality in less time on this CPU?

Takes a finished ``original`` run (a model folder with history.csv, such as the loss-curve
run of docs/BENCHMARKS.md), trains ``fast64`` on the same faces with the same settings
for a fixed wall-clock budget (or takes such a run), and compares:

- the training L1 against wall-clock seconds (history.csv of both; running mean of 5
  logs): when fast64 first gets down to original's final level, and where each ends;
- the held-out L1 of both final models on identical fixed warped batches (4 x 64 faces
  per person, fixed seed), the less noisy measure.

Both runs must have had the machine to themselves for the times to compare.

Run: python benchmarks/fast64_vs_original.py --original DIR [--fast DIR] [--minutes 15]
     [--plot docs/images/fast64_vs_original.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _quality import held_out_l1, read_history, smoothed  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--original", type=Path, required=True, help="finished `original` model folder with history.csv"
    )
    parser.add_argument("--fast", type=Path, help="fast64 model folder: reused if it has a history, else trained into")
    parser.add_argument("--minutes", type=float, default=15.0, help="fast64 training budget when training (default 15)")
    parser.add_argument("--plot", type=Path, help="write a loss-against-time plot here")
    parser.add_argument(
        "--original-step-seconds",
        type=float,
        help="put the original run on this time axis (seconds per step measured quietly, "
        "e.g. by benchmarks/train.py) instead of its own history, when other work slowed it",
    )
    args = parser.parse_args()

    import torch

    from facetwin import TrainConfig, load_model
    from facetwin.data.dataset import load_faces, match_mean_colour
    from facetwin.models.checkpoint import read_config
    from facetwin.training import train

    torch.set_num_threads(2)
    fast_dir = args.fast or Path(tempfile.mkdtemp(prefix="fast64_"))
    if not (fast_dir / "history.csv").exists():
        settings = read_config(args.original)["train"]
        config = TrainConfig(
            model="fast64",
            batch_size=settings["batch_size"],
            colour_jitter=settings["colour_jitter"],
            time_limit=args.minutes * 60,
            log_every=10,
            preview_every=100,
            save_every=10**9,
        )
        print(f"training fast64 for {args.minutes:g} min into {fast_dir}", flush=True)
        train(DATA / "trump", DATA / "cage", fast_dir, config=config)

    runs = {"original": args.original, "fast64": fast_dir}
    hist = {name: read_history(d) for name, d in runs.items()}
    if args.original_step_seconds:
        for row in hist["original"]:
            row["seconds"] = row["step"] * args.original_step_seconds
    curve = {
        name: [(a + b) / 2 for a, b in zip(smoothed(h, "loss_a"), smoothed(h, "loss_b"))] for name, h in hist.items()
    }
    end_level = curve["original"][-1]
    reach = next((h["seconds"] for h, c in zip(hist["fast64"], curve["fast64"]) if c <= end_level), None)

    faces_b = load_faces(DATA / "cage")
    faces_a = match_mean_colour(load_faces(DATA / "trump"), faces_b)
    print(
        f"\n{'model':<9} {'steps':>6} {'minutes':>8} {'train L1 (end, mean of 5 logs) A/B':>36} {'held-out L1 A / B':>20}"
    )
    for name, folder in runs.items():
        model = load_model(folder)
        held = [held_out_l1(model, faces, side) for faces, side in ((faces_a, "a"), (faces_b, "b"))]
        h = hist[name]
        train_end = f"{smoothed(h, 'loss_a')[-1]:.4f} / {smoothed(h, 'loss_b')[-1]:.4f}"
        print(
            f"{name:<9} {int(h[-1]['step']):>6} {h[-1]['seconds'] / 60:>8.1f} {train_end:>36} "
            f"{held[0]:>9.4f} / {held[1]:.4f}"
        )
    o_min = hist["original"][-1]["seconds"] / 60
    if reach is None:
        print(f"\nfast64 did not reach original's final training L1 ({end_level:.4f}) within its run")
    else:
        print(
            f"\nfast64 reached original's final training L1 ({end_level:.4f}, after {o_min:.1f} min) "
            f"after {reach / 60:.1f} min: {o_min / (reach / 60):.1f}x less time"
        )

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
        for name, colour in (("original", "tab:blue"), ("fast64", "tab:orange")):
            minutes = [r["seconds"] / 60 for r in hist[name]]
            ax.plot(minutes, curve[name], color=colour, label=f"{name} (mean of A and B, 5-log running mean)")
        ax.axhline(end_level, color="grey", lw=0.8, ls="--", label="original's final level")
        ax.set(xlabel="minutes of training on this 2-core CPU", ylabel="training L1", title="trump / cage, batch 64")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
