"""Derive facetwin's mean face (faces/align.py MEAN_FACE) from real faces.

Generalised Procrustes analysis: dlib 68-point landmarks on every single-face image of
../shared/data/faces and on every 15th frame of eight talking-head videos; the 51
non-jaw points of each face are similarity-aligned (Umeyama) to the running mean
until it stops moving, levelled so the eye centres are horizontal, and scaled
uniformly into the unit square. Prints the table pasted into faces/align.py.

Run: python tools/derive_mean_face.py   (needs ../shared/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facetwin.faces.align import transform_points, umeyama
from facetwin.faces.detect import create_detector
from facetwin.faces.landmarks import LandmarkPredictor
from facetwin.io import open_media, read_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEOS = [
    "talking_d3",
    "talking_d13",
    "talking_d19",
    "talking_d18",
    "talking_d12",
    "talking_obama",
    "portrait_s18",
    "portrait_s20",
]


def collect() -> np.ndarray:
    detector = create_detector("hog", upsample=0)
    predictor = LandmarkPredictor()
    shapes = []

    def add(image: np.ndarray) -> None:
        found = detector(image)
        if len(found) == 1:
            shapes.append(predictor(image, found.boxes[0])[17:].astype(np.float64))

    for path in sorted((DATA / "faces").glob("*/*.jpg")):
        add(read_image(path))
    for name in VIDEOS:
        with open_media(DATA / "videos" / f"{name}.mp4") as source:
            for frame in source.frames():
                if frame.index % 15 == 0:
                    add(frame.image)
    return np.stack(shapes)


def procrustes_mean(shapes: np.ndarray, iterations: int = 20) -> np.ndarray:
    def normalise(p: np.ndarray) -> np.ndarray:
        p = p - p.mean(axis=0)
        return p / np.sqrt((p**2).sum())

    mean = normalise(shapes[0])
    for _ in range(iterations):
        aligned = [transform_points(s, umeyama(s, mean)[:2]) for s in shapes]
        new = normalise(np.mean(aligned, axis=0))
        left, right = new[19:25].mean(axis=0), new[25:31].mean(axis=0)  # eye centres
        angle = -np.arctan2(right[1] - left[1], right[0] - left[0])
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        new = new @ rot.T
        done = np.abs(new - mean).max() < 1e-12
        mean = new
        if done:
            break
    lo, hi = mean.min(axis=0), mean.max(axis=0)
    return (mean - (lo + hi) / 2) / (hi - lo).max() + 0.5


def main() -> int:
    if not DATA.exists():
        print(f"needs the real data at {DATA}", file=sys.stderr)
        return 2
    shapes = collect()
    mean = procrustes_mean(shapes)
    print(f"# {len(shapes)} faces")
    for row in np.round(mean, 4):
        print(f"[{row[0]:.4f}, {row[1]:.4f}],")
    return 0


if __name__ == "__main__":
    sys.exit(main())
