"""Measure the box corrections in faces/detect.py (_YUNET_TO_DLIB, _LANDMARKS_TO_DLIB).

dlib's 68-point predictor was trained on dlib HOG boxes. For every face that HOG (at
upsample 0) and YuNet both find (IoU > 0.3), the HOG box is expressed in fractions of
the YuNet box (left, top, right, bottom) and of the tight box around the face's 68
landmarks; the medians over all faces are the corrections. Faces: every 6th image of
../shared/data/faces, every image of ../shared/data/images up to 1300 px, and every
20th frame of four talking-head videos.

Run: python tools/calibrate_boxes.py   (needs ../shared/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facetwin.faces import detect
from facetwin.faces.detect import create_detector
from facetwin.faces.landmarks import LandmarkPredictor
from facetwin.faces.track import box_iou
from facetwin.io import IMAGE_SUFFIXES, open_media, read_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def images() -> list[np.ndarray]:
    out = [read_image(p) for p in sorted((DATA / "faces").glob("*/*.jpg"))[::6]]
    out += [read_image(p) for p in sorted((DATA / "images").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    for name in ("talking_d3", "talking_d13", "talking_obama", "portrait_s18"):
        with open_media(DATA / "videos" / f"{name}.mp4") as source:
            out += [f.image for f in source.frames() if f.index % 20 == 0]
    return [im for im in out if max(im.shape[:2]) <= 1300]


def relative(box: np.ndarray, to: np.ndarray) -> np.ndarray:
    w, h = to[2] - to[0], to[3] - to[1]
    return np.array([(box[0] - to[0]) / w, (box[1] - to[1]) / h, (box[2] - to[0]) / w, (box[3] - to[1]) / h])


def main() -> int:
    if not DATA.exists():
        print(f"needs the real data at {DATA}", file=sys.stderr)
        return 2
    hog, predictor = create_detector("hog", upsample=0), LandmarkPredictor()
    yunet = create_detector("yunet")
    yunet_rel, landmark_rel = [], []
    for image in images():
        h = hog(image)
        # Undo facetwin's own correction to see YuNet's raw boxes.
        y = yunet(image)
        raw = []
        for b in y.boxes:
            r = detect._YUNET_TO_DLIB
            w = (b[2] - b[0]) / (r[2] - r[0])
            hh = (b[3] - b[1]) / (r[3] - r[1])
            x0, y0 = b[0] - r[0] * w, b[1] - r[1] * hh
            raw.append([x0, y0, x0 + w, y0 + hh])
        raw = np.array(raw).reshape(-1, 4)
        for box in h.boxes:
            lm = predictor(image, box)
            landmark_rel.append(relative(box, np.concatenate([lm.min(0), lm.max(0)])))
            if len(raw):
                iou = box_iou(box[None], raw)[0]
                if iou.max() > 0.3:
                    yunet_rel.append(relative(box, raw[iou.argmax()]))
    np.set_printoptions(precision=3, suppress=True)
    print(f"YuNet -> dlib, {len(yunet_rel)} faces: {np.median(yunet_rel, axis=0)}")
    print(f"landmarks -> dlib, {len(landmark_rel)} faces: {np.median(landmark_rel, axis=0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
