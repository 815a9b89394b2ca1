"""Tests for facetwin.forensics.c2pa: a local signing key, signed outputs, and what reading them reports."""

from __future__ import annotations

import shutil
import stat
import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from _helpers import write_video
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from facetwin import __version__
from facetwin.errors import FacetwinError, InputNotFoundError, InvalidOptionError, OutputWriteError
from facetwin.forensics.c2pa import (
    CHAIN_FILE,
    KEY_FILE,
    TRAINED_ALGORITHMIC_MEDIA,
    SigningKey,
    SigningKeyError,
    default_key_dir,
    ensure_signing_key,
    read_manifest,
    sign_file,
)

CLAIM = {"software": "facetwin", "version": __version__, "model_sha256": "0f" * 32, "synthetic": True}


@pytest.fixture(autouse=True)
def no_default_key(tmp_path, monkeypatch) -> None:
    """Point the default key folder at an empty place: tests never touch the user's own key."""
    monkeypatch.setenv("FACETWIN_KEY_DIR", str(tmp_path / "default key"))


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("key")


@pytest.fixture(scope="module")
def key(key_dir: Path) -> SigningKey:
    return ensure_signing_key(key_dir)


@pytest.fixture(scope="module")
def png(tmp_path_factory, astronaut) -> Path:
    path = tmp_path_factory.mktemp("png") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def mp4(tmp_path_factory, astronaut) -> Path:
    """64 frames, 256x256, the astronaut panning."""
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    frames = [np.roll(small, 2 * i, axis=1) for i in range(64)]
    return write_video(tmp_path_factory.mktemp("mp4") / "pan.mp4", frames, 25)


@pytest.fixture(scope="module")
def signed_png(tmp_path_factory, png: Path, key: SigningKey) -> Path:
    path = tmp_path_factory.mktemp("signed") / "swap.png"
    shutil.copy(png, path)
    sign_file(path, CLAIM, key)
    return path


@pytest.fixture(scope="module")
def signed_mp4(tmp_path_factory, mp4: Path, key: SigningKey) -> Path:
    path = tmp_path_factory.mktemp("signed") / "swap.mp4"
    shutil.copy(mp4, path)
    sign_file(path, CLAIM, key)
    return path


def _flip_byte(src: Path, dst: Path, offset: int) -> Path:
    data = bytearray(src.read_bytes())
    data[offset] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


# --- the key ------------------------------------------------------------------------


def test_key_is_made_on_first_use_and_reused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FACETWIN_KEY_DIR", str(tmp_path / "keys"))
    first = ensure_signing_key()
    assert first.directory == tmp_path / "keys"
    assert stat.S_IMODE((tmp_path / "keys" / KEY_FILE).stat().st_mode) == 0o600
    assert "facetwin local signer" in first.signer and "@" in first.signer
    assert "PRIVATE" not in repr(first)
    second = ensure_signing_key()
    assert second == first  # same bytes: reused, not regenerated


def test_certificates_fit_c2pa_signer_profile(key: SigningKey) -> None:
    signer, root = x509.load_pem_x509_certificates(key.chain_pem)
    assert signer.issuer == root.subject != signer.subject  # not self-signed
    assert signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert signer.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    usages = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in usages
    assert (signer.not_valid_after_utc - signer.not_valid_before_utc).days > 5 * 365
    assert root.not_valid_after_utc >= signer.not_valid_after_utc


def test_default_key_dir_honours_xdg(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("FACETWIN_KEY_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_key_dir() == tmp_path / "facetwin" / "c2pa"


@pytest.mark.parametrize("damage", ["garbage key", "missing chain", "other key"])
def test_damaged_key_dir_raises_rather_than_being_replaced(tmp_path, key_dir: Path, key, damage: str) -> None:
    folder = tmp_path / "keys"
    shutil.copytree(key_dir, folder)
    if damage == "garbage key":
        (folder / KEY_FILE).write_bytes(b"not a key")
    elif damage == "missing chain":
        (folder / CHAIN_FILE).unlink()
    else:
        ensure_signing_key(tmp_path / "other")
        shutil.copy(tmp_path / "other" / KEY_FILE, folder / KEY_FILE)
    before = (folder / KEY_FILE).read_bytes()
    with pytest.raises(SigningKeyError) as caught:
        ensure_signing_key(folder)
    assert isinstance(caught.value, FacetwinError)
    assert str(folder) in str(caught.value)
    assert (folder / KEY_FILE).read_bytes() == before


# --- signing and reading ------------------------------------------------------------


def test_png_round_trip(signed_png: Path, png: Path, key_dir: Path) -> None:
    report = read_manifest(signed_png, trust_dir=key_dir)
    assert (report.present, report.valid, report.trusted) == (True, True, True)
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.claim == CLAIM
    assert report.signer.startswith("facetwin local signer")
    assert report.problems == ()
    assert np.array_equal(cv2.imread(str(signed_png)), cv2.imread(str(png)))  # pixels untouched


def test_mp4_round_trip(signed_mp4: Path, key_dir: Path) -> None:
    report = read_manifest(signed_mp4, trust_dir=key_dir)
    assert (report.present, report.valid, report.trusted) == (True, True, True)
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert report.claim == CLAIM
    assert _frame_count(signed_mp4) == 64


def test_jpeg_round_trip(tmp_path, astronaut, key: SigningKey, key_dir: Path) -> None:
    path = tmp_path / "swap.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    sign_file(path, CLAIM, key)
    report = read_manifest(path, trust_dir=key_dir)
    assert (report.present, report.valid, report.trusted, report.claim) == (True, True, True, CLAIM)


def test_other_key_dir_gives_valid_but_untrusted(signed_png: Path, tmp_path) -> None:
    ensure_signing_key(tmp_path / "someone else")
    report = read_manifest(signed_png, trust_dir=tmp_path / "someone else")
    assert (report.present, report.valid, report.trusted) == (True, True, False)
    assert any(p.startswith("signingCredential.untrusted") for p in report.problems)


def test_default_trust_dir_is_the_default_key_dir(signed_png: Path, key_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("FACETWIN_KEY_DIR", str(key_dir))
    assert read_manifest(signed_png).trusted


def test_tampered_png_pixels_read_invalid(signed_png: Path, tmp_path, key_dir: Path) -> None:
    idat = signed_png.read_bytes().index(b"IDAT")
    report = read_manifest(_flip_byte(signed_png, tmp_path / "t.png", idat + 1000), trust_dir=key_dir)
    assert (report.present, report.valid, report.trusted) == (True, False, False)
    assert any(p.startswith("assertion.dataHash.mismatch") for p in report.problems)


def test_tampered_mp4_samples_read_invalid(signed_mp4: Path, tmp_path, key_dir: Path) -> None:
    mdat = signed_mp4.read_bytes().index(b"mdat")
    report = read_manifest(_flip_byte(signed_mp4, tmp_path / "t.mp4", mdat + 5000), trust_dir=key_dir)
    assert (report.present, report.valid, report.trusted) == (True, False, False)
    assert any(p.startswith("assertion.bmffHash.mismatch") for p in report.problems)


def test_damaged_manifest_never_reads_valid_or_raises(signed_png: Path, tmp_path) -> None:
    """Bytes of the manifest itself changed: either c2pa cannot decode it, or a hash or the signature fails."""
    data = signed_png.read_bytes()
    chunk = data.index(b"caBX")
    length = struct.unpack(">I", data[chunk - 4 : chunk])[0]
    reports = [
        read_manifest(_flip_byte(signed_png, tmp_path / f"t{offset}.png", offset))
        for offset in range(chunk + 4, chunk + 4 + length, 53)
    ]
    invalid = [r for r in reports if not r.valid]
    assert any(r.present for r in invalid)
    assert all(r.problems for r in invalid)
    assert any(p.startswith("manifest damaged") for r in invalid for p in r.problems)
    assert any(p.startswith("claimSignature.mismatch") for r in invalid for p in r.problems)


def test_reencoded_png_has_no_manifest(signed_png: Path, tmp_path) -> None:
    path = tmp_path / "again.png"
    cv2.imwrite(str(path), cv2.imread(str(signed_png)))
    report = read_manifest(path)
    assert (report.present, report.valid, report.problems) == (False, False, ())


def test_unsigned_file_reports_absent(png: Path, mp4: Path) -> None:
    for path in (png, mp4):
        report = read_manifest(path)
        assert (report.present, report.valid, report.trusted, report.claim, report.problems) == (
            False,
            False,
            False,
            None,
            (),
        )


def test_unparsable_file_reports_absent_with_problem(tmp_path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"this is not a video" * 20)
    report = read_manifest(path)
    assert not report.present and report.problems


def test_missing_file_raises(tmp_path, key: SigningKey) -> None:
    with pytest.raises(InputNotFoundError):
        read_manifest(tmp_path / "none.png")
    with pytest.raises(InputNotFoundError):
        sign_file(tmp_path / "none.png", CLAIM, key)


def test_failed_signing_leaves_the_file_as_it_was(tmp_path, key: SigningKey) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    with pytest.raises(OutputWriteError):
        sign_file(broken, CLAIM, key)
    assert broken.read_bytes() == b"\x89PNG\r\n\x1a\n" + b"\x00" * 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png"]  # no temporary left


def test_refuses_what_it_cannot_sign(tmp_path, png: Path, key: SigningKey) -> None:
    mkv = tmp_path / "out.mkv"
    mkv.write_bytes(b"\x1a\x45\xdf\xa3")
    with pytest.raises(OutputWriteError, match=r"\.mp4"):
        sign_file(mkv, CLAIM, key)
    path = tmp_path / "a.png"
    shutil.copy(png, path)
    with pytest.raises(InvalidOptionError):
        sign_file(path, {"model": object()}, key)
    assert path.read_bytes() == png.read_bytes()


def test_signing_keeps_file_mode(tmp_path, png: Path, key: SigningKey) -> None:
    path = tmp_path / "shared.png"
    shutil.copy(png, path)
    path.chmod(0o644)
    sign_file(path, CLAIM, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert read_manifest(path).present
