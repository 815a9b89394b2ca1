"""Two checkouts of facetwin side by side: is a change free of cost in speed?

Each run is its own process with PYTHONPATH at one checkout's src/ (old and new
alternate, so the load of a shared machine falls on both alike): train 20 fast64 steps
(batch 16, from scratch, on ../shared/data/faces/trump and cage) and convert the first
40 frames of talking_d13 (512x512) with a trained model (``--model``). Prints each run
and the medians, wall and CPU time.

    git archive OLD src | tar x -C /tmp/old
    python benchmarks/ab_checkouts.py --old /tmp/old/src --new src --model MODEL_DIR [--repeats 3]

Before issue 17 the stages were the packages facetwin.train and facetwin.convert; the
script finds either.
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RUN = r"""
import importlib, sys, time, tempfile
from pathlib import Path
which, task, data, model = sys.argv[1:5]
t0 = time.perf_counter(); c0 = time.process_time()
if task == "train":
    from facetwin.config import TrainConfig
    import importlib.util
    home = "facetwin.training" if importlib.util.find_spec("facetwin.training") else "facetwin.train"
    train = importlib.import_module(home).train
    with tempfile.TemporaryDirectory() as tmp:
        train(Path(data) / "faces" / "trump", Path(data) / "faces" / "cage", Path(tmp) / "m",
              config=TrainConfig(model="fast64", face="inner", batch_size=16, steps=20, preview_every=10**6,
                                 save_every=10**6), init_from=None, device="cpu")
else:
    from facetwin.config import ConvertConfig
    import importlib.util
    home = "facetwin.conversion" if importlib.util.find_spec("facetwin.conversion") else "facetwin.convert"
    convert = importlib.import_module(home).convert
    import av
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clip.mp4"
        with av.open(str(Path(data) / "videos" / "talking_d13.mp4")) as i, av.open(str(src), "w") as o:
            s = o.add_stream("libx264", rate=25); s.width, s.height, s.pix_fmt = 512, 512, "yuv420p"
            for n, f in enumerate(i.decode(video=0)):
                if n == 40: break
                g = av.VideoFrame.from_ndarray(f.to_ndarray(format="rgb24"), format="rgb24")
                g.pts = n
                for p in s.encode(g): o.mux(p)
            for p in s.encode(): o.mux(p)
        t0 = time.perf_counter(); c0 = time.process_time()
        convert(src, model, Path(tmp) / "out.mp4",
                config=ConvertConfig(to="a"), device="cpu")
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, required=True, help="the src/ folder of the checkout to compare with")
    parser.add_argument("--new", type=Path, required=True, help="the src/ folder of the changed checkout")
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder (fast128, whole face)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each checkout and task (default 3)")
    parser.add_argument("--tasks", default="train,convert", help="train, convert or both (default)")
    args = parser.parse_args()
    if not (DATA / "faces" / "trump").is_dir():
        raise SystemExit(f"needs {DATA}/faces and {DATA}/videos (../shared/data)")
    roots = {"old": str(args.old.resolve()), "new": str(args.new.resolve())}
    tasks = args.tasks.split(",")
    results: dict = {}
    for rep in range(args.repeats):
        for task in tasks:
            for which in ("old", "new") if rep % 2 == 0 else ("new", "old"):
                env = dict(os.environ, PYTHONPATH=roots[which])
                out = subprocess.run(
                    [sys.executable, "-c", RUN, which, task, str(DATA), str(args.model)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    print(out.stderr[-2000:])
                    return 1
                wall, cpu = map(float, out.stdout.split()[-2:])
                results.setdefault((task, which), []).append((wall, cpu))
                print(task, which, f"{wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    for task in tasks:
        old, new = results[(task, "old")], results[(task, "new")]
        wall = [statistics.median(w for w, _ in runs) for runs in (old, new)]
        cpu = [statistics.median(c for _, c in runs) for runs in (old, new)]
        print(
            f"{task}: median wall old {wall[0]:.2f} s, new {wall[1]:.2f} s (new/old {wall[1] / wall[0]:.3f}); "
            f"CPU old {cpu[0]:.2f} s, new {cpu[1]:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
