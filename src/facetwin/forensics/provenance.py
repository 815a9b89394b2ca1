"""What every picture and video facetwin writes carries, so it can be told synthetic.

Three marks, each surviving what the others do not:

- the invisible watermark in the pixels (watermark.py): survives re-encoding and
  resizing, but not cropping (the pattern is tied to the frame's edges); carries no detail;
- plain metadata: PNG text chunks, MP4/MOV/MKV tags, naming facetwin, its version, the
  model's fingerprint and that the content is synthetic; read by any tool, lost on
  re-encoding; unsigned, so anyone can copy it into another file: ``verify`` reports it
  as a claim, never as proof;
- a C2PA manifest (c2pa.py, PNG and MP4/MOV), signed with a key the user holds: proves
  who made the file and that it was not changed since; lost on re-encoding, and any
  edit, or copying it into another file, makes it read as invalid.

There is no switch to leave them out. Writers that receive a ``Provenance`` mark every
frame; the conversion, the demo, training previews and datasets always pass one.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from facetwin.forensics.watermark import embed_watermark
from facetwin.io.atomic import atomic_write_bytes
from facetwin.io.images import encode_png

__all__ = [
    "Provenance",
    "DIGITAL_SOURCE_TYPE",
    "CAPTURE_SOURCE_TYPE",
    "NOTICE",
    "ORIGINAL_NOTICE",
    "write_marked_png",
    "mark_png_bytes",
    "sign_video",
    "png_text",
    "video_tags",
    "CLAIM_KEY",
]

#: IPTC digital source type for media made by a trained model (what C2PA asks for).
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#: IPTC digital source type of footage a camera recorded: a detection dataset's originals.
CAPTURE_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
#: Written in human-readable fields (PNG Comment, MP4 comment).
NOTICE = "Synthetic media: faces swapped by facetwin (AI-generated, trained algorithmic media)"
#: The same fields of a detection dataset's original (real) footage.
ORIGINAL_NOTICE = (
    "Real footage re-encoded for a facetwin detection dataset: not synthetic. It carries "
    "facetwin's watermark on purpose, as the dataset's fakes do, so that the mark cannot "
    "tell real from fake; its signed C2PA manifest says which it is"
)
#: PNG text keyword and video tag holding the JSON claim.
CLAIM_KEY = "facetwin:provenance"
_VIDEO_CLAIM_TAG = "facetwin"  # container tags allow no colon in every format


@dataclass(frozen=True)
class Provenance:
    """Who made an output and with what.

    Args:
        model_fingerprint: ``model_fingerprint(model_dir)`` of the model that swapped
            the faces; None for outputs made without a trained model.
        key_dir: the folder of the C2PA signing key; None uses ``$FACETWIN_KEY_DIR`` or
            ``~/.config/facetwin/c2pa`` (made on first use).
        extra: more facts for the claim (a dataset's pair id, say); JSON values only.
    """

    model_fingerprint: str | None = None
    key_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    # "dataset_original": real footage of a detection dataset, marked like its fakes
    # (docs/design.md, "Detection datasets without a mark to learn"). The claim and the
    # signed manifest then say real; only the manifest, bound to the file, is believed.
    kind: str = "synthetic"

    def __post_init__(self) -> None:
        if self.kind not in ("synthetic", "dataset_original"):
            raise ValueError(f"kind must be 'synthetic' or 'dataset_original', got {self.kind!r}")

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    @property
    def digital_source_type(self) -> str:
        return DIGITAL_SOURCE_TYPE if self.synthetic else CAPTURE_SOURCE_TYPE

    @property
    def notice(self) -> str:
        return NOTICE if self.synthetic else ORIGINAL_NOTICE

    # The writers' marking interface (``facetwin.io.writers.Marks``).

    def mark_frame(self, image: np.ndarray) -> np.ndarray:
        return embed_watermark(image)

    def video_tags(self) -> dict[str, str]:
        return video_tags(self)

    def sign_video(self, path: Path, *, mime: str, title: str) -> None:
        sign_video(path, self, mime=mime, title=title)

    def write_png(self, path: Path, image: np.ndarray, *, compression: int) -> None:
        write_marked_png(path, image, self, compression=compression)

    @classmethod
    def for_model(cls, model_dir: str | Path, *, key_dir: str | Path | None = None, **extra: Any) -> Provenance:
        from facetwin.models.checkpoint import model_fingerprint

        return cls(model_fingerprint(model_dir), Path(key_dir) if key_dir is not None else None, dict(extra))

    def claim(self) -> dict[str, Any]:
        """The facts written into every file, as a JSON-ready dict."""
        from facetwin._version import __version__

        claim = dict(self.extra)  # context first: it cannot overwrite the facts below
        claim.update(
            {
                "synthetic": self.synthetic,
                "software": "facetwin",
                "version": __version__,
                "digital_source_type": self.digital_source_type,
                "model_fingerprint": self.model_fingerprint,
                "created": self.created,
            }
        )
        if not self.synthetic:
            claim["dataset_original"] = True
        return claim


def png_text(provenance: Provenance) -> dict[str, str]:
    """The PNG text entries: standard keywords for any viewer, the claim as JSON for tools."""
    from facetwin._version import __version__

    return {
        "Software": f"facetwin {__version__}",
        "Comment": provenance.notice,
        "Source": provenance.digital_source_type,
        CLAIM_KEY: json.dumps(provenance.claim(), sort_keys=True),
    }


def video_tags(provenance: Provenance) -> dict[str, str]:
    """Container tags; ``comment`` and ``description`` are standard MP4 and Matroska fields."""
    return {
        "comment": provenance.notice,
        "description": provenance.notice,
        _VIDEO_CLAIM_TAG: json.dumps(provenance.claim(), sort_keys=True),
    }


def read_video_claim(tags: dict[str, str]) -> dict[str, Any] | None:
    """The claim from container tags as PyAV reads them (Matroska upper-cases keys)."""
    for key, value in tags.items():
        if key.lower() == _VIDEO_CLAIM_TAG:
            return _claim_or_none(value)
    return None


def mark_png_bytes(png: bytes, provenance: Provenance, *, title: str) -> bytes:
    """PNG bytes (already watermarked) with facetwin's text chunks and a signed C2PA manifest."""
    from facetwin.forensics.c2pa import ensure_signing_key, sign_bytes

    data = add_png_text(png, png_text(provenance))
    return sign_bytes(data, "image/png", provenance.claim(), ensure_signing_key(provenance.key_dir), title=title)


def write_marked_png(path: str | Path, image: np.ndarray, provenance: Provenance, *, compression: int = 1) -> None:
    """Write RGB uint8 ``image`` as a PNG with all three marks, atomically."""
    path = Path(path)
    png = encode_png(embed_watermark(image), compression=compression)
    atomic_write_bytes(path, mark_png_bytes(png, provenance, title=path.name))


def sign_video(path: Path, provenance: Provenance, *, mime: str, title: str) -> None:
    """Add the signed C2PA manifest to a finished MP4/MOV file in place."""
    from facetwin.forensics.c2pa import ensure_signing_key, sign_file

    sign_file(path, provenance.claim(), ensure_signing_key(provenance.key_dir), mime=mime, title=title)


# --- PNG text chunks ----------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def add_png_text(png: bytes, entries: dict[str, str]) -> bytes:
    """Insert one ``iTXt`` chunk (UTF-8, uncompressed) per entry right after ``IHDR``.

    By hand because OpenCV writes no text chunks and Pillow would re-encode the pixels
    (4x slower than our Huffman-only PNGs).
    """
    if not png.startswith(_PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    end_of_ihdr = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    chunks = b"".join(
        _chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")) for key, value in entries.items()
    )
    return png[:end_of_ihdr] + chunks + png[end_of_ihdr:]


def read_png_text(png: bytes) -> dict[str, str]:
    """Every ``tEXt``, ``zTXt`` and ``iTXt`` entry of a PNG (later keys win); {} if not a PNG."""
    out: dict[str, str] = {}
    if not png.startswith(_PNG_SIGNATURE):
        return out
    pos = 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        try:
            if kind == b"tEXt":
                key, _, value = body.partition(b"\0")
                out[key.decode("latin-1")] = value.decode("latin-1")
            elif kind == b"zTXt":
                key, _, rest = body.partition(b"\0")
                out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
            elif kind == b"iTXt":
                key, _, rest = body.partition(b"\0")
                compressed, rest = rest[0], rest[2:]
                _, _, rest = rest.partition(b"\0")  # language tag
                _, _, text = rest.partition(b"\0")  # translated keyword
                out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
            elif kind == b"IEND":
                break
        except (zlib.error, UnicodeDecodeError, IndexError):
            continue  # one damaged chunk does not hide the others
    return out


def read_png_claim(text: dict[str, str]) -> dict[str, Any] | None:
    return _claim_or_none(text.get(CLAIM_KEY))


def _claim_or_none(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        claim = json.loads(value)
    except ValueError:
        return None
    return claim if isinstance(claim, dict) else None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
