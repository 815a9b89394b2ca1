"""facetwin dataset on a tiny pair of package-shipped portraits with a tiny model."""

from __future__ import annotations

import json
from dataclasses import replace

import av
import numpy as np
import pytest
from _helpers import lock_held_elsewhere, shifted, write_video

from facetwin.config import ExtractConfig, TrainConfig
from facetwin.dataset import DatasetConfig, Pair, check_pair, generate_dataset, read_pairs
from facetwin.errors import ClusterUnreachableError, InputNotFoundError, InvalidOptionError
from facetwin.forensics.report import verify

FRAMES = 10


def _video(path, image, *, blank=()):
    small = image[:320, 64:384] if image.shape[0] >= 320 else image
    frames = [shifted(small, 1.5 * i, 0.7 * i)[32:288, 32:288] for i in range(FRAMES)]
    for i in blank:
        frames[i] = np.full_like(frames[0], 90)
    return write_video(path, frames, fps=25)


@pytest.fixture(scope="module")
def videos(tmp_path_factory, astronaut, grace_hopper):
    folder = tmp_path_factory.mktemp("videos")
    grace = grace_hopper[40:440, 60:460]
    return {
        "astro": _video(folder / "astro.mp4", astronaut, blank=(3,)),
        "grace": _video(folder / "grace.mp4", np.ascontiguousarray(grace)),
    }


def _config(**changes) -> DatasetConfig:
    config = DatasetConfig(
        ladder={"c0": 0, "c23": 23},
        extract=ExtractConfig(identity=True),
        train=TrainConfig(model="tiny64", steps=2, batch_size=4, preview_every=1000, save_every=1000, log_every=1),
    )
    return replace(config, **changes)


@pytest.fixture(scope="module")
def made(tmp_path_factory, videos):
    out = tmp_path_factory.mktemp("dataset")
    pairs = [Pair(videos["astro"], videos["grace"]), Pair(videos["grace"], videos["astro"])]
    events = []
    summary = generate_dataset(pairs, out, config=_config(), device="cpu", progress=events.append)
    return out, pairs, summary, events


def test_every_part_is_written(made):
    out, pairs, summary, events = made
    assert summary.done == ["astro_grace", "grace_astro"] and not summary.failed
    for name in ("astro_grace", "grace_astro"):
        for level in ("c0", "c23"):
            assert (out / "manipulated" / "facetwin" / level / f"{name}.mp4").is_file()
        assert (out / "masks" / "facetwin" / f"{name}.mp4").is_file()
        assert (out / "labels" / f"{name}.json").is_file() and (out / "labels" / f"{name}.csv").is_file()
    for video in ("astro", "grace"):
        assert (out / "original" / f"{video}.mp4").read_bytes() == pairs[0].target.parent.joinpath(
            f"{video}.mp4"
        ).read_bytes()
        for level in ("c0", "c23"):  # re-encoded and marked exactly as the fakes are
            assert (out / "original" / level / f"{video}.mp4").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "facetwin/dataset" and manifest["settings"]["ladder"] == {"c0": 0, "c23": 23}
    assert manifest["version"] == 2 and "originals and fakes alike" in manifest["marks"]["watermark"]
    assert manifest["splits"]["by"] == "video"  # the two pairs share both videos: one group, all in train
    assert manifest["splits"]["train"] == ["astro_grace", "grace_astro"]
    assert (out / "signer" / "signer-chain.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE")
    assert {p["status"] for p in manifest["pairs"].values()} == {"done"}
    assert all(p["model_fingerprint"].startswith("sha256:") for p in manifest["pairs"].values())
    assert manifest["software"]["facetwin"] and manifest["software"]["torch"]
    assert {e.stage for e in events} >= {"extract", "train", "convert", "pair"}
    assert {e.item for e in events if e.stage == "convert"} == {"astro_grace", "grace_astro"}
    assert not list(out.rglob("*.part")) and not list(out.rglob("*.tmp"))


def test_labels_match_frames_and_masks_match_changes(made):
    out, _, _, _ = made
    check = check_pair(out, "astro_grace")
    assert check["counts_match"], check
    assert check["frames_labelled"] == FRAMES
    labels = json.loads((out / "labels" / "astro_grace.json").read_text())
    rows = labels["rows"]
    assert [r["frame"] for r in rows] == list(range(FRAMES)) == [r["real_frame"] for r in rows]
    assert rows[3]["label"] == "real" and rows[3]["faces"] == []  # the blank frame has no face
    fake = [r for r in rows if r["label"] == "fake"]
    assert len(fake) == labels["fake_frames"] >= FRAMES - 2
    face = fake[0]["faces"][0]
    assert len(face["landmarks"]) == 68 and len(face["box"]) == 4
    assert len(labels["source"]["identity"]) == 128 and len(labels["target"]["identity"]) == 128
    assert check["mask_iou_median"] is not None and check["mask_iou_median"] > 0.5, check


def test_originals_carry_the_fakes_mark_and_verify_still_tells_them_apart(made, tmp_path):
    out, _, _, _ = made
    fake = verify(out / "manipulated" / "facetwin" / "c23" / "astro_grace.mp4", trust_dir=out / "signer")
    assert fake.synthetic and fake.watermark.found and fake.c2pa.valid and fake.status == "synthetic"
    assert fake.claim["dataset_pair"] == "astro_grace"
    for level in ("c0", "c23"):
        real = verify(out / "original" / level / "astro.mp4", trust_dir=out / "signer")
        # The same pixel mark as the fakes, so a detector cannot learn it; the signed
        # manifest (trusted through the dataset's signer folder) says real.
        assert real.watermark.found and real.c2pa.valid and real.c2pa.trusted
        assert real.status == "original" and not real.synthetic and real.verdict.startswith("REAL")
        assert real.claim["synthetic"] is False and real.claim["dataset_original"] is True
    # Without trusting the dataset's signer the watermark counts: anyone can sign a fake "original".
    stranger = verify(out / "original" / "c23" / "astro.mp4", trust_dir=_other_key(tmp_path))
    assert stranger.synthetic and "not trusted here" in stranger.verdict
    # The untouched source keeps no mark at all.
    assert verify(out / "original" / "astro.mp4").status == "none"
    # The mask is a label: lossless and unmarked, 0 where nothing changed.
    with av.open(str(out / "masks" / "facetwin" / "astro_grace.mp4")) as c:
        masks = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    assert len(masks) == FRAMES and masks[3].max() <= 1 and masks[0].max() >= 250


def _other_key(tmp_path):
    from facetwin.forensics.c2pa import ensure_signing_key

    ensure_signing_key(tmp_path / "other-key")
    return tmp_path / "other-key"


def test_no_cue_but_the_swap_separates_originals_and_fakes(made):
    out, _, _, _ = made
    check = check_pair(out, "astro_grace")
    # Away from the swapped face, a fake's lossless frames are its original's, mark and all.
    outside = check["outside_mask"]
    assert outside["pixels"] > 10_000 and outside["mean"] < 0.05 and outside["p99"] <= 1, outside
    for level, cues in check["cues"].items():
        # Same encoder, pixel format, colour range, size, rate, frame count, sound and tags.
        assert cues["same"], (level, cues["differ"])
        assert 0.8 < cues["size_ratio"] < 1.25, (level, cues["size_ratio"])


def test_rerun_skips_finished_pairs(made):
    out, pairs, _, _ = made
    before = (out / "labels" / "astro_grace.json").stat().st_mtime_ns
    summary = generate_dataset(pairs, out, config=_config(), device="cpu")
    assert summary.skipped == ["astro_grace", "grace_astro"] and not summary.done
    assert (out / "labels" / "astro_grace.json").stat().st_mtime_ns == before


def test_resume_after_a_crash_mid_pair(tmp_path, videos):
    pairs = [Pair(videos["astro"], videos["grace"]), Pair(videos["grace"], videos["astro"])]

    def crash(event):
        if event.item == "grace_astro" and event.stage == "convert" and event.done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_dataset(pairs, tmp_path, config=_config(), device="cpu", progress=crash)
    assert (tmp_path / "labels" / "astro_grace.json").is_file()
    assert not (tmp_path / "labels" / "grace_astro.json").exists()
    assert not (tmp_path / "manipulated" / "facetwin" / "c0" / "grace_astro.mp4").exists()
    assert not list(tmp_path.rglob("*.part"))
    summary = generate_dataset(pairs, tmp_path, config=_config(), device="cpu")
    assert summary.skipped == ["astro_grace"] and summary.done == ["grace_astro"]
    assert check_pair(tmp_path, "grace_astro")["counts_match"]


def test_a_failing_pair_is_recorded_and_the_run_goes_on(tmp_path, videos):
    blank = write_video(tmp_path / "empty.mp4", [np.full((64, 64, 3), 90, np.uint8)] * 3)
    pairs = [Pair(blank, videos["grace"]), Pair(videos["astro"], videos["grace"])]
    summary = generate_dataset(pairs, tmp_path / "out", config=_config(), device="cpu")
    assert summary.done == ["astro_grace"] and list(summary.failed) == ["empty_grace"]
    assert "face" in summary.failed["empty_grace"].lower()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["pairs"]["empty_grace"]["status"] == "failed"


def test_seeded_runs_are_deterministic(tmp_path, videos):
    pairs = [Pair(videos["astro"], videos["grace"])]
    config = _config(ladder={"c0": 0})
    for run in ("one", "two"):
        generate_dataset(pairs, tmp_path / run, config=config, device="cpu")
    frames = []
    for run in ("one", "two"):
        with av.open(str(tmp_path / run / "manipulated" / "facetwin" / "c0" / "astro_grace.mp4")) as c:
            frames.append(np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]))
    assert np.array_equal(frames[0], frames[1])
    fingerprints = [
        json.loads((tmp_path / r / "manifest.json").read_text())["pairs"]["astro_grace"]["model_fingerprint"]
        for r in ("one", "two")
    ]
    assert fingerprints[0] == fingerprints[1]


def test_read_pairs_json_and_csv(tmp_path, videos):
    folder = videos["astro"].parent
    (tmp_path / "split.json").write_text(json.dumps([["astro", "grace"], ["grace", "astro"]]))
    pairs = read_pairs(tmp_path / "split.json", videos=folder)
    assert [p.name for p in pairs] == ["astro_grace", "grace_astro"] and pairs[0].target == videos["astro"]
    (tmp_path / "pairs.csv").write_text(f"target,source\n{videos['astro']},{videos['grace']}\n")
    assert read_pairs(tmp_path / "pairs.csv")[0].source == videos["grace"]
    (tmp_path / "bad.json").write_text(json.dumps([["astro", "nobody"]]))
    with pytest.raises(InputNotFoundError):
        read_pairs(tmp_path / "bad.json", videos=folder)
    (tmp_path / "same.csv").write_text(f"{videos['astro']},{videos['astro']}\n")
    with pytest.raises(InvalidOptionError, match="two different videos"):
        read_pairs(tmp_path / "same.csv")


def test_settings_of_a_started_dataset_cannot_change(made, videos):
    out, pairs, _, _ = made
    with pytest.raises(InvalidOptionError, match="settings"):
        generate_dataset(pairs, out, config=_config(seed=7), device="cpu")


def test_variants_are_written_for_fakes_and_originals(tmp_path, videos):
    pairs = [Pair(videos["astro"], videos["grace"])]
    generate_dataset(
        pairs, tmp_path, config=_config(ladder={"c0": 0, "c23": 23}, variants=("resize:0.5", "noise:4")), device="cpu"
    )
    for root in ("manipulated/facetwin", "original"):
        name = "astro_grace" if root.startswith("manip") else "astro"
        with av.open(str(tmp_path / root / "c23_resize0.5" / f"{name}.mp4")) as c:
            assert (c.streams.video[0].width, c.streams.video[0].height) == (128, 128)
        assert (tmp_path / root / "c23_noise4" / f"{name}.mp4").is_file()
    assert verify(tmp_path / "manipulated/facetwin/c23_resize0.5/astro_grace.mp4").watermark.found


def test_parallel_jobs_make_the_same_models(made, tmp_path):
    out, pairs, _, _ = made
    summary = generate_dataset(pairs, tmp_path, config=_config(jobs=2), device="cpu")
    assert sorted(summary.done) == ["astro_grace", "grace_astro"] and not summary.failed
    serial = json.loads((out / "manifest.json").read_text())["pairs"]
    parallel = json.loads((tmp_path / "manifest.json").read_text())["pairs"]
    for name in serial:
        assert parallel[name]["model_fingerprint"] == serial[name]["model_fingerprint"]
    assert check_pair(tmp_path, "grace_astro")["counts_match"]


def test_cli_makes_and_checks_a_dataset(tmp_path, videos, capsys):
    from facetwin.cli import main

    (tmp_path / "pairs.csv").write_text("target,source\nastro,grace\n")
    args = [
        "-q",
        "dataset",
        str(tmp_path / "pairs.csv"),
        "--videos",
        str(videos["astro"].parent),
        "-o",
        str(tmp_path / "ds"),
        "--steps",
        "2",
        "--model",
        "tiny64",
        "--batch-size",
        "4",
        "--ladder",
        "c0=0,c40=40",
        "--check",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "1 pairs made" in out and "frames match" in out
    assert (tmp_path / "ds" / "manipulated" / "facetwin" / "c40" / "astro_grace.mp4").is_file()
    assert main(args) == 0 and "1 already done" in capsys.readouterr().out
    assert main(["dataset", str(tmp_path / "pairs.csv"), "-o", str(tmp_path / "x"), "--ladder", "c0"]) == 2
    assert "--ladder" in capsys.readouterr().err


def test_ray_runs_the_pairs_as_tasks(tmp_path, videos):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'facetwin[ray]')")
    pairs = [Pair(videos["astro"], videos["grace"]), Pair(videos["grace"], videos["astro"])]
    try:
        summary = generate_dataset(pairs, tmp_path, config=_config(ladder={"c0": 0}), device="cpu", ray_address="local")
    finally:
        ray.shutdown()
    assert sorted(summary.done) == ["astro_grace", "grace_astro"] and not summary.failed, summary.failed
    assert check_pair(tmp_path, "astro_grace")["counts_match"]


def test_unreachable_ray_address_is_one_line_in_seconds(tmp_path, videos):
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'facetwin[ray]')")
    import socket
    import time

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClusterUnreachableError) as info:
        generate_dataset(
            [Pair(videos["grace"], videos["astro"])], tmp_path / "ds", config=_config(), ray_address=f"127.0.0.1:{port}"
        )
    assert time.monotonic() - started < 30  # Ray alone retried for over 400 s
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value) and "\n" not in str(info.value)


# --- outputs that are inputs, or in use (issue 15) ----------------------------------------------


def test_an_input_video_is_refused_as_the_dataset_folder(tmp_path, videos):
    from facetwin.errors import OutputConflictError

    before = videos["astro"].read_bytes()
    with pytest.raises(OutputConflictError, match="is the same file as the input .*astro.mp4"):
        generate_dataset(
            [Pair(videos["astro"], videos["grace"])],
            videos["astro"].parent / "." / "astro.mp4",
            config=_config(),
            device="cpu",
        )
    assert videos["astro"].read_bytes() == before


def test_a_dataset_folder_in_use_is_refused(tmp_path, videos):
    from facetwin.errors import OutputLockedError

    with lock_held_elsewhere(tmp_path / "set", "dataset"):
        with pytest.raises(OutputLockedError, match=r"set is in use by facetwin dataset \(pid \d+"):
            generate_dataset([Pair(videos["astro"], videos["grace"])], tmp_path / "set", config=_config(), device="cpu")
        assert sorted(p.name for p in (tmp_path / "set").iterdir()) == [".facetwin.lock"]  # no manifest


def test_temporaries_of_a_killed_run_are_removed_by_the_next(made):
    out, pairs, _, _ = made
    stale = [
        out / "original" / "c23" / ".astro.mp4.3bor2rec.part",
        out / "manipulated" / "facetwin" / "c0" / ".astro_grace.mp4.abcdefgh.part",
        out / "masks" / "facetwin" / ".astro_grace.mp4.abcdefgh.part",
        out / "labels" / ".astro_grace.json.abcdefgh.tmp",
        out / ".manifest.json.abcdefgh.tmp",
    ]
    for path in stale:
        path.write_bytes(b"half")
    kept = out / "labels" / "notes.txt"
    kept.write_text("mine")
    summary = generate_dataset(pairs, out, config=_config(), device="cpu")
    assert sorted(summary.skipped) == ["astro_grace", "grace_astro"]
    assert not any(path.exists() for path in stale) and kept.exists()
    kept.unlink()
