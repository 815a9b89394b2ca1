"""Conversion settings judged by `facetwin evaluate`'s metrics, not by the seam alone.

benchmarks/blend.py chose the blending defaults by the seam and flicker they add. This
script adds what the seam cannot see: whose face the output shows (ID retrieval, dlib
and SFace) and whether pose and expression are kept (landmark error), on the held-out
end of talking_d3 / talking_d13 with one trained model.

    python benchmarks/convert_settings.py --model DIR [--frames 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facetwin.config import ConvertConfig
from facetwin.evaluation.report import summary
from facetwin.evaluation.runner import EvaluateConfig, evaluate

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"

SETTINGS = {
    "poisson, erode 0.03 (old default)": ConvertConfig(blend="poisson", erode=0.03),
    "poisson, erode 0": ConvertConfig(blend="poisson", erode=0.0),
    "alpha, erode 0.03": ConvertConfig(blend="alpha", erode=0.03),
    "alpha, erode 0": ConvertConfig(blend="alpha", erode=0.0),
    "alpha, erode 0, forehead 0.2": ConvertConfig(blend="alpha", erode=0.0, forehead=0.2),
    "poisson, erode 0, forehead 0.2": ConvertConfig(blend="poisson", erode=0.0, forehead=0.2),
    "alpha, erode -0.03, forehead 0.2": ConvertConfig(blend="alpha", erode=-0.03, forehead=0.2),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=30, help="held-out frames per video")
    args = parser.parse_args()
    a, b = DATA / "talking_d3.mp4", DATA / "talking_d13.mp4"
    if not a.exists():
        print(f"needs the real data in {DATA}", file=sys.stderr)
        return 2
    print("| settings | ID retrieval dlib A->B / B->A | SFace | dlib to target | landmark error | seam | flicker |")
    print("|---|---|---|---|---|---|---|")
    for label, convert in SETTINGS.items():
        result = summary(evaluate(args.model, a, b, config=EvaluateConfig(max_frames=args.frames), convert=convert))
        ab, ba = result["a_to_b"], result["b_to_a"]

        def pair(key: str, fmt: str) -> str:
            return " / ".join("n/a" if r.get(key) is None else fmt.format(r[key]) for r in (ab, ba))

        print(
            f"| {label} | {pair('id_retrieval_dlib', '{:.0%}')} | {pair('id_retrieval_sface', '{:.0%}')} | "
            f"{pair('identity_dlib_to_target', '{:.3f}')} | {pair('landmark_error', '{:.3f}')} | "
            f"{pair('seam', '{:.3f}')} | {pair('flicker', '{:.3f}')} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
