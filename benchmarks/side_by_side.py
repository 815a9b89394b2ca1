"""Side-by-side stills of a pair's swaps in both directions: input | today | new.

For each direction, a held-out frame of the target video (the last 20 % that training
never read) is swapped with each model given; the columns are the input and each
model's output, cut around the face. The swapped tiles are labelled SYNTHETIC.

    python benchmarks/side_by_side.py OUT.jpg --pair talking_d3 talking_d13 \\
        --model today=/work/suite/models/talking_d3_talking_d13 --model new=/work/suite-new/models/talking_d3_talking_d13
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.conversion.swap import FaceSwapper, SwapFace
from facetwin.faces import FaceFinder
from facetwin.faces.find import largest_face
from facetwin.io.media import open_media
from facetwin.models.checkpoint import load_model

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def held_out_frame(video: Path, at: float) -> np.ndarray:
    """The frame at fraction ``at`` of the video (0.9: inside the held-out last 20 %)."""
    source = open_media(video)
    try:
        frames = [frame.image for frame in source.frames()]
    finally:
        source.close()
    return frames[int(at * (len(frames) - 1))]


def tile(picture: np.ndarray, box: np.ndarray, label: str, note: str = "", size: int = 260) -> np.ndarray:
    x0, y0, x1, y1 = box.astype(int)
    pad = int(0.35 * (x1 - x0))
    crop = picture[max(y0 - pad, 0) : y1 + pad // 2, max(x0 - pad, 0) : x1 + pad]
    crop = cv2.resize(crop, (size, int(size * crop.shape[0] / crop.shape[1])), interpolation=cv2.INTER_AREA)
    caption = np.full((44, size, 3), 255, np.uint8)
    cv2.putText(caption, label, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(caption, note, (5, 37), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (160, 0, 0), 1, cv2.LINE_AA)
    return np.pad(np.concatenate([crop, caption]), ((2, 2), (2, 2), (0, 0)), constant_values=255)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--pair", nargs=2, default=["talking_d3", "talking_d13"], metavar=("A", "B"))
    parser.add_argument("--model", action="append", required=True, metavar="LABEL=DIR")
    parser.add_argument("--at", type=float, default=0.92, help="where in the video: a fraction of its length")
    args = parser.parse_args()
    models = [(label, load_model(path)) for label, path in (m.split("=", 1) for m in args.model)]
    finder = FaceFinder(ExtractConfig(), video=False)
    rows = []
    a, b = args.pair
    # to="a": A's face onto B's frame; to="b": B's face onto A's frame.
    for target, to in ((b, "a"), (a, "b")):
        frame = held_out_frame(VIDEOS / f"{target}.mp4", args.at)
        face = largest_face(finder(frame, 0.0))
        cells = [tile(frame, face.box, f"input: {target}")]
        for label, model in models:
            swapped, _ = FaceSwapper(model, ConvertConfig(to=to)).swap(frame, [SwapFace(face.landmarks)])
            cells.append(tile(swapped, face.box, label, "SYNTHETIC (face-swapped)"))
        height = max(c.shape[0] for c in cells)
        rows.append(
            np.concatenate(
                [np.pad(c, ((0, height - c.shape[0]), (0, 0), (0, 0)), constant_values=255) for c in cells], axis=1
            )
        )
    width = max(r.shape[1] for r in rows)
    grid = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    cv2.imwrite(str(args.output), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{args.output}: {grid.shape[1]}x{grid.shape[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
