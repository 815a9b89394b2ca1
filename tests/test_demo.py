"""The embedded default runs with nothing but the installed packages."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

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


def test_the_demo_clock_foretells_the_end_from_the_pace_so_far():
    from facetwin.demo import DemoClock
    from facetwin.progress import Progress

    now = [0.0]
    seen = []
    clock = DemoClock(views=4, steps=10, progress=seen.append)
    clock.now, clock.started = (lambda: now[0]), 0.0
    for i in range(1, 9):  # 8 views at 0.5 s each: the measured pace replaces the prior
        now[0] += 0.5
        clock.tagged("portrait a")(Progress("extract", min(i, 4), 4, "frame"))
    for step in range(1, 11):  # a step every 2 s after a set-up of 5 s
        now[0] += 5.0 if step == 1 else 2.0
        clock(Progress("train", step, 10, "step"))
        if step == 3:
            # 7 steps at 2 s, and the closing work (8 steps' worth) still to do
            assert seen[-1].stage == "demo" and seen[-1].remaining == pytest.approx(7 * 2.0 + 8 * 2.0)
    for _ in range(clock.CLOSING_PARTS):
        now[0] += 4.0
        clock.finished_part()
    assert seen[-1].remaining == pytest.approx(0.0) and seen[-1].done == 100
    demo_events = [e for e in seen if e.stage == "demo"]
    assert all(0 <= e.done <= 100 for e in demo_events) and len(demo_events) == 8 + 10 + 3
