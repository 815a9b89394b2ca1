"""Blending measured, not guessed: seam and flicker of every colour/blend/smoothing option.

Swaps the faces of the first --frames frames of a video with a trained model under each
option set and scores the result with facetwin.conversion.metrics:

- seam: mean Sobel gradient in a 4-px band along the mask's 0.5 level in the output,
  over the same band of the untouched frame (1.0 = the blend adds no edge; median over
  the frames with a face);
- flicker: mean frame-to-frame change inside the face in the output, over the input's
  (1.0 = no change beyond what the video itself has).

Faces are found once (as ``convert`` finds them) and every option set swaps the same
faces, so the figures differ only by the option.

Run: python benchmarks/blend.py --model MODEL_DIR [--video ../shared/data/videos/talking_d3.mp4]
     [--to b] [--frames 120]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder")
    parser.add_argument("--video", type=Path, default=DATA / "videos" / "talking_d3.mp4")
    parser.add_argument("--to", default="b", choices=["a", "b"], help="whose face to put in (default b)")
    parser.add_argument("--frames", type=int, default=120, help="frames to convert (default 120)")
    args = parser.parse_args()
    if not args.video.exists():
        sys.exit(f"benchmarks/blend.py: {args.video} not found (it lives in ../shared/data)")

    import numpy as np
    import torch

    from facetwin import load_model
    from facetwin.config import ConvertConfig, ExtractConfig
    from facetwin.conversion import FaceSwapper, SwapFace, flicker_score, seam_score
    from facetwin.device import pick_device, use_bf16
    from facetwin.faces import FaceFinder
    from facetwin.io.media import open_media

    torch.set_num_threads(2)
    frames, faces = [], []
    finder = FaceFinder(ExtractConfig(), video=True)
    with open_media(args.video) as source:
        for frame in source.frames():
            if frame.index >= args.frames:
                break
            frames.append(frame.image)
            faces.append([SwapFace(f.landmarks, f.track_id) for f in finder(frame.image, frame.time)])
    model = load_model(args.model)
    bf16 = use_bf16("auto", pick_device("cpu"))
    inputs = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float().div_(255)
    print(f"{args.video.name}: {len(frames)} frames, {sum(map(len, faces))} faces; model {args.model}, to {args.to}")

    base = ConvertConfig(to=args.to)
    d = f"defaults ({base.colour} {base.blend})"
    variants = [
        (f"colour {c:<9} blend {b}", replace(base, colour=c, blend=b))
        for c in ("none", "mean", "reinhard", "histogram")
        for b in ("alpha", "poisson")
    ]
    variants += [(f"{d}, colour smoothing {w}", replace(base, colour_smoothing=w)) for w in (1.0, 0.1)]
    variants += [(f"{d}, feather {f}", replace(base, feather=f)) for f in (0.0, 0.03, 0.1)]
    variants += [(f"alpha {base.colour}, feather {f}", replace(base, blend="alpha", feather=f)) for f in (0.03, 0.1)]
    variants += [(f"{d}, erode {e}", replace(base, erode=e)) for e in (0.03, -0.03)]
    variants += [(f"{d}, mask {m}", replace(base, mask=m)) for m in ("learned", "both") if model.predicts_mask]
    print(f"defaults: {base}")

    print(f"\n{'options':<44} {'seam (median)':>14} {'seam (p90)':>11} {'flicker':>8}")
    for label, config in variants:
        swapper = FaceSwapper(model, config, bf16=bf16)
        outputs, masks = [], []
        for image, found in zip(frames, faces):
            swapped, mask = swapper.swap(image, found)
            outputs.append(swapped)
            masks.append(mask)
        out = torch.from_numpy(np.stack(outputs)).permute(0, 3, 1, 2).float().div_(255)
        mask_t = torch.from_numpy(np.stack(masks))[:, None]
        with_face = [i for i, f in enumerate(faces) if f]
        seams = seam_score(out[with_face], inputs[with_face], mask_t[with_face]).tolist()
        flicker = float(flicker_score(out, inputs, mask_t))
        p90 = sorted(seams)[int(0.9 * (len(seams) - 1))]
        print(f"{label:<44} {statistics.median(seams):>14.3f} {p90:>11.3f} {flicker:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
