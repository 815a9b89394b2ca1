"""A real swap end to end: two talking-head videos, each converted with the other's decoder.

Takes a model trained on talking_d3 (person A) and talking_d13 (person B) from
../shared/data/videos, converts d3 with decoder B and d13 with decoder A, and checks:

- the output has the input's frame count, frame rate, size and sound;
- whose face the output shows: for every output frame, the dlib identity vector of its
  face is compared with each person's mean identity (taken from their own input video);
  the swap counts as recognised in a frame when the face is closer to the target
  person than to the person it replaced.

Run: python benchmarks/swap_pair.py --model MODEL_DIR [--out DIR] [--every 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos"
PAIR = {"a": DATA / "talking_d3.mp4", "b": DATA / "talking_d13.mp4"}


def streams(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        count = sum(1 for _ in c.decode(video=0))
        audio = [s.codec_context.name for s in c.streams.audio]
        return {"frames": count, "fps": Fraction(v.average_rate), "size": (v.width, v.height), "audio": audio}


def identities(path: Path, every: int):
    """Identity vector of the face in every ``every``-th frame (None where there is none)."""
    import numpy as np

    from facetwin.config import ExtractConfig
    from facetwin.faces import FaceFinder, IdentityEncoder
    from facetwin.io.media import open_media

    finder = FaceFinder(ExtractConfig(), video=True)
    encoder = IdentityEncoder()
    out = []
    with open_media(path) as source:
        for frame in source.frames():
            faces = finder(frame.image, frame.time)
            if frame.index % every:
                continue
            if not faces:
                out.append(None)
                continue
            biggest = max(faces, key=lambda f: f.box[2] - f.box[0])
            out.append(encoder(frame.image, biggest.landmarks))
    return [np.asarray(v) if v is not None else None for v in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="model trained on talking_d3 (A) and talking_d13 (B)")
    parser.add_argument("--out", type=Path, help="folder for the two swapped videos (default: a temporary one)")
    parser.add_argument("--every", type=int, default=1, help="score every Nth frame (default all)")
    args = parser.parse_args()
    missing = [p for p in PAIR.values() if not p.exists()]
    if missing:
        sys.exit(f"benchmarks/swap_pair.py: {missing[0]} not found (it lives in ../shared/data)")

    import numpy as np

    from facetwin.config import ConvertConfig
    from facetwin.conversion import convert

    out = args.out or Path(tempfile.mkdtemp(prefix="facetwin-swap-"))
    out.mkdir(parents=True, exist_ok=True)
    mean_id = {}
    for side, video in PAIR.items():
        vectors = [v for v in identities(video, 5) if v is not None]
        mean_id[side] = np.mean(vectors, axis=0)
    print(f"identity distance between the two people (mean vectors): {np.linalg.norm(mean_id['a'] - mean_id['b']):.3f}")

    for side, video in PAIR.items():
        target = "b" if side == "a" else "a"
        result = out / f"{video.stem}_as_{target}.mp4"
        summary = convert(video, args.model, result, config=ConvertConfig(to=target))
        src, dst = streams(video), streams(result)
        same = {k: src[k] == dst[k] for k in ("frames", "fps", "size", "audio")}
        print(
            f"\n{video.name} -> {result.name}: {summary.frames} frames, {summary.faces_swapped} faces swapped, "
            f"{summary.frames / summary.seconds:.1f} frames/s"
        )
        print(f"  input  {src}\n  output {dst}\n  same: {same}")
        vectors = identities(result, args.every)
        scored = [
            (np.linalg.norm(v - mean_id[target]), np.linalg.norm(v - mean_id[side])) for v in vectors if v is not None
        ]
        closer = sum(1 for to_target, to_source in scored if to_target < to_source)
        print(
            f"  faces scored {len(scored)} of {len(vectors)} frames; closer to the target person ({target.upper()}) "
            f"than to the source ({side.upper()}): {closer} ({100 * closer / max(len(scored), 1):.0f} %)"
        )
        print(
            f"  median distance to target {statistics.median(s[0] for s in scored):.3f}, "
            f"to source {statistics.median(s[1] for s in scored):.3f}"
        )
    print(f"\nvideos in {out}")


if __name__ == "__main__":
    main()
