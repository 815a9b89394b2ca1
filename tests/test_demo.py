"""The embedded default runs with nothing but the installed packages."""

from __future__ import annotations

import cv2

from facetwin import cli
from facetwin.alignments import load_alignments


def test_demo_extracts_both_portraits(capsys, tmp_path):
    code = cli.main(["-q", "demo", "-o", str(tmp_path / "demo")])
    out = capsys.readouterr().out
    assert code == 0 and "figure:" in out
    for side in "ab":
        al = load_alignments(tmp_path / "demo" / f"faces_{side}" / "alignments.json")
        assert al.face_count == 1 and al.complete
    figure = cv2.imread(str(tmp_path / "demo" / "extract.png"))
    assert figure is not None and figure.shape[0] > 400
    # The figure is a picture, not a blank canvas.
    assert figure.std() > 30
