"""Memory a checkpoint save adds: two checkouts side by side.

Each run is its own process with PYTHONPATH at one checkout's src/: it builds a model
(``original`` by default, channels-last as training keeps it) with an optimiser that has
taken one step (so its moments exist), then samples the process's resident memory
(/proc/self/statm) every millisecond on a thread while ``save_checkpoint`` writes the
folder. Reports the peak above the resident memory just before the save, and the time.

    git archive 5a0fc51 src | tar x -C /tmp/before
    python benchmarks/checkpoint_memory.py --old /tmp/before/src --new src [--arch original] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = r"""
import json, os, sys, tempfile, threading, time
import torch
from facetwin.models import create_model
from facetwin.models.checkpoint import save_checkpoint
arch, folder = sys.argv[1:3]
torch.manual_seed(0)
model = create_model(arch).to(memory_format=torch.channels_last)
try:
    from facetwin.training.optim import SwapAdam
    optimizer = SwapAdam(model.encoder.parameters(), model.decoder_a.parameters(), model.decoder_b.parameters(), lr=5e-5)
    step = lambda: (optimizer.step("a"), optimizer.step("b"))
except Exception:  # an older checkout: plain Adam
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5)
    step = lambda: optimizer.step()
for p in model.parameters():
    p.grad = torch.randn_like(p)
step()
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
peak, running = [0], [True]
def sample():
    while running[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.001)
base = rss()
thread = threading.Thread(target=sample); thread.start()
t0 = time.perf_counter()
save_checkpoint(folder, model=model, optimizer=optimizer, state={"step": 1, "seed": 0}, config={"model": model.config})
seconds = time.perf_counter() - t0
running[0] = False; thread.join()
size = sum(f.stat().st_size for f in __import__("pathlib").Path(folder).iterdir())
print(json.dumps({"added": peak[0] - base, "base": base, "seconds": seconds, "bytes": size}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--arch", default="original")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for which, src in (("old", args.old), ("new", args.new)):
                env = {**os.environ, "PYTHONPATH": str(src.resolve()), "OMP_NUM_THREADS": "1"}
                folder = Path(tmp) / f"{which}{repeat}"
                done = subprocess.run(
                    [sys.executable, "-c", RUN, args.arch, str(folder)], env=env, capture_output=True, text=True
                )
                if done.returncode:
                    sys.exit(f"{which}: {done.stderr.strip().splitlines()[-1]}")
                run = json.loads(done.stdout.strip().splitlines()[-1])
                runs[which].append(run)
                print(
                    f"{which}: +{run['added'] / 2**30:.2f} GiB over {run['base'] / 2**30:.2f} GiB, "
                    f"{run['seconds']:.1f} s, files {run['bytes'] / 2**30:.2f} GiB",
                    flush=True,
                )
    for which, found in runs.items():
        added = statistics.median(r["added"] for r in found) / 2**30
        seconds = statistics.median(r["seconds"] for r in found)
        print(f"median {which}: +{added:.2f} GiB, {seconds:.1f} s ({args.arch}, {len(found)} saves)")


if __name__ == "__main__":
    main()
