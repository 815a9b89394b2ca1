"""Tests for facetwin.forensics.report.verify and ``facetwin verify``: which marks a file still carries."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from _helpers import write_video

from facetwin.cli import main
from facetwin.errors import InputNotFoundError, UnreadableMediaError
from facetwin.forensics.provenance import DIGITAL_SOURCE_TYPE, Provenance, read_png_text, write_marked_png
from facetwin.forensics.report import FileReport, format_report, verify
from facetwin.forensics.watermark import THRESHOLD
from facetwin.io import read_image
from facetwin.io.writers import VideoWriter

EXIT_OK, EXIT_BAD_INPUT, EXIT_SYNTHETIC, EXIT_UNVERIFIED = 0, 2, 3, 4
CLEAN_MAX = 3.0  # unmarked pictures score at most like a standard normal variable (one-sided)


@pytest.fixture(scope="module")
def provenance() -> Provenance:
    return Provenance(model_fingerprint="sha256:" + "5e" * 16)


@pytest.fixture(scope="module")
def files(tmp_path_factory, astronaut, moving_video, provenance) -> dict[str, Path]:
    """Marked and clean pictures and videos, and what becomes of marked ones when shared."""
    folder = tmp_path_factory.mktemp("verify")
    out: dict[str, Path] = {}
    out["marked_png"] = folder / "marked.png"
    write_marked_png(out["marked_png"], astronaut, provenance)
    out["clean_png"] = folder / "astronaut.png"
    cv2.imwrite(str(out["clean_png"]), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))

    with av.open(str(moving_video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    out["marked_mp4"] = folder / "marked.mp4"
    with VideoWriter(out["marked_mp4"], fps=25, preset="ultrafast", provenance=provenance) as writer:
        for frame in frames:
            writer.write(frame)
    out["clean_mp4"] = moving_video

    # Re-encoded at CRF 23 by someone else's tool: pixels kept, container and manifest new.
    with av.open(str(out["marked_mp4"])) as container:
        marked_frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    out["reencoded_mp4"] = write_video(folder / "reencoded.mp4", marked_frames, crf=23)
    out["reencoded_clean_mp4"] = write_video(folder / "reencoded_clean.mp4", frames, crf=23)

    # Downscaled to half and saved by OpenCV (no text chunks, no manifest).
    marked = read_image(out["marked_png"])
    small = cv2.resize(marked, (256, 256), interpolation=cv2.INTER_AREA)
    out["half_png"] = folder / "half.png"
    cv2.imwrite(str(out["half_png"]), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    out["marked_jpg"] = folder / "marked.jpg"
    cv2.imwrite(str(out["marked_jpg"]), cv2.cvtColor(marked, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def tamper_one_pixel(data: bytes) -> bytes:
    """The PNG with the last byte of its last pixel changed, every chunk still well formed."""
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    raw = bytearray(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")))
    raw[-1] ^= 0x10  # the last byte of the last row: no later pixel depends on it
    out, idat_written = [data[:8]], False
    for kind, body in chunks:
        if kind != b"IDAT":
            out.append(_chunk(kind, body))
        elif not idat_written:
            out.append(_chunk(b"IDAT", zlib.compress(bytes(raw))))
            idat_written = True
    return b"".join(out)


# --- verify() ----------------------------------------------------------------------------


def assert_clean(report: FileReport) -> None:
    assert not report.synthetic
    assert not report.watermark.found and report.watermark.score < CLEAN_MAX
    assert report.claim is None and not report.metadata_found
    assert not report.c2pa.present and not report.c2pa_says_synthetic
    assert report.status == "none" and report.proof == report.unverified == ()
    assert report.verdict == "no facetwin marks found"


@pytest.mark.parametrize("name, kind", [("marked_png", "image"), ("marked_mp4", "video")])
def test_marked_files_show_all_three_marks(files, provenance, name, kind):
    report = verify(files[name])
    assert report.kind == kind and report.path == files[name]
    assert report.watermark.found and report.watermark.score >= THRESHOLD
    assert report.claim["synthetic"] is True and report.claim["model_fingerprint"] == provenance.model_fingerprint
    assert report.c2pa.present and report.c2pa.valid and report.c2pa.trusted
    assert report.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE
    assert report.synthetic and report.c2pa_says_synthetic and report.status == "synthetic"
    assert report.proof == ("watermark", "C2PA") and report.unverified == ("unsigned metadata",)
    assert report.verdict == "SYNTHETIC (facetwin: watermark, C2PA, unsigned metadata)"


@pytest.mark.parametrize("name", ["clean_png", "clean_mp4", "reencoded_clean_mp4"])
def test_clean_files_show_nothing(files, name):
    assert_clean(verify(files[name]))


def test_clean_jpeg_portrait_shows_nothing(grace_hopper_path):
    assert_clean(verify(grace_hopper_path))


def test_reencoded_video_keeps_only_the_watermark(files):
    assert read_png_text(files["reencoded_mp4"].read_bytes()) == {}
    report = verify(files["reencoded_mp4"])
    assert report.claim is None and not report.c2pa.present
    assert report.watermark.found and report.watermark.frames == 12
    assert report.synthetic and report.verdict == "SYNTHETIC (facetwin: watermark)"


@pytest.mark.parametrize("name", ["half_png", "marked_jpg"])
def test_downscaled_or_jpeg_picture_keeps_only_the_watermark(files, name):
    report = verify(files[name])
    assert report.claim is None and not report.c2pa.present
    assert report.watermark.found
    assert report.verdict == "SYNTHETIC (facetwin: watermark)"


def test_video_frames_read(files):
    assert verify(files["marked_mp4"], frames=3).watermark.frames == 3
    assert verify(files["marked_mp4"], frames=1).watermark.frames == 1
    many = verify(files["marked_mp4"], frames=100).watermark
    assert many.frames == 12 and many.frames_marked == 12


def test_one_changed_pixel_makes_the_manifest_invalid(files, tmp_path):
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(tamper_one_pixel(files["marked_png"].read_bytes()))
    before, after = read_image(files["marked_png"]), read_image(tampered)
    assert (before != after).sum() == 1  # a real, one-value edit of a decodable PNG
    report = verify(tampered)
    assert report.c2pa.present and not report.c2pa.valid and not report.c2pa.trusted
    assert any("mismatch" in p for p in report.c2pa.problems), report.c2pa.problems
    assert report.watermark.found and report.metadata_found  # the other marks still say synthetic
    assert report.synthetic and report.proof == ("watermark",) and not report.c2pa_says_synthetic
    assert report.unverified == ("unsigned metadata", "C2PA invalid for this file")
    d = report.as_dict()
    assert d["c2pa"]["present"] is True and d["c2pa"]["valid"] is False and d["c2pa"]["problems"]


def test_changed_video_data_makes_the_manifest_invalid(files, tmp_path):
    data = bytearray(files["marked_mp4"].read_bytes())
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"mdat":
            data[pos + size // 2] ^= 0x01
            break
        pos += size
    else:
        pytest.fail("no mdat box")
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    report = verify(tampered)
    assert report.c2pa.present and not report.c2pa.valid, report.c2pa
    assert any("mismatch" in p for p in report.c2pa.problems), report.c2pa.problems


def test_another_trust_folder_keeps_the_manifest_valid_but_untrusted(files, tmp_path):
    from facetwin.forensics.c2pa import ensure_signing_key

    ensure_signing_key(tmp_path / "other")
    report = verify(files["marked_png"], trust_dir=tmp_path / "other")
    assert report.c2pa.valid and not report.c2pa.trusted and report.synthetic


def test_as_dict_is_json_and_matches_the_report(files):
    for name in ("marked_png", "marked_mp4", "clean_png"):
        report = verify(files[name])
        d = json.loads(json.dumps(report.as_dict()))
        assert d["path"] == str(files[name]) and d["kind"] == report.kind
        assert d["synthetic"] is report.synthetic and d["verdict"] == report.verdict
        assert d["watermark"]["found"] is report.watermark.found
        assert d["watermark"]["score_sigma"] == pytest.approx(report.watermark.score, abs=0.01)
        assert 0 <= d["watermark"]["false_alarm_probability"] <= 1
        assert d["metadata"] == {"found": report.metadata_found, "claim": report.claim}
        assert d["c2pa"]["present"] is report.c2pa.present


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputNotFoundError):
        verify(tmp_path / "nope.png")
    for name, data in [("noise.png", b"not a png at all"), ("noise.mp4", b"not a video" * 50), ("notes.txt", b"hi")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UnreadableMediaError):
            verify(tmp_path / name)


# --- facetwin verify ----------------------------------------------------------------------


def test_cli_clean_files_exit_0(files, capsys):
    assert main(["verify", str(files["clean_png"]), str(files["clean_mp4"])]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("no facetwin marks found") == 2
    assert str(files["clean_png"]) in out and str(files["clean_mp4"]) in out


def test_cli_one_synthetic_file_exits_3(files, capsys):
    assert main(["verify", str(files["clean_png"]), str(files["marked_mp4"]), "--frames", "4"]) == EXIT_SYNTHETIC
    out = capsys.readouterr().out
    assert "SYNTHETIC (facetwin: watermark, C2PA, unsigned metadata)" in out
    assert "4/4 frames" in out and "valid, trusted signer" in out


def test_cli_json_lines(files, capsys):
    names = [files["marked_png"], files["clean_png"], files["reencoded_mp4"]]
    assert main(["verify", "--json", *map(str, names)]) == EXIT_SYNTHETIC
    lines = capsys.readouterr().out.splitlines()
    reports = [json.loads(line) for line in lines]
    assert [r["path"] for r in reports] == [str(n) for n in names]
    assert [r["synthetic"] for r in reports] == [True, False, True]
    assert reports[0]["c2pa"]["valid"] is True and reports[2]["c2pa"]["present"] is False
    assert reports[2]["watermark"]["found"] is True and reports[2]["metadata"]["found"] is False


def test_cli_missing_file_is_reported_and_the_others_still_checked(files, tmp_path, capsys):
    missing = tmp_path / "gone.mp4"
    assert main(["verify", str(missing), str(files["clean_png"])]) == EXIT_BAD_INPUT
    lines = capsys.readouterr().out.splitlines()
    assert sum(str(missing) in line for line in lines) == 1
    assert lines[0].startswith(f"{missing}: cannot check")
    assert any("no facetwin marks found" in line for line in lines[1:])
    # a synthetic file among them still wins the exit code
    assert main(["verify", "--json", str(missing), str(files["marked_png"])]) == EXIT_SYNTHETIC
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["path"] == str(missing) and first["error"]
    assert second["synthetic"] is True


def test_cli_unreadable_file_exits_2(tmp_path, capsys):
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 100)
    assert main(["verify", str(tmp_path / "broken.mp4")]) == EXIT_BAD_INPUT
    assert "cannot check" in capsys.readouterr().out


def test_cli_trust_dir_and_bad_frames(files, tmp_path, capsys):
    from facetwin.forensics.c2pa import ensure_signing_key

    ensure_signing_key(tmp_path / "other")
    other = ["--trust-dir", str(tmp_path / "other")]
    assert main(["verify", "--json", *other, str(files["marked_png"])]) == EXIT_SYNTHETIC
    report = json.loads(capsys.readouterr().out)
    assert report["c2pa"]["valid"] is True and report["c2pa"]["trusted"] is False
    assert main(["verify", "--frames", "0", str(files["marked_mp4"])]) == EXIT_BAD_INPUT
    assert "--frames" in capsys.readouterr().err


def test_tampered_verdict_names_the_invalid_manifest(files, tmp_path):
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(tamper_one_pixel(files["marked_png"].read_bytes()))
    assert "C2PA invalid for this file" in verify(tampered).verdict
    assert "C2PA invalid for this file" not in verify(files["marked_png"]).verdict


def test_undecodable_pixels_keep_the_metadata_and_manifest_evidence(files, tmp_path):
    data = bytearray(files["marked_png"].read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0xFF  # inside the compressed pixels; the chunk's checksum now fails
    broken = tmp_path / "broken.png"
    broken.write_bytes(bytes(data))
    report = verify(broken)
    assert report.metadata_found and report.c2pa.present and not report.c2pa.valid
    assert report.watermark.frames == 0 and "could not be decoded" in report.problems[0]
    # Without its pixels nothing binds the claims to this file: a broken copy is no proof.
    assert not report.synthetic and report.status == "unverified"
    assert "the watermark was not checked" in report.verdict


def test_a_claim_saying_not_synthetic_is_not_facetwin_metadata(tmp_path, astronaut):
    from facetwin.forensics.provenance import add_png_text
    from facetwin.io.images import encode_png

    path = tmp_path / "x.png"
    path.write_bytes(add_png_text(encode_png(astronaut), {"facetwin:provenance": json.dumps({"synthetic": False})}))
    assert not verify(path).metadata_found


def test_cli_looks_inside_folders(files, tmp_path, capsys):
    folder = tmp_path / "outputs"
    (folder / "deeper").mkdir(parents=True)
    (folder / "deeper" / "a.png").write_bytes(files["marked_png"].read_bytes())
    (folder / "notes.txt").write_text("not media")
    assert main(["verify", str(folder)]) == 3
    out = capsys.readouterr().out
    assert "a.png: SYNTHETIC" in out and "notes.txt" not in out


def test_extra_context_cannot_overwrite_the_facts():
    claim = Provenance(extra={"synthetic": False, "software": "other", "pair": "x_y"}).claim()
    assert claim["synthetic"] is True and claim["software"] == "facetwin" and claim["pair"] == "x_y"


def test_long_videos_are_sampled_by_seeking(files, monkeypatch):
    import facetwin.forensics.report as module

    linear = verify(files["marked_mp4"], frames=4)
    monkeypatch.setattr(module, "_SEEK_ABOVE", 0)
    seeking = verify(files["marked_mp4"], frames=4)
    assert seeking.watermark.frames == 4 and seeking.watermark.found
    assert abs(seeking.watermark.score - linear.watermark.score) < 0.5 * linear.watermark.score


# --- forgeries: facetwin's marks copied into a real photo -----------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, the whole chunk as stored) for each chunk of a PNG."""
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append((kind, data[pos : pos + 12 + length]))
        pos += 12 + length
    return chunks


def copy_png_chunks(donor: bytes, real: bytes, kinds: set[bytes]) -> bytes:
    """``real`` with the donor's chunks of these types inserted after its IHDR, as a forger would."""
    copied = b"".join(chunk for kind, chunk in png_chunks(donor) if kind in kinds)
    assert copied, kinds
    end_of_ihdr = 8 + len(png_chunks(real)[0][1])
    return real[:end_of_ihdr] + copied + real[end_of_ihdr:]


def copy_jpeg_app11(donor: bytes, real: bytes) -> bytes:
    """``real`` with the donor's APP11 segments (where JPEG keeps a C2PA manifest) after its SOI."""
    segments, pos = [], 2
    while donor[pos] == 0xFF and donor[pos + 1] not in (0xD9, 0xDA):  # up to the pixels
        length = struct.unpack(">H", donor[pos + 2 : pos + 4])[0]
        if donor[pos + 1] == 0xEB:
            segments.append(donor[pos : pos + 2 + length])
        pos += 2 + length
    assert segments
    return real[:2] + b"".join(segments) + real[2:]


@pytest.fixture(scope="module")
def forged(files, tmp_path_factory, grace_hopper_path, provenance) -> dict[str, Path]:
    """Real photos given the marks of genuine facetwin outputs by copying bytes, pixels untouched."""
    from facetwin.forensics.c2pa import ensure_signing_key, sign_file

    folder = tmp_path_factory.mktemp("forged")
    donor, real = files["marked_png"].read_bytes(), files["clean_png"].read_bytes()  # the same astronaut
    out = {"png_text": folder / "text.png", "png_c2pa": folder / "c2pa.png", "png_both": folder / "both.png"}
    out["png_text"].write_bytes(copy_png_chunks(donor, real, {b"iTXt", b"tEXt", b"zTXt"}))
    out["png_c2pa"].write_bytes(copy_png_chunks(donor, real, {b"caBX"}))
    out["png_both"].write_bytes(copy_png_chunks(donor, real, {b"iTXt", b"caBX"}))
    # A genuine signed JPEG (the marked astronaut) gives its manifest to Grace Hopper's photo.
    out["signed_jpg"] = folder / "signed.jpg"
    out["signed_jpg"].write_bytes(files["marked_jpg"].read_bytes())
    sign_file(out["signed_jpg"], provenance.claim(), ensure_signing_key())
    out["jpg_c2pa"] = folder / "c2pa.jpg"
    out["jpg_c2pa"].write_bytes(copy_jpeg_app11(out["signed_jpg"].read_bytes(), grace_hopper_path.read_bytes()))
    return out


def test_the_donors_are_genuine_and_prove_synthetic(files, forged):
    for path in (files["marked_png"], forged["signed_jpg"]):
        report = verify(path)
        assert report.status == "synthetic" and report.proof == ("watermark", "C2PA"), format_report(report)
        assert report.c2pa.valid and report.c2pa.trusted


@pytest.mark.parametrize(
    "name, real", [("png_text", "clean_png"), ("png_c2pa", "clean_png"), ("png_both", "clean_png"), ("jpg_c2pa", None)]
)
def test_copied_marks_on_a_real_photo_are_an_unverified_claim(files, forged, grace_hopper_path, name, real):
    original = files[real] if real else grace_hopper_path
    assert verify(original).status == "none"
    assert np.array_equal(read_image(forged[name]), read_image(original))  # the real photo's pixels, as they were
    report = verify(forged[name])
    assert not report.synthetic and report.status == "unverified" and report.proof == ()
    assert not report.watermark.found and report.watermark.score < CLEAN_MAX
    assert report.verdict.startswith("UNVERIFIED claim of synthetic") and "no watermark" in report.verdict
    d = report.as_dict()
    assert d["synthetic"] is False and d["status"] == "unverified" and d["unverified"] == list(report.unverified)


@pytest.mark.parametrize("name", ["png_text", "png_both"])
def test_copied_text_chunks_are_reported_as_unsigned_metadata(forged, name):
    report = verify(forged[name])
    assert report.metadata_found and "unsigned metadata" in report.unverified
    assert "metadata:  found, unsigned:" in format_report(report)


@pytest.mark.parametrize("name", ["png_c2pa", "png_both", "jpg_c2pa"])
def test_a_transplanted_manifest_fails_its_hash_check(forged, name):
    report = verify(forged[name])
    # The manifest itself is genuine (its signature verifies); its hash is of the donor's bytes.
    assert report.c2pa.present and not report.c2pa.valid and not report.c2pa.trusted
    assert report.c2pa.digital_source_type == DIGITAL_SOURCE_TYPE
    assert any("assertion.dataHash.mismatch" in p for p in report.c2pa.problems), report.c2pa.problems
    assert report.c2pa_invalid_claim and not report.c2pa_says_synthetic
    assert "C2PA invalid for this file" in report.unverified
    line = "C2PA:      INVALID for this file (edited after signing, or copied from another file)"
    assert line in format_report(report)


def test_cli_forged_photos_exit_4_not_3(files, forged, tmp_path, capsys):
    names = [str(forged[name]) for name in ("png_text", "png_c2pa", "png_both", "jpg_c2pa")]
    assert main(["verify", *names, str(files["clean_png"])]) == EXIT_UNVERIFIED
    out = capsys.readouterr().out
    assert out.count("UNVERIFIED claim of synthetic") == 4 and "SYNTHETIC (" not in out
    # a missing file is reported, but a claim found elsewhere is still the answer
    assert main(["verify", *names[:1], str(tmp_path / "gone.png")]) == EXIT_UNVERIFIED
    capsys.readouterr()
    # a genuine output among forgeries is still proven synthetic
    assert main(["verify", "--json", *names, str(files["marked_png"])]) == EXIT_SYNTHETIC
    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()[-5:]]
    assert [r["status"] for r in reports] == ["unverified"] * 4 + ["synthetic"]
