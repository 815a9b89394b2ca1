"""The embedded default runs with nothing but the installed packages."""

from __future__ import annotations

import cv2
import numpy as np

from facetwin import cli
from facetwin.alignments import load_alignments
from facetwin.io import read_image


def test_demo_runs_the_whole_pipeline(capsys, tmp_path):
    out = tmp_path / "demo"
    code = cli.main(["-q", "demo", "-o", str(out), "--steps", "12"])
    printed = capsys.readouterr().out
    assert code == 0 and "result:" in printed and "model:" in printed
    for side in "ab":
        al = load_alignments(out / f"faces_{side}" / "alignments.json")
        assert al.face_count >= 30 and al.complete  # a face in (nearly) every view
    assert (out / "model" / "weights.safetensors").is_file() and (out / "model" / "loss.png").is_file()
    for side, portrait in (("a", "astronaut.png"), ("b", "grace_hopper.jpg")):
        before = read_image(out / "inputs" / portrait)
        after = read_image(out / f"swapped_{side}.png")
        assert after.shape == before.shape
        changed = np.abs(after.astype(int) - before).max(axis=2) > 8
        # the face changed, the rest of the photo did not
        assert 0.005 < changed.mean() < 0.2
    figure = cv2.imread(str(out / "demo.png"))
    assert figure is not None and figure.shape[0] > 500 and figure.std() > 30
