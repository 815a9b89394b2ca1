"""Tests for facetwin.forensics.provenance and the writers' ``provenance=``: every output says it is synthetic."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from _helpers import tiny_model_dir
from PIL import Image, PngImagePlugin

from facetwin import __version__
from facetwin.forensics.provenance import (
    CLAIM_KEY,
    DIGITAL_SOURCE_TYPE,
    NOTICE,
    Provenance,
    add_png_text,
    png_text,
    read_png_claim,
    read_png_text,
    read_video_claim,
    video_tags,
    write_marked_png,
)
from facetwin.forensics.report import verify
from facetwin.forensics.watermark import THRESHOLD, watermark_score
from facetwin.io import read_image
from facetwin.io.images import encode_png
from facetwin.io.writers import ImageSequenceWriter, VideoWriter, open_writer
from facetwin.models import create_model
from facetwin.models.checkpoint import model_fingerprint, save_checkpoint

FINGERPRINT = re.compile(r"sha256:[0-9a-f]{32}")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def provenance(model_dir) -> Provenance:
    return Provenance.for_model(model_dir, pair="café/0001")


@pytest.fixture(scope="module")
def frames(moving_video) -> list[np.ndarray]:
    with av.open(str(moving_video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def check_claim(claim: dict | None, provenance: Provenance) -> None:
    assert claim is not None
    assert claim["synthetic"] is True
    assert claim["software"] == "facetwin" and claim["version"] == __version__
    assert claim["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert claim["model_fingerprint"] == provenance.model_fingerprint
    assert FINGERPRINT.fullmatch(claim["model_fingerprint"])
    assert claim["created"] == provenance.created
    assert claim["pair"] == "café/0001"


def container_tags(path: Path) -> dict[str, str]:
    with av.open(str(path)) as container:
        return dict(container.metadata)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


# --- the claim and the fingerprint -------------------------------------------------------


def test_claim_names_facetwin_the_model_and_synthetic(provenance, model_dir):
    check_claim(provenance.claim(), provenance)
    assert json.loads(json.dumps(provenance.claim())) == provenance.claim()
    assert provenance.model_fingerprint == model_fingerprint(model_dir)
    anonymous = Provenance().claim()
    assert anonymous["synthetic"] is True and anonymous["model_fingerprint"] is None


def test_fingerprint_is_the_hash_of_the_weights_file(model_dir):
    weights = (model_dir / "weights.safetensors").read_bytes()
    assert model_fingerprint(model_dir) == "sha256:" + hashlib.sha256(weights).hexdigest()[:32]
    assert model_fingerprint(str(model_dir)) == model_fingerprint(model_dir)


def test_fingerprint_follows_the_weights_not_the_config(tmp_path):
    model = create_model("tiny64")
    config = {"model": model.config, "input_size": 64, "predicts_mask": True}
    save = lambda folder, **kw: save_checkpoint(  # noqa: E731
        tmp_path / folder, model=model, optimizer=None, state={"step": 3, "seed": 0}, config=kw.get("config", config)
    )
    save("a")
    save("same")
    save("other_config", config={**config, "note": "renamed"})
    first = model_fingerprint(tmp_path / "a")
    assert FINGERPRINT.fullmatch(first)
    assert model_fingerprint(tmp_path / "same") == first
    assert model_fingerprint(tmp_path / "other_config") == first
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-3
    save("a")  # the same folder, trained a little further
    assert model_fingerprint(tmp_path / "a") != first
    assert Provenance.for_model(tmp_path / "a").model_fingerprint == model_fingerprint(tmp_path / "a")


def test_fingerprint_of_a_folder_without_weights(tmp_path):
    with pytest.raises(FileNotFoundError):
        model_fingerprint(tmp_path)


# --- PNG text chunks ---------------------------------------------------------------------


ENTRIES = {
    "Comment": "Gesichtstausch — synthétique, 合成画像 ✓",
    CLAIM_KEY: json.dumps({"note": "ü", "synthetic": True}),
    "Empty": "",
}


def test_png_text_round_trip_keeps_pixels_for_opencv_and_pillow(astronaut):
    png = encode_png(astronaut)
    tagged = add_png_text(png, ENTRIES)
    assert read_png_text(tagged) == ENTRIES
    assert read_png_text(png) == {}
    # Chunks are inserted, nothing else changes: the rest of the file is byte for byte the same.
    chunks = png_chunks(tagged)
    assert [k for k, _ in chunks[:4]] == [b"IHDR", b"iTXt", b"iTXt", b"iTXt"]
    assert png_chunks(png) == [c for c in chunks if c[0] != b"iTXt"]
    # Other readers decode the same pixels and Pillow reads the same text (CRCs are right).
    cv = cv2.imdecode(np.frombuffer(tagged, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(cv[..., ::-1], astronaut)
    with Image.open(io.BytesIO(tagged)) as image:
        image.load()
        assert np.array_equal(np.asarray(image.convert("RGB")), astronaut)
        assert dict(image.text) == ENTRIES


def test_png_text_read_from_pillow_chunks(astronaut):
    info = PngImagePlugin.PngInfo()
    info.add_text("plain", "latin-1 é")
    info.add_text("zipped", "z" * 300, zip=True)
    info.add_itxt("itxt", "日本語", lang="ja", tkey="Nihongo", zip=True)
    info.add_itxt("later", "first")
    info.add_itxt("later", "second")
    buf = io.BytesIO()
    Image.fromarray(astronaut[:16, :16]).save(buf, "PNG", pnginfo=info)
    expected = {"plain": "latin-1 é", "zipped": "z" * 300, "itxt": "日本語", "later": "second"}
    assert read_png_text(buf.getvalue()) == expected


def test_damaged_text_chunk_does_not_hide_the_others(astronaut):
    tagged = add_png_text(encode_png(astronaut[:16, :16]), {"bad": "x", "good": "kept"})
    # Turn the first chunk into a compressed iTXt whose body is not zlib data.
    broken = tagged.replace(b"bad\0\0\0", b"bad\0\1\0", 1)
    assert read_png_text(broken) == {"good": "kept"}


def test_not_a_png():
    with pytest.raises(ValueError, match="not a PNG"):
        add_png_text(b"GIF89a" + bytes(40), {"a": "b"})
    assert read_png_text(b"\xff\xd8\xff\xe0 a JPEG") == {}


def test_claim_readers_ignore_what_is_not_a_claim(provenance):
    assert read_png_claim({}) is None
    assert read_png_claim({CLAIM_KEY: "not json"}) is None
    assert read_png_claim({CLAIM_KEY: "[1, 2]"}) is None
    assert read_png_claim(png_text(provenance)) == provenance.claim()
    assert read_video_claim(video_tags(provenance)) == provenance.claim()
    assert read_video_claim({"FACETWIN": video_tags(provenance)["facetwin"]}) == provenance.claim()  # Matroska
    assert read_video_claim({"comment": NOTICE}) is None


# --- marked PNGs -------------------------------------------------------------------------


def check_marked_png(path: Path, original: np.ndarray, provenance: Provenance) -> None:
    data = path.read_bytes()
    text = read_png_text(data)
    check_claim(read_png_claim(text), provenance)
    assert text["Software"] == f"facetwin {__version__}" and text["Comment"] == NOTICE
    assert text["Source"] == DIGITAL_SOURCE_TYPE
    pixels = read_image(path)
    assert pixels.shape == original.shape and not np.array_equal(pixels, original)
    assert np.abs(pixels.astype(int) - original).max() <= 5
    assert watermark_score(pixels) >= THRESHOLD
    report = verify(path)
    assert report.c2pa.present and report.c2pa.valid and report.c2pa.trusted, report.c2pa.problems
    assert report.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE
    assert report.c2pa.claim == read_png_claim(text)  # the signed claim is the written one
    # Pillow and OpenCV still read the signed file, and agree.
    with Image.open(path) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), pixels)


def test_write_marked_png(tmp_path, grace_hopper, provenance):
    before = grace_hopper.copy()
    write_marked_png(tmp_path / "hopper.png", grace_hopper, provenance)
    assert np.array_equal(grace_hopper, before)
    check_marked_png(tmp_path / "hopper.png", grace_hopper, provenance)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hopper.png"]  # no temporary left


def test_image_sequence_writer_marks_every_png(tmp_path, frames, provenance):
    with ImageSequenceWriter(tmp_path / "seq", provenance=provenance) as out:
        out.write(frames[0])
        out.write(frames[5], name="IMG_0005.jpg")
    assert [p.name for p in out.written] == ["000000.png", "IMG_0005.png"]
    for path, original in zip(out.written, [frames[0], frames[5]]):
        check_marked_png(path, original, provenance)


def test_open_writer_to_a_folder_passes_provenance(tmp_path, frames, provenance):
    with open_writer(tmp_path / "out", provenance=provenance) as out:
        assert isinstance(out, ImageSequenceWriter)
        path = out.write(frames[3])
    check_marked_png(path, frames[3], provenance)


# --- marked videos -----------------------------------------------------------------------


def write_marked_video(path: Path, frames: list[np.ndarray], provenance: Provenance | None) -> Path:
    with VideoWriter(path, fps=25, preset="ultrafast", provenance=provenance) as out:
        for frame in frames:
            out.write(frame)
    return path


@pytest.mark.parametrize("suffix, c2pa", [(".mp4", True), (".mov", True), (".m4v", True), (".mkv", False)])
def test_video_writer_marks_every_container(tmp_path, frames, provenance, suffix, c2pa):
    path = write_marked_video(tmp_path / f"out{suffix}", frames, provenance)
    tags = container_tags(path)
    check_claim(read_video_claim(tags), provenance)
    lower = {k.lower(): v for k, v in tags.items()}  # Matroska upper-cases its tags
    assert lower["comment"] == NOTICE and lower["description"] == NOTICE
    # every frame carries the watermark, and is otherwise the picture given
    out = decoded(path)
    assert len(out) == len(frames)
    for got, given in zip(out, frames):
        assert watermark_score(got) >= THRESHOLD
        assert np.abs(got.astype(int) - given).mean() < 4
    report = verify(path)
    assert report.watermark.found and report.watermark.frames == len(frames) == report.watermark.frames_marked
    check_claim(report.claim, provenance)
    assert report.c2pa.present is c2pa
    if c2pa:
        assert report.c2pa.valid and report.c2pa.trusted, report.c2pa.problems
        assert report.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE
        assert report.c2pa.claim == report.claim
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_open_writer_to_a_video_passes_provenance(tmp_path, frames, provenance):
    with open_writer(tmp_path / "out.mov", fps=25, preset="ultrafast", provenance=provenance) as out:
        assert isinstance(out, VideoWriter)
        for frame in frames[:4]:
            out.write(frame)
    check_claim(read_video_claim(container_tags(tmp_path / "out.mov")), provenance)
    assert verify(tmp_path / "out.mov").c2pa.valid


def test_signing_key_comes_from_the_provenance(tmp_path, frames, model_dir):
    own = Provenance.for_model(model_dir, key_dir=tmp_path / "key")
    write_marked_png(tmp_path / "a.png", frames[0], own)
    assert (tmp_path / "key").is_dir()
    default_trust = verify(tmp_path / "a.png")
    assert default_trust.c2pa.valid and not default_trust.c2pa.trusted
    own_trust = verify(tmp_path / "a.png", trust_dir=tmp_path / "key")
    assert own_trust.c2pa.valid and own_trust.c2pa.trusted


# --- no provenance, no marks ---------------------------------------------------------------


def test_writers_without_provenance_write_no_marks(tmp_path, frames):
    with ImageSequenceWriter(tmp_path / "seq") as out:
        path = out.write(frames[0])
    assert np.array_equal(read_image(path), frames[0])  # pixel-exact
    assert read_png_text(path.read_bytes()) == {}
    report = verify(path)
    assert not report.synthetic and not report.c2pa.present
    for suffix in (".mp4", ".mkv"):
        video = write_marked_video(tmp_path / f"plain{suffix}", frames, None)
        tags = container_tags(video)
        assert read_video_claim(tags) is None and not {"comment", "description"} & {k.lower() for k in tags}
        report = verify(video)
        assert not report.synthetic and not report.c2pa.present
        assert abs(report.watermark.score) < 3


def test_extraction_crops_stay_pixel_exact(tmp_path, grace_hopper_path, grace_hopper):
    from facetwin import extract, load_alignments
    from facetwin.faces.align import warp_to_crop

    extract(grace_hopper_path, tmp_path / "faces")
    alignments = load_alignments(tmp_path / "faces" / "alignments.json")
    ((_, face),) = alignments.faces()
    path = tmp_path / "faces" / face.crop
    assert np.array_equal(read_image(path), warp_to_crop(grace_hopper, face.matrix, alignments.crop_size))
    assert read_png_text(path.read_bytes()) == {}
    report = verify(path)
    assert not report.synthetic and not report.c2pa.present
