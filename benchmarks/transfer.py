"""Does ``--init-from`` speed up training a new pair?

A model trained on other people (by default fast64 on trump/cage, trained here for
--base-steps unless --base names one) starts the training of a new pair: two people of
../shared/data/videos extracted here (talking_d3 and talking_d13, every 2nd frame). The
new pair is trained --steps steps twice with the same seed and settings, once from
scratch and once with ``init_from``; the script prints, for both, the training L1
(mean of the 3 logs around each checkpoint) and at the end the held-out L1 on fixed
warped batches of the new faces.

Run: python benchmarks/transfer.py [--base DIR] [--base-steps 600] [--steps 150]
(defaults take about 15 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _quality import held_out_l1, mean_near, read_history  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, help="model folder trained on other people (default: train one)")
    parser.add_argument("--base-steps", type=int, default=600, help="steps of the base model when training it")
    parser.add_argument("--steps", type=int, default=150, help="steps of each new-pair run")
    parser.add_argument("--model", default="fast64", help="architecture (default fast64)")
    parser.add_argument("--work", type=Path, help="folder for faces and models (default: a temporary one)")
    args = parser.parse_args()

    import torch

    from facetwin import ExtractConfig, TrainConfig, extract, load_model
    from facetwin.data.dataset import load_faces, match_mean_colour
    from facetwin.training import train

    torch.set_num_threads(2)
    work = args.work or Path(tempfile.mkdtemp(prefix="transfer_"))
    work.mkdir(parents=True, exist_ok=True)
    base = args.base or work / "base"
    if not (base / "history.csv").exists():
        print(f"training the base model ({args.model}, trump/cage, {args.base_steps} steps) into {base}", flush=True)
        train(
            DATA / "faces" / "trump",
            DATA / "faces" / "cage",
            base,
            config=TrainConfig(model=args.model, steps=args.base_steps, preview_every=10**9, save_every=10**9),
        )

    pair = {}
    for side, video in (("a", "talking_d3"), ("b", "talking_d13")):
        pair[side] = work / f"faces_{video}"
        summary = extract(DATA / "videos" / f"{video}.mp4", pair[side], config=ExtractConfig(every=2))
        print(f"{video}: {summary.faces_saved} faces", flush=True)

    config = TrainConfig(model=args.model, steps=args.steps, log_every=10, preview_every=10**9, save_every=10**9)
    runs = {}
    for name, init in (("from scratch", None), ("--init-from base", base)):
        folder = work / ("scratch" if init is None else "init")
        started = time.perf_counter()
        train(pair["a"], pair["b"], folder, config=config, init_from=init)
        runs[name] = (folder, time.perf_counter() - started)

    faces_b = load_faces(pair["b"])
    faces_a = match_mean_colour(load_faces(pair["a"]), faces_b)
    marks = [s for s in (10, args.steps // 3, 2 * args.steps // 3, args.steps) if s > 0]
    print(f"\ntraining L1 A / B (mean of the logs within 10 steps) after N steps of the new pair ({args.model}):")
    print(f"{'run':<18}" + "".join(f"{'N=' + str(s):>18}" for s in marks) + f"{'held-out A / B':>20}{'seconds':>9}")
    for name, (folder, seconds) in runs.items():
        rows = read_history(folder)
        cells = "".join(
            f"{mean_near(rows, 'loss_a', s, 10):>10.4f} / {mean_near(rows, 'loss_b', s, 10):.4f}" for s in marks
        )
        model = load_model(folder)
        held = [held_out_l1(model, faces, side) for faces, side in ((faces_a, "a"), (faces_b, "b"))]
        print(f"{name:<18}{cells}{held[0]:>11.4f} / {held[1]:.4f}{seconds:>9.0f}")
    scratch_rows, init_rows = read_history(runs["from scratch"][0]), read_history(runs["--init-from base"][0])
    level = (init_rows[-1]["loss_a"] + init_rows[-1]["loss_b"]) / 2
    reach = next((r["step"] for r in scratch_rows if (r["loss_a"] + r["loss_b"]) / 2 <= level), None)
    print(
        f"\nfrom scratch first logs a mean L1 at or below the init run's final {level:.4f}: "
        + (f"step {int(reach)}" if reach is not None else f"not within {args.steps} steps")
    )


if __name__ == "__main__":
    main()
