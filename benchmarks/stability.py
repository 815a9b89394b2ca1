"""How steady are aligned crops from frame to frame? Smoothing on versus off.

For each frame the crop's centre, scale and angle in the frame are read from the
inverse of its matrix. Real head motion is smooth, so jitter is measured as the
second difference (frame t+1 - 2 t + t-1) of the centre, in percent of the face's
width, and of the log-scale and angle; lag as the mean distance between smoothed and
raw landmarks in percent of face width. Also the mean absolute pixel change between
consecutive crops. One run, both settings, same video.

Run: python benchmarks/stability.py [--video PATH] [--sheet OUT.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

import facetwin
from facetwin.faces.align import invert_affine, matrix_scale
from facetwin.io import read_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def trajectory(folder: Path) -> dict[str, np.ndarray]:
    al = facetwin.load_alignments(folder / "alignments.json")
    rows = [(fr.index, fa) for fr, fa in al.faces() if fa.face == 0]
    centre = (al.crop_size - 1) / 2
    out = {"index": [], "cx": [], "cy": [], "logs": [], "angle": [], "width": [], "crop": []}
    for index, face in rows:
        inv = invert_affine(face.matrix)
        c = inv[:, :2] @ [centre, centre] + inv[:, 2]
        out["index"].append(index)
        out["cx"].append(c[0])
        out["cy"].append(c[1])
        out["logs"].append(np.log(matrix_scale(face.matrix)))
        out["angle"].append(np.degrees(np.arctan2(face.matrix[1, 0], face.matrix[0, 0])))
        out["width"].append(face.box[2] - face.box[0])
        out["crop"].append(folder / face.crop)
    return {k: (np.array(v) if k != "crop" else v) for k, v in out.items()}


def jitter(t: dict[str, np.ndarray]) -> dict[str, float]:
    consecutive = np.diff(t["index"]) == 1
    ok = consecutive[1:] & consecutive[:-1]

    def second_diff(x: np.ndarray) -> np.ndarray:
        return np.abs(x[2:] - 2 * x[1:-1] + x[:-2])[ok]

    width = t["width"][1:-1][ok]
    centre = np.hypot(second_diff(t["cx"]), second_diff(t["cy"])) / width * 100
    crops = t["crop"]
    pix = [
        np.abs(read_image(crops[i + 1]).astype(np.float32) - read_image(crops[i]).astype(np.float32)).mean()
        for i in range(0, len(crops) - 1, 3)
        if consecutive[i]
    ]
    return {
        "centre jitter (% face width)": float(np.mean(centre)),
        "scale jitter (% )": float(np.mean(second_diff(t["logs"])) * 100),
        "angle jitter (deg)": float(np.mean(second_diff(t["angle"]))),
        "crop change (grey levels)": float(np.mean(pix)),
    }


def lag(folder: Path, raw_folder: Path) -> float:
    smooth = facetwin.load_alignments(folder / "alignments.json")
    raw = {fr.index: fr.faces[0] for fr in facetwin.load_alignments(raw_folder / "alignments.json").frames if fr.faces}
    d = []
    for fr in smooth.frames:
        if fr.faces and fr.index in raw:
            a, b = fr.faces[0], raw[fr.index]
            d.append(np.linalg.norm(a.landmarks - b.landmarks, axis=1).mean() / (b.box[2] - b.box[0]) * 100)
    return float(np.mean(d))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=DATA / "videos" / "talking_d3.mp4")
    parser.add_argument("--sheet", type=Path, help="write a PNG of 8 consecutive crops, raw above smoothed")
    args = parser.parse_args()
    if not args.video.exists():
        print(f"needs {args.video} (../shared/data is absent)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for label, smooth in (("raw", False), ("smoothed", True)):
            out = Path(tmp) / label
            facetwin.extract(args.video, out, config=facetwin.ExtractConfig(smooth=smooth))
            runs[label] = out
        print(f"video: {args.video.name}")
        results = {label: jitter(trajectory(out)) for label, out in runs.items()}
        keys = list(results["raw"])
        print(f"{'metric':32s} {'raw':>9s} {'smoothed':>9s} {'ratio':>7s}")
        for k in keys:
            r, s = results["raw"][k], results["smoothed"][k]
            print(f"{k:32s} {r:9.3f} {s:9.3f} {r / s if s else float('inf'):6.1f}x")
        print(f"{'lag: smoothed vs raw landmarks':32s} {lag(runs['smoothed'], runs['raw']):9.3f} % face width")
        if args.sheet:
            import cv2

            rows = []
            for label in ("raw", "smoothed"):
                t = trajectory(runs[label])
                rows.append(np.hstack([read_image(p) for p in t["crop"][100:108]]))
            sheet = np.vstack(rows)[::2, ::2]
            cv2.imwrite(str(args.sheet), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
            print(f"sheet: {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
