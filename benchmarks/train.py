"""Training throughput: facetwin's trainer against a re-creation of the original loop.

Both train the 'original' 64x64 autoencoder (82 M parameters) at batch 64 on the
classic trump (A) / cage (B) face sets; one step trains 64 faces of A and 64 of B, so
128 samples.

(a) facetwin: ``facetwin.training.train`` with ``TrainConfig(model="original",
    batch_size=64)`` and facetwin's defaults otherwise (bf16 autocast where the CPU has
    fast bf16, channels_last, batched torch augmentation, and whatever update scheme
    the trainer uses), and torch's huge pages for large buffers
    (``THP_MEM_ALLOC_ENABLE=1``, as ``facetwin train`` sets it). Step times come from
    the progress callback; the first 2 steps are warm-up and not counted.
(b) the original code's loop, re-created from its description (DESIGN.md, "The seeds'
    model"): eager float32 NCHW, no autocast; per-image numpy/OpenCV augmentation in a
    Python loop (random_transform: rotation +-10 deg, zoom +-5 %, shift +-5 %, flip
    p=0.4, warpAffine with replicated border; random_warp: 5x5 grid over the central
    160 px of the 256 face, noise sigma 5 px, maps resized to 80x80 and cropped to
    [8:72, 8:72], remap to the 64x64 input; target warped by the Umeyama similarity
    from the noisy grid onto the regular 0..64 step 16 grid); mean colour of A matched
    to B once at load; one Keras Adam (lr 5e-5, betas 0.5/0.999; moments per
    autoencoder, facetwin.training.optim.SwapAdam) stepped twice per iteration,
    autoencoder A on the A batch then autoencoder B on the B batch (L1 loss), then the
    per-iteration preview: 14 target faces of A through A->A and A->B and 14 of B
    through B->B and B->A. The first iteration is warm-up and not counted.

Each block runs in its own child process so that its peak RSS (ru_maxrss) belongs to
one approach; blocks alternate (facetwin, original, facetwin, original, ...) so that
the load of this shared machine falls on both alike. The medians are over all timed
steps of each block; the headline ratio compares the fastest block of each approach
(other work on a shared machine only ever slows a block down), and per-pair and pooled
ratios are printed beside it. facetwin's default ``fast64`` model is measured once more
at the end, for reference.

Run: python benchmarks/train.py [--steps 12] [--original-steps 7] [--repeats 2] [--threads N] [--before OLD/src]
(defaults take about 8-11 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BATCH = 64
FACETWIN_WARMUP = 2
ORIGINAL_WARMUP = 1
PREVIEW_FACES = 14
_MARK = "BENCH_RESULT "


# --------------------------------------------------------------------------------------
# (b) The original's training loop, re-created.
# --------------------------------------------------------------------------------------


def _original_random_transform(image, rng):
    """Rotation +-10 deg and zoom +-5 % about the centre, shift +-5 % of the side,
    replicated border, then a horizontal flip with probability 0.4 (float image HWC)."""
    import cv2

    h, w = image.shape[:2]
    angle = rng.uniform(-10.0, 10.0)
    scale = rng.uniform(1 - 0.05, 1 + 0.05)
    dx = rng.uniform(-0.05, 0.05) * w
    dy = rng.uniform(-0.05, 0.05) * h
    matrix = cv2.getRotationMatrix2D((w // 2, h // 2), angle, scale)
    matrix[:, 2] += (dx, dy)
    out = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.4:
        out = out[:, ::-1]
    return out


def _original_random_warp(image, rng):
    """(warped 64x64 input, 64x64 target) from a transformed 256x256 face."""
    import cv2
    import numpy as np

    from facetwin.faces.align import umeyama

    lines = np.linspace(128 - 80, 128 + 80, 5)
    # Noisy grid: node (row i, column j) starts at (x=lines[j], y=lines[i]).
    grid_x = np.tile(lines, (5, 1)) + rng.normal(0.0, 5.0, (5, 5))
    grid_y = np.tile(lines[:, None], (1, 5)) + rng.normal(0.0, 5.0, (5, 5))
    map_x = cv2.resize(grid_x, (80, 80))[8:72, 8:72].astype(np.float32)
    map_y = cv2.resize(grid_y, (80, 80))[8:72, 8:72].astype(np.float32)
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)
    noisy = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    steps = np.arange(0, 65, 16, dtype=np.float64)
    regular = np.column_stack([np.tile(steps, 5), np.repeat(steps, 5)])  # same node order
    similarity = umeyama(noisy, regular)[:2]
    target = cv2.warpAffine(image, similarity, (64, 64))
    return warped, target


def _original_load(folder: Path):
    """float32 HWC images in [0, 1], in file-name order (the original read with cv2: BGR)."""
    import cv2
    import numpy as np

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return np.stack([cv2.imread(str(p)) for p in files]).astype(np.float32) / 255.0


def _original_batch(images, rng):
    """One training batch, one face at a time in a Python loop, as the original did."""
    import numpy as np

    picks = rng.integers(0, len(images), size=BATCH)
    warped = np.empty((BATCH, 64, 64, 3), np.float32)
    target = np.empty((BATCH, 64, 64, 3), np.float32)
    for k, index in enumerate(picks):
        transformed = _original_random_transform(images[index], rng)
        warped[k], target[k] = _original_random_warp(transformed, rng)
    return warped, target


def run_original(iterations: int, data: Path) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from facetwin.models import create_model
    from facetwin.training.optim import SwapAdam

    images_a = _original_load(data / "trump")
    images_b = _original_load(data / "cage")
    images_a += images_b.mean(axis=(0, 1, 2)) - images_a.mean(axis=(0, 1, 2))  # colour match, once

    model = create_model("original")  # layer for layer the original, Glorot init
    model.train()
    # One Keras Adam compiled into both autoencoders: moments per autoencoder, one counter.
    optimizer = SwapAdam(model.encoder.parameters(), model.decoder_a.parameters(), model.decoder_b.parameters())
    rng = np.random.default_rng(0)

    def nchw(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()

    def train_on_batch(to: str, warped: np.ndarray, target: np.ndarray) -> float:
        # Keras' train_on_batch on autoencoder_A / _B: only that autoencoder's weights
        # get gradients and move.
        optimizer.zero_grad(set_to_none=True)
        loss = F.l1_loss(model(nchw(warped), to=to), nchw(target))
        loss.backward()
        optimizer.step(to)
        return float(loss.item())

    times, cpu, parts, losses = [], [], [], []
    for _ in range(iterations):
        t0, c0 = time.perf_counter(), time.process_time()
        warped_a, target_a = _original_batch(images_a, rng)
        warped_b, target_b = _original_batch(images_b, rng)
        t1 = time.perf_counter()
        loss_a = train_on_batch("a", warped_a, target_a)
        loss_b = train_on_batch("b", warped_b, target_b)
        t2 = time.perf_counter()
        # The preview the original computed (and showed) every iteration.
        test_a, test_b = nchw(target_a[:PREVIEW_FACES]), nchw(target_b[:PREVIEW_FACES])
        with torch.no_grad():
            rows_a = [test_a, model(test_a, to="a"), model(test_a, to="b")]
            rows_b = [test_b, model(test_b, to="b"), model(test_b, to="a")]
        figure = torch.cat([torch.stack(rows_a, 1), torch.stack(rows_b, 1)], 0).permute(0, 1, 3, 4, 2).numpy()
        figure = np.clip(figure * 255, 0, 255).astype(np.uint8)
        t3 = time.perf_counter()
        times.append(t3 - t0)
        cpu.append(time.process_time() - c0)
        parts.append((t1 - t0, t2 - t1, t3 - t2))
        losses.append((loss_a, loss_b))
    timed = parts[ORIGINAL_WARMUP:]
    return {
        "step_seconds": times[ORIGINAL_WARMUP:],
        "step_cpu_seconds": cpu[ORIGINAL_WARMUP:],
        "warmup_seconds": times[:ORIGINAL_WARMUP],
        "augment_s": statistics.median(p[0] for p in timed),
        "train_s": statistics.median(p[1] for p in timed),
        "preview_s": statistics.median(p[2] for p in timed),
        "last_loss": losses[-1],
        "bf16": False,
    }


# --------------------------------------------------------------------------------------
# (a) facetwin's trainer.
# --------------------------------------------------------------------------------------


def run_facetwin(model: str, steps: int, data: Path) -> dict:

    from facetwin.config import TrainConfig
    from facetwin.device import pick_device, use_bf16
    from facetwin.training import train

    config = TrainConfig(
        model=model, batch_size=BATCH, steps=steps, preview_every=10**9, save_every=10**9, log_every=steps
    )
    elapsed: list[float] = []
    cpu: list[float] = []
    rss_steps = [0.0]

    def progress(event) -> None:
        elapsed.append(event.facts["elapsed"])
        cpu.append(time.process_time())
        # Peak so far, before the final checkpoint and preview that train() writes on exit.
        rss_steps[0] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with tempfile.TemporaryDirectory(prefix="facetwin-bench-") as tmp:
        cpu.append(time.process_time())  # replaced by the first step's start below
        summary = train(data / "trump", data / "cage", Path(tmp) / "model", config=config, progress=progress)
    if len(elapsed) != steps:
        raise RuntimeError(f"progress was called {len(elapsed)} times for {steps} steps")
    durations = [b - a for a, b in zip([0.0, *elapsed], elapsed)]
    # CPU time between progress calls; the first interval also holds the set-up and is
    # among the warm-up steps, never timed.
    cpu_durations = [b - a for a, b in zip(cpu, cpu[1:])]
    return {
        "step_seconds": durations[FACETWIN_WARMUP:],
        "step_cpu_seconds": cpu_durations[FACETWIN_WARMUP:],
        "warmup_seconds": durations[:FACETWIN_WARMUP],
        "last_loss": (summary.loss_a, summary.loss_b),
        "bf16": use_bf16(config.precision, pick_device("auto")),
        "channels_last": config.channels_last,
        "peak_rss_steps_mib": rss_steps[0],
    }


# --------------------------------------------------------------------------------------
# The hardware's ceiling.
# --------------------------------------------------------------------------------------


def forward_flops(model_name: str) -> float:
    """FLOPs (2 x multiply-adds of convolutions and linear layers) of one face's forward."""
    import torch

    from facetwin.models import create_model

    model = create_model(model_name)
    total = [0.0]

    def count(module, inputs, output) -> None:
        if isinstance(module, torch.nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        else:
            per_output = module.in_features
        total[0] += 2.0 * output.numel() * per_output

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(count)
    with torch.no_grad():
        model(torch.zeros(1, 3, model.input_size, model.input_size), to="a")
    return total[0]


def matmul_peak(dtype_name: str, repeats: int = 7) -> float:
    """Median FLOP/s of a large matrix product on this machine, in the given dtype."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(2048, 8192, dtype=dtype), torch.randn(8192, 2048, dtype=dtype)
    times = []
    for _ in range(repeats + 1):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * 2048 * 8192 * 2048 / statistics.median(times[1:])


# --------------------------------------------------------------------------------------
# Child process and the parent's table.
# --------------------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    if args.child == "original":
        result = run_original(args.original_steps, args.data)
    else:  # facetwin:MODEL, or before:MODEL with PYTHONPATH at an older checkout's src
        result = run_facetwin(args.child.split(":", 1)[1], args.steps, args.data)
    result.update(
        wall_s=time.perf_counter() - started,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )
    print(_MARK + json.dumps(result), flush=True)


def spawn(what: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        what,
        "--data",
        str(args.data),
        "--steps",
        str(args.fast_steps if what == "facetwin:fast64" else args.steps),
        "--original-steps",
        str(args.original_steps),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    env = dict(os.environ)
    if what.startswith("facetwin:"):
        # As `facetwin train` runs it: huge pages for torch's large buffers (cli.py sets
        # this before torch loads; a child of this script has to be told).
        env.setdefault("THP_MEM_ALLOC_ENABLE", "1")
    if what.startswith("before:"):
        env["PYTHONPATH"] = str(Path(args.before).resolve())
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        sys.stdout.write(proc.stdout)
        sys.exit(f"benchmarks/train.py: the {what} child failed (exit {proc.returncode}); see its output above")
    return json.loads(lines[-1][len(_MARK) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--steps",
        type=int,
        default=12,
        help=f"facetwin steps per block, the first {FACETWIN_WARMUP} not timed (default 12)",
    )
    parser.add_argument(
        "--original-steps",
        type=int,
        default=7,
        help=f"original iterations per block, the first {ORIGINAL_WARMUP} not timed (default 7)",
    )
    parser.add_argument("--fast-steps", type=int, default=22, help="fast64 steps (default 22)")
    parser.add_argument("--repeats", type=int, default=2, help="facetwin/original block pairs (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: torch's default)")
    parser.add_argument("--no-fast64", action="store_true", help="skip the fast64 reference line")
    parser.add_argument(
        "--before",
        type=Path,
        help="an older checkout's src/ (git archive REV src | tar x -C DIR): its trainer runs in each block "
        "too, so today's and the older one are measured side by side",
    )
    parser.add_argument("--data", type=Path, default=DATA / "faces", help="folder holding trump/ and cage/")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.steps <= FACETWIN_WARMUP or args.fast_steps <= FACETWIN_WARMUP:
        parser.error(f"--steps and --fast-steps must be > {FACETWIN_WARMUP} (warm-up steps)")
    if args.original_steps <= ORIGINAL_WARMUP:
        parser.error(f"--original-steps must be > {ORIGINAL_WARMUP} (warm-up iterations)")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    missing = [p for p in (args.data / "trump", args.data / "cage") if not p.is_dir()]
    if missing:
        sys.exit(
            f"benchmarks/train.py: face data not found: {', '.join(map(str, missing))}\n"
            "It is not part of the repository; it lives in ../shared/data/faces (see --data)."
        )
    if args.child:
        child(args)
        return

    import cv2
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, OpenCV {cv2.__version__}, Python {platform.python_version()}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} logical CPUs"
    )
    print(
        f"data: A = {args.data / 'trump'}, B = {args.data / 'cage'}; batch {BATCH} per person "
        f"= {2 * BATCH} samples per step"
    )
    print(
        f"plan: {args.repeats} x (facetwin original {args.steps} steps [{FACETWIN_WARMUP} warm-up], "
        f"re-created original {args.original_steps} iterations [{ORIGINAL_WARMUP} warm-up])"
        + ("" if args.no_fast64 else f", then facetwin fast64 {args.fast_steps} steps [{FACETWIN_WARMUP} warm-up]"),
        flush=True,
    )

    rows: list[tuple[str, int, dict]] = []
    started = time.perf_counter()
    approaches = [("facetwin:original", "facetwin (original)")]
    if args.before:
        approaches.append(("before:original", "before (original)"))
    approaches.append(("original", "re-created original"))
    for r in range(1, args.repeats + 1):
        for what, label in approaches:
            result = spawn(what, args)
            rows.append((label, r, result))
            med = statistics.median(result["step_seconds"])
            print(
                f"  block {r} {label}: median {med:.2f} s/step over {len(result['step_seconds'])} steps, "
                f"{result['wall_s']:.0f} s in all",
                flush=True,
            )
    fast = None
    if not args.no_fast64:
        fast = spawn("facetwin:fast64", args)
        rows.append(("facetwin (fast64)", 1, fast))

    first = rows[0][2]
    print()
    print(
        f"threads: {first['threads']} (torch.get_num_threads in each child)"
        f"{'' if args.threads else ', torch default'}; "
        f"facetwin bf16 autocast: {'yes' if first['bf16'] else 'no'}, channels_last: "
        f"{'yes' if first.get('channels_last') else 'no'}; original: float32, NCHW, no autocast"
    )
    print("wall: seconds a step; CPU: CPU seconds a step, all threads together (process time)")
    print()
    header = (
        f"{'approach':<22} {'block':>5} {'timed':>5} {'wall s/step':>11} {'CPU s/step':>10} {'min':>6} {'max':>6} "
        f"{'samples/s':>9} {'peak RSS MiB':>12} {'last L1 A/B':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, r, res in rows:
        s, c = res["step_seconds"], res["step_cpu_seconds"]
        med = statistics.median(s)
        la, lb = res["last_loss"]
        print(
            f"{label:<22} {r:>5} {len(s):>5} {med:>11.3f} {statistics.median(c):>10.3f} {min(s):>6.2f} {max(s):>6.2f} "
            f"{2 * BATCH / med:>9.2f} {res['peak_rss_mib']:>12.0f} {la:>6.3f}/{lb:.3f}"
        )
    print("-" * len(header))

    def blocks(label: str) -> list[dict]:
        return [res for lab, _, res in rows if lab == label]

    def median_of(res: dict, key: str = "step_seconds") -> float:
        return statistics.median(res[key])

    def fastest(label: str) -> dict:
        """The block of this approach with the lowest median wall time (load only slows)."""
        return min(blocks(label), key=median_of)

    def pooled(label: str, key: str = "step_seconds") -> float:
        return statistics.median(t for res in blocks(label) for t in res[key])

    labels = [label for _, label in approaches]
    for label in labels:
        wall, cpu = pooled(label), pooled(label, "step_cpu_seconds")
        n = sum(len(res["step_seconds"]) for res in blocks(label))
        rss = max(res["peak_rss_mib"] for res in blocks(label))
        print(
            f"{label:<22} {'all':>5} {n:>5} {wall:>11.3f} {cpu:>10.3f} {'':>6} {'':>6} {2 * BATCH / wall:>9.2f} {rss:>12.0f}"
        )
    print()
    og_best = fastest("re-created original")
    print(
        "re-created original (its fastest block), median seconds per iteration: augmentation (2 x 64 faces) "
        f"{og_best['augment_s']:.2f}, two train_on_batch {og_best['train_s']:.2f}, "
        f"preview (4 x 14 faces) {og_best['preview_s']:.2f}"
    )
    ours = blocks("facetwin (original)")
    print(
        f"facetwin (original) peak RSS up to its last step, before train()'s closing checkpoint and preview: "
        f"{max(res['peak_rss_steps_mib'] for res in ours):.0f} MiB "
        f"(whole child: {max(res['peak_rss_mib'] for res in ours):.0f} MiB)"
    )
    ft_blocks = [median_of(res) for res in ours]
    og_blocks = [median_of(res) for res in blocks("re-created original")]
    pairs = ", ".join(f"{o / f:.2f}x" for f, o in zip(ft_blocks, og_blocks))
    pooled_ratio = pooled("re-created original") / pooled("facetwin (original)")
    print(f"ratio facetwin/original samples/s per block pair: {pairs}; pooled medians: {pooled_ratio:.2f}x")
    spread = max(max(b) / min(b) for b in (ft_blocks, og_blocks))
    if spread > 1.25:
        print(
            f"WARNING: block medians of one approach differ by {100 * (spread - 1):.0f} %: other work on this "
            "machine slowed some blocks; the pooled figure is unreliable, the fastest blocks are used below"
        )
    ft_best = fastest("facetwin (original)")
    ft, og = median_of(ft_best), median_of(og_best)
    ft_c, og_c = median_of(ft_best, "step_cpu_seconds"), median_of(og_best, "step_cpu_seconds")
    ratio, cpu_ratio = og / ft, og_c / ft_c
    print(
        f"RATIO facetwin/original samples/s (fastest block of each: {2 * BATCH / ft:.2f} vs {2 * BATCH / og:.2f}): "
        f"wall {ratio:.2f}x, CPU time {cpu_ratio:.2f}x  (issue requires >= 3x: {'met' if ratio >= 3 else 'NOT met'})"
    )
    if args.before:
        bf = fastest("before (original)")
        b_wall, b_cpu = median_of(bf), median_of(bf, "step_cpu_seconds")
        print(
            f"today against {args.before} (fastest block of each): wall {b_wall / ft:.2f}x, CPU time {b_cpu / ft_c:.2f}x "
            f"({b_wall:.3f} -> {ft:.3f} s a step, {b_cpu:.3f} -> {ft_c:.3f} CPU s)"
        )
    if fast is not None:
        fm, fc = median_of(fast), median_of(fast, "step_cpu_seconds")
        print(
            f"facetwin default model fast64, batch {BATCH}: {2 * BATCH / fm:.2f} samples/s "
            f"({fm:.3f} s/step, {fc:.3f} CPU s, median of {len(fast['step_seconds'])} steps), "
            f"{fast['peak_rss_mib']:.0f} MiB peak RSS, {og / fm:.1f}x the re-created original's fastest block"
        )

    # How close each loop runs to the machine's arithmetic ceiling. Training costs about
    # 3x the forward FLOPs (forward, input gradients, weight gradients); the original
    # loop also runs 4 x 14 preview faces forward per iteration. The peak is measured
    # here, in this run, with all threads (for wall time) and with one (per core, for CPU
    # time), so a fraction means the same on any CPU.
    import torch

    threads = first["threads"]
    peak = {}
    for name in ("float32", "bfloat16"):
        torch.set_num_threads(1)
        peak[name, 1] = matmul_peak(name)
        torch.set_num_threads(threads)
        peak[name, threads] = matmul_peak(name)
    flops = forward_flops("original")
    step_flops = 3 * flops * 2 * BATCH
    original_flops = step_flops + flops * 4 * PREVIEW_FACES
    print(
        f"\nmatrix-product peak here (2048x8192 @ 8192x2048, median of 7), GFLOP/s: float32 "
        f"{peak['float32', 1] / 1e9:.0f} one thread, {peak['float32', threads] / 1e9:.0f} with {threads}; bfloat16 "
        f"{peak['bfloat16', 1] / 1e9:.0f} one thread, {peak['bfloat16', threads] / 1e9:.0f} with {threads} "
        f"(bf16/float32 per core {peak['bfloat16', 1] / peak['float32', 1]:.2f}x)"
    )
    print(
        f"original model: {flops / 1e9:.2f} GFLOP per face forward, about {step_flops / 1e12:.2f} TFLOP per "
        f"training step of 2 x {BATCH} faces"
    )

    def fraction(step_flops: float, wall: float, cpu: float, dtype: str) -> str:
        wall_rate, core_rate = step_flops / wall, step_flops / cpu
        return (
            f"{wall_rate / 1e9:.0f} GFLOP/s wall ({100 * wall_rate / peak[dtype, threads]:.0f} % of the {dtype} peak "
            f"with {threads} threads), {core_rate / 1e9:.0f} GFLOP per CPU second "
            f"({100 * core_rate / peak[dtype, 1]:.0f} % of one core's)"
        )

    print(f"achieved, facetwin (fastest block): {fraction(step_flops, ft, ft_c, 'bfloat16')}")
    print(f"achieved, re-created original (fastest block): {fraction(original_flops, og, og_c, 'float32')}")
    bound_wall, bound_cpu = step_flops / peak["bfloat16", threads], step_flops / peak["bfloat16", 1]
    print(
        f"ceiling: a step at 100 % of the bf16 peak takes {bound_wall:.2f} s ({bound_cpu:.2f} CPU s), at most "
        f"{og / bound_wall:.2f}x the re-created original's fastest block in wall time, {og_c / bound_cpu:.2f}x in CPU "
        f"time; facetwin reaches {ratio:.2f}x / {cpu_ratio:.2f}x of that"
    )
    print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
