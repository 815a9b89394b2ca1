"""Tests for facetwin.io.images: any still image in, RGB uint8 out; PNG out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _helpers import png_bomb, shared_data
from PIL import Image

from facetwin.errors import FacetwinError, InputNotFoundError, TooManyPixelsError, UnreadableMediaError
from facetwin.io import encode_png, images, read_image, to_rgb8, write_png
from facetwin.io.images import DEFAULT_MAX_PIXELS, max_pixels, set_max_pixels


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def grey(astronaut) -> np.ndarray:
    return cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)


def test_rgb_png_is_exact(tmp_path, astronaut):
    path = tmp_path / "a.png"
    assert cv2.imwrite(str(path), _bgr(astronaut))
    image = read_image(path)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image, astronaut)  # RGB order, not OpenCV's BGR


def test_greyscale_png_becomes_three_equal_channels(tmp_path, grey):
    path = tmp_path / "g.png"
    assert cv2.imwrite(str(path), grey)
    image = read_image(path)
    assert image.shape == (512, 512, 3)
    for c in range(3):
        np.testing.assert_array_equal(image[:, :, c], grey)


def test_rgba_png_drops_alpha(tmp_path, astronaut):
    bgra = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGRA)
    bgra[:, :, 3] = np.arange(512, dtype=np.uint16)[None, :] // 2  # a real alpha ramp
    path = tmp_path / "a.png"
    assert cv2.imwrite(str(path), bgra)
    np.testing.assert_array_equal(read_image(path), astronaut)


def test_grey_alpha_png_drops_alpha(tmp_path, grey):
    path = tmp_path / "ga.png"
    Image.fromarray(np.dstack([grey, np.full_like(grey, 90)]), "LA").save(path)
    image = read_image(path)
    assert image.shape == (512, 512, 3)
    np.testing.assert_array_equal(image, np.dstack([grey] * 3))


def test_sixteen_bit_png_scales_to_eight_bit(tmp_path, astronaut):
    path = tmp_path / "a16.png"
    assert cv2.imwrite(str(path), _bgr(astronaut).astype(np.uint16) * 257)
    image = read_image(path)
    assert image.dtype == np.uint8
    np.testing.assert_array_equal(image, astronaut)  # v * 257 is exactly v in 16 bits


def test_sixteen_bit_grey_png_rounds(tmp_path):
    values = np.array([[0, 128, 129, 257 * 100 + 128, 65535]], np.uint16)
    path = tmp_path / "g16.png"
    assert cv2.imwrite(str(path), values)
    image = read_image(path)
    np.testing.assert_array_equal(image[0, :, 0], np.round(values[0] / 257.0).astype(np.uint8))


def test_jpeg_without_exif(tmp_path, astronaut):
    path = tmp_path / "a.jpg"
    assert cv2.imwrite(str(path), _bgr(astronaut), [cv2.IMWRITE_JPEG_QUALITY, 95])
    image = read_image(path)
    np.testing.assert_array_equal(image, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
    assert np.abs(image.astype(int) - astronaut).mean() < 3  # lossy, but the same picture


def test_jpeg_exif_orientation_is_applied(tmp_path, astronaut):
    stored = np.ascontiguousarray(astronaut[:, :300])  # non-square, so rotation shows
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == (300, 512, 3)
    upright = np.rot90(stored, k=-1)
    assert np.abs(image.astype(int) - upright).mean() < 3


def test_non_ascii_path(tmp_path, astronaut):
    path = tmp_path / "visage été.png"
    cv2.imencode(".png", _bgr(astronaut))[1].tofile(path)
    np.testing.assert_array_equal(read_image(path), astronaut)


def test_real_32bit_png():
    path = shared_data("images", "fr_32bit.png")
    image = read_image(path)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    pil = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(image, pil)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.png"
    with pytest.raises(InputNotFoundError) as info:
        read_image(path)
    assert str(info.value) == f"input not found: {path}"


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(UnreadableMediaError, match="it is a folder"):
        read_image(tmp_path)


def test_pipe_is_refused_without_reading(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.png")  # opening it to read would wait for a writer for ever
    with pytest.raises(UnreadableMediaError, match="not a regular file"):
        read_image(tmp_path / "pipe.png")


@pytest.mark.parametrize("damage", ["truncated", "crc"])
def test_damaged_png_is_refused_before_libpng_prints(tmp_path, astronaut, damage, capfd):
    data = bytearray(encode_png(astronaut))
    if damage == "truncated":
        data = data[: len(data) // 3]
    else:
        data[len(data) // 2] ^= 0xFF  # inside IDAT: its CRC no longer matches
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(UnreadableMediaError, match="the PNG is damaged or truncated"):
        read_image(tmp_path / "bad.png")
    assert capfd.readouterr().err == ""  # libpng's own "libpng error: ..." never reaches stderr


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(UnreadableMediaError) as info:
        read_image(path)
    assert str(info.value) == f"cannot read {path} as an image or video: the file is empty"
    assert isinstance(info.value, OSError) and isinstance(info.value, FacetwinError)


@pytest.mark.parametrize("content", [b"these are notes, not a photo\n", b"\xff\xd8\xff\xe0 cut"])
def test_not_an_image(tmp_path, content):
    path = tmp_path / "notes.jpg"
    path.write_bytes(content)
    with pytest.raises(UnreadableMediaError) as info:
        read_image(path)
    assert info.value.path == path
    assert str(info.value) == (
        f"cannot read {path} as an image or video: not a supported image format, or the file is damaged"
    )


# --- to_rgb8 -----------------------------------------------------------------------


def test_to_rgb8_orders(astronaut):
    np.testing.assert_array_equal(to_rgb8(_bgr(astronaut)), astronaut)
    np.testing.assert_array_equal(to_rgb8(astronaut, order="RGB"), astronaut)


def test_to_rgb8_float_is_clipped_and_rounded():
    image = np.array([[-0.5, 0.0, 0.5, 1.0, 7.0, 1.9 / 255]], np.float32)
    out = to_rgb8(image)
    assert out.shape == (1, 6, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 128, 255, 255, 2])


def test_to_rgb8_single_channel_axis(grey):
    np.testing.assert_array_equal(to_rgb8(grey[:, :, None]), np.dstack([grey] * 3))


# --- encode_png, write_png ---------------------------------------------------------


@pytest.mark.parametrize("compression", [0, 1, 9])
def test_png_round_trip_is_lossless(tmp_path, astronaut, compression):
    path = tmp_path / "out.png"
    write_png(path, astronaut, compression=compression)
    np.testing.assert_array_equal(read_image(path), astronaut)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left


def test_encode_png_higher_compression_is_smaller(astronaut):
    data0, data1, data9 = (encode_png(astronaut, compression=c) for c in (0, 1, 9))
    assert data1[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data9) < len(data0)
    # Level 1 (Huffman only) gives up almost nothing against the slowest level.
    assert len(data1) < 1.05 * len(data9)


# --- decompression bombs -------------------------------------------------------------


def test_png_bomb_refused_from_its_header(tmp_path):
    import resource

    bomb = tmp_path / "bomb.png"
    png_bomb(bomb, 12_000)  # 144 MP: 144 MB decoded as grey, 432 MB as RGB
    assert bomb.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TooManyPixelsError) as info:
        read_image(bomb)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000  # nothing was decoded
    assert info.value.size == (12_000, 12_000) and info.value.limit == DEFAULT_MAX_PIXELS
    assert "12000x12000, 144 megapixels, over the limit of 64 megapixels" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FacetwinError)


def test_limit_is_configurable_and_applies_to_jpeg(tmp_path, astronaut):
    path = tmp_path / "a.jpg"
    cv2.imwrite(str(path), _bgr(astronaut))
    assert read_image(path).shape == (512, 512, 3)
    try:
        set_max_pixels(512 * 512 - 1)
        with pytest.raises(TooManyPixelsError, match="512x512"):
            read_image(path)
        set_max_pixels(512 * 512)
        assert read_image(path).shape == (512, 512, 3)  # the limit itself is allowed
    finally:
        set_max_pixels(DEFAULT_MAX_PIXELS)
    assert max_pixels() == DEFAULT_MAX_PIXELS


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "64M"])
def test_set_max_pixels_refuses_nonsense(bad):
    with pytest.raises(ValueError, match="positive whole number"):
        set_max_pixels(bad)
    assert max_pixels() == DEFAULT_MAX_PIXELS


def test_limit_over_pillows_own_still_decodes(tmp_path, monkeypatch):
    # Pillow raises its own bomb error over 2 x MAX_IMAGE_PIXELS; a user who raised our
    # limit above that still gets the image, decoded by OpenCV.
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.full((20, 30), 7, np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert read_image(path).shape == (20, 30, 3)
    monkeypatch.setattr(images, "_max_pixels", 500)
    with pytest.raises(TooManyPixelsError, match="0.0006 megapixels"):
        read_image(path)
