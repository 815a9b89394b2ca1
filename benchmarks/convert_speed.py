"""Conversion speed at 480p, 720p, 1080p and on a multi-face clip: two checkouts side by side.

Each run is its own process with PYTHONPATH at one checkout's src/; the checkouts
alternate, so a shared machine's load falls on both alike. Each converts the first
--frames frames of a clip with the same trained model (the default architecture,
fast128 whole face, e.g. the model ``facetwin demo`` writes) and every default of
``facetwin convert``, and reports frames/s (wall) and CPU ms a frame (all threads),
medians over --repeats, and faces a frame: for the whole run (loading and signing
included) and steady, from the 10th frame to the last (what real time means for a
stream). A variant may set environment variables for the new checkout (``--env
OMP_WAIT_POLICY=PASSIVE``) to measure a thread policy.

The clips are cut from ../shared/data/videos: portrait_s18 (1280x720) scaled to 854x480
and 1920x1080 and kept at 720p, and multi_hamilton (several faces a frame).

    git archive 5a0fc51 src | tar x -C /tmp/before
    python benchmarks/convert_speed.py --old /tmp/before/src --new src --model MODEL_DIR [--frames 60]
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

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = {"480p": ("portrait_s18.mp4", (854, 480)), "720p": ("portrait_s18.mp4", None)}
CLIPS.update({"1080p": ("portrait_s18.mp4", (1920, 1080)), "multi-face": ("multi_hamilton.mp4", None)})
RUN = r"""
import json, sys, time, resource, importlib
from pathlib import Path
clip, model, out = sys.argv[1:4]
convert = importlib.import_module("facetwin.conversion").convert
ConvertConfig = importlib.import_module("facetwin.config").ConvertConfig
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
marks = {}
def progress(event):
    # The clock and CPU at the 10th frame and at the last: the rate in between is the
    # steady one, without loading the models nor signing the file.
    now = (time.perf_counter(), cpu(), event.done)
    marks["last"] = now
    if event.done == 10:
        marks["tenth"] = now
t0, c0 = time.perf_counter(), cpu()
s = convert(clip, model, out, config=ConvertConfig(to="a"), progress=progress)
wall, used = time.perf_counter() - t0, cpu() - c0
(a, ca, _), (b, cb, last) = marks["tenth"], marks["last"]
print(json.dumps({"wall": wall, "cpu": used, "frames": s.frames, "faces": s.faces_swapped,
                  "steady_fps": (last - 10) / (b - a), "steady_cpu_ms": 1000 * (cb - ca) / (last - 10)}))
"""


def cut(name: str, size, frames: int, path: Path) -> Path:
    """The first ``frames`` frames of a shared video, scaled to ``size``, as H.264 at CRF 18."""
    import av
    import numpy as np

    with av.open(str(DATA / name)) as source, av.open(str(path), "w") as out:
        stream = source.streams.video[0]
        w, h = size or (stream.width, stream.height)
        video = out.add_stream("libx264", rate=25, options={"crf": "18"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        for n, frame in enumerate(source.decode(stream)):
            if n == frames:
                break
            image = frame.to_ndarray(format="rgb24", width=w, height=h)
            for packet in video.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="src/ of the checkout before")
    parser.add_argument("--new", type=Path, required=True, help="src/ of the checkout after")
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder (fast128)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the new checkout's runs")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            name, size = CLIPS[clip]
            source = cut(name, size, args.frames, Path(tmp) / f"{clip}.mp4")
            for repeat in range(args.repeats):
                for which, src in (("old", args.old), ("new", args.new)):
                    env = {**os.environ, "PYTHONPATH": str(src.resolve()), **(extra if which == "new" else {})}
                    out = Path(tmp) / f"{clip}-{which}-{repeat}.mp4"
                    done = subprocess.run(
                        [sys.executable, "-c", RUN, str(source), str(args.model), str(out)],
                        env=env,
                        capture_output=True,
                        text=True,
                    )
                    if done.returncode:
                        sys.exit(f"{which} {clip}: {done.stderr.strip().splitlines()[-1]}")
                    run = json.loads(done.stdout.strip().splitlines()[-1])
                    results.setdefault((clip, which), []).append(run)
                    print(f"{clip:10s} {which}: {run['frames'] / run['wall']:6.1f} frames/s, "
                          f"{1000 * run['cpu'] / run['frames']:6.1f} ms CPU a frame; steady (frame 10 on) "
                          f"{run['steady_fps']:6.1f} frames/s, {run['steady_cpu_ms']:6.1f} ms CPU", flush=True)  # fmt: skip
    print(f"\nmedians ({args.frames} frames, {args.repeats} runs each; new with {extra or 'no extra settings'}):")
    print("whole run (loading the model and signing the file included) | steady: from the 10th frame to the last")
    print(
        f"{'clip':10s} {'faces/frame':>11s} {'old f/s':>8s} {'new f/s':>8s} {'ratio':>6s} {'old ms CPU':>10s} "
        f"{'new ms CPU':>10s} | {'old f/s':>8s} {'new f/s':>8s} {'old ms CPU':>10s} {'new ms CPU':>10s}"
    )
    for clip in args.clips:
        old, new = results[(clip, "old")], results[(clip, "new")]
        fps = [statistics.median(r["frames"] / r["wall"] for r in runs) for runs in (old, new)]
        cpu = [statistics.median(1000 * r["cpu"] / r["frames"] for r in runs) for runs in (old, new)]
        steady = [statistics.median(r["steady_fps"] for r in runs) for runs in (old, new)]
        steady_cpu = [statistics.median(r["steady_cpu_ms"] for r in runs) for runs in (old, new)]
        faces = new[0]["faces"] / new[0]["frames"]
        print(
            f"{clip:10s} {faces:11.2f} {fps[0]:8.1f} {fps[1]:8.1f} {fps[1] / fps[0]:6.2f} {cpu[0]:10.1f} {cpu[1]:10.1f}"
            f" | {steady[0]:8.1f} {steady[1]:8.1f} {steady_cpu[0]:10.1f} {steady_cpu[1]:10.1f}"
        )


if __name__ == "__main__":
    main()
