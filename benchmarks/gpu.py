"""One short run for a lent GPU: training throughput against the bf16 peak, per architecture.

Ready for the device machine (issue 19): it needs torch, numpy, scikit-image and facetwin
only (the GPU machines lack dlib, PyAV and c2pa), so the faces are views of the package's
astronaut portrait made in memory, not extracted. In one process it measures:

- the peak: a matrix product in the precision training picks (bf16 on a GPU; 8192^2 on
  CUDA, 2048^2 on a CPU), median of 5, in TFLOP/s, so the fractions mean the same anywhere;
- per architecture: ``facetwin.training.train`` for --steps steps at --batch-size (the
  trainer's defaults: bf16 where fast, channels-last), faces/s from its progress events after the
  first logged ones (a logged step reads the losses, so it waits for the GPU: the timing
  is synchronised), the model's forward FLOPs per face counted by
  ``torch.utils.flop_counter`` and a step's as three forwards (forward and backward),
  and the fraction of the peak that reaches;
- per architecture: the model's faces/s at inference in bf16 and channels-last, in
  batches of --convert-batch (conversion's model call; decoding, finding faces and
  encoding are not in it).

Prints a table and, with --json FILE, every figure. On this CPU, `--device cpu --archs
tiny64 --steps 6` checks that it runs.

    python benchmarks/gpu.py [--device cuda] [--archs fast64 fast128 original] [--steps 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def peak_tflops(device, dtype, torch) -> float:
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for _ in range(6):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times[1:]) / 1e12


def views(count: int, size: int):
    """``count`` turned, zoomed and lit views of the astronaut as a Faces set, uint8."""
    import numpy as np
    import skimage.data
    import skimage.transform
    import torch

    from facetwin.data.dataset import Faces

    image = skimage.data.astronaut()[0:256, 140:396].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        turned = skimage.transform.rotate(image, rng.uniform(-8, 8), mode="reflect")
        turned = skimage.transform.resize(turned, (size, size), anti_aliasing=True)
        out[i] = np.clip(turned * rng.uniform(0.85, 1.15) * 255, 0, 255).astype(np.uint8)
    # Framed like a whole-face extraction, so the trainer cuts its window without a warning.
    return Faces(torch.from_numpy(out), [f"view_{i:03d}.png" for i in range(count)], Path("memory"), coverage=0.35)


def forward_gflops(model, torch) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, 3, model.input_size, model.input_size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, to="a")
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--archs", nargs="+", default=["fast64", "fast128", "original"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--convert-batch", type=int, default=16)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import torch

    from facetwin.config import TrainConfig
    from facetwin.device import pick_device, use_bf16
    from facetwin.models import create_model
    from facetwin.training import train

    device = pick_device(args.device)
    # The precision training picks (bf16 on a GPU, and on a CPU fast at it), and its peak.
    bf16 = use_bf16("auto", device)
    peak = peak_tflops(device, torch.bfloat16 if bf16 else torch.float32, torch)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{name}: {'bf16' if bf16 else 'float32'} matrix product {peak:.2f} TFLOP/s", flush=True)
    faces_a, faces_b = views(96, 256), views(96, 256)
    rows = []
    for arch in args.archs:
        gflops = forward_gflops(create_model(arch), torch)
        rates: list[float] = []

        def seen(event, rates=rates):
            if event.facts.get("samples_per_s"):
                rates.append(event.facts["samples_per_s"])

        config = TrainConfig(
            model=arch, batch_size=args.batch_size, steps=args.steps, log_every=5, save_every=10**6,
            preview_every=10**6,
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            train(faces_a, faces_b, Path(tmp) / "m", config=config, init_from=None, device=str(device), progress=seen)
        logged = sorted(set(rates), key=rates.index)[2:] or rates  # after warm-up
        train_rate = statistics.median(logged)
        achieved = train_rate * 3 * gflops / 1e3

        dtype = torch.bfloat16 if bf16 else torch.float32
        model = create_model(arch).eval().to(device).to(dtype).to(memory_format=torch.channels_last)
        x = torch.rand(args.convert_batch, 3, model.input_size, model.input_size, device=device)
        x = x.to(dtype).contiguous(memory_format=torch.channels_last)
        times = []
        with torch.no_grad():
            for _ in range(12):
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
                model(x, to="a")
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                times.append(time.perf_counter() - start)
        infer_rate = args.convert_batch / statistics.median(times[2:])
        rows.append({
            "arch": arch, "gflop_forward_per_face": round(gflops, 3), "train_faces_per_s": round(train_rate, 1),
            "train_tflops": round(achieved, 2), "fraction_of_peak": round(achieved / peak, 3),
            "infer_faces_per_s": round(infer_rate, 1),
        })  # fmt: skip
        print(rows[-1], flush=True)
    print(
        f"\n{'arch':10s} {'GFLOP/face':>10s} {'train faces/s':>13s} {'TFLOP/s':>8s} {'of peak':>8s} {'infer faces/s':>13s}"
    )
    for r in rows:
        print(
            f"{r['arch']:10s} {r['gflop_forward_per_face']:10.2f} {r['train_faces_per_s']:13.1f} "
            f"{r['train_tflops']:8.2f} {r['fraction_of_peak']:8.1%} {r['infer_faces_per_s']:13.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"device": name, "peak_tflops": peak, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
