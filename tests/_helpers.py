"""Helpers shared by tests: real-data lookup and small video writing."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (only on development machines)")
    return path


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int | Fraction = 25,
    *,
    crf: int = 18,
    faststart: bool = False,
    times: Sequence[float] | None = None,
    audio: float | None = None,
    audio_codec: str = "aac",
) -> Path:
    """Encode RGB uint8 frames as H.264 with PyAV (even sizes only); the suffix picks the container.

    ``faststart`` puts the index (moov atom) before the frames, as streaming sites do;
    a file cut short then still opens and decodes up to the cut. ``times`` gives each
    frame's time in seconds (variable frame rate; kept to 1/90000 s), ``audio`` adds that
    many seconds of a 440 Hz stereo tone at 44.1 kHz in ``audio_codec``. No frames and
    some ``audio``: a file with sound only.
    """
    import av

    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps) if frames else None
        if stream is not None:
            stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": "ultrafast"}
        if times is not None:
            stream.codec_context.time_base = stream.time_base = Fraction(1, 90000)
        if audio is not None:
            sound = container.add_stream(audio_codec, rate=44100)
            sound.layout = "stereo"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = round(times[i] * 90000), Fraction(1, 90000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode() if stream is not None else ():
            container.mux(packet)
        if audio is not None:
            samples = int(audio * 44100)
            t = np.arange(samples) / 44100
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = 44100, start, Fraction(1, 44100)
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


def png_bomb(path: Path, side: int) -> None:
    """A real, complete greyscale PNG of side x side black pixels: under a megabyte on disk."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then the row
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` moved by (dx, dy) pixels, edges replicated."""
    import cv2

    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def faceset(image: np.ndarray, folder, predictor, n: int = 10, size: int = 96):
    """n aligned crops of the portrait's face, each from a slightly moved and turned copy."""
    folder.mkdir(parents=True, exist_ok=True)
    import cv2

    from facetwin.faces import create_detector
    from facetwin.faces.align import crop_from_frame, warp_to_crop

    box = create_detector("yunet")(image).boxes[0]
    landmarks = predictor(image, box)
    h, w = image.shape[:2]
    for i in range(n):
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), (i - n / 2) * 1.5, 1.0 + 0.01 * i)
        moved = cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
        lm = landmarks @ turn[:, :2].T + turn[:, 2]
        crop = warp_to_crop(moved, crop_from_frame(lm, crop_size=size), size)
        cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return folder


def tiny_model_dir(folder: Path) -> Path:
    """An untrained `tiny64` model saved as `facetwin train` would: enough for the
    conversion, evaluation and provenance code, in milliseconds."""
    from facetwin.models import create_model
    from facetwin.models.checkpoint import save_checkpoint

    model = create_model("tiny64")
    config = {"model": model.config, "input_size": 64, "predicts_mask": True}
    save_checkpoint(folder, model=model, optimizer=None, state={"step": 0, "seed": 0}, config=config)
    return folder


@contextmanager
def lock_held_elsewhere(folder: Path, command: str, **lock_options):
    """While inside, another run (a thread: flock tells threads apart too) holds ``folder``'s lock."""
    import threading

    from facetwin.io.lock import output_lock

    held, done = threading.Event(), threading.Event()

    def other_run() -> None:
        with output_lock(folder, command, **lock_options):
            held.set()
            done.wait(60)

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait(60)
    try:
        yield
    finally:
        done.set()
        thread.join()
