"""The wheel as users get it: what it carries, what it asks for, what installing it would change.

The wheel is built offline with the setuptools already installed (no build isolation, no
index), from a copy of the files the build reads, so that the checkout gets no build/ or
egg-info and stale files in an old build/lib cannot slip into the wheel.
"""

from __future__ import annotations

import email.parser
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: the project table, the readme and licence it names, the package.
BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "src"]
# Builds of torch users bring with them: pip must count these as satisfying the range.
OTHER_TORCH_BUILDS = ["2.6.0+cu124", "2.13.0+rocm6.4", "2.13.0+cpu"]

pytestmark = pytest.mark.slow  # a wheel build and a pip resolve: several seconds each


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            pytest.skip("reading pyproject.toml needs tomllib (Python 3.11+) or tomli")
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _require_offline_backend() -> None:
    """Skip unless the build backend pyproject.toml asks for is installed (nothing can be downloaded)."""
    from packaging.requirements import Requirement

    for line in _toml(ROOT / "pyproject.toml")["build-system"]["requires"]:
        requirement = Requirement(line)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"build backend not available offline: {line} is not installed (pip install '{line}')")
        if not requirement.specifier.contains(installed, prereleases=True):
            pytest.skip(f"build backend not available offline: {line} needed, {installed} installed")


def _pip_version() -> tuple[int, ...]:
    return tuple(int(part) for part in importlib.metadata.version("pip").split(".")[:2] if part.isdigit())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, str]:
    """(wheel, the source copy it was built from, the build's output)."""
    _require_offline_backend()
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
            shutil.copytree(ROOT / name, source / name, ignore=junk)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*command, "-w", str(out), str(source)], capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    (wheel,) = out.glob("facetwin-*.whl")
    return wheel, source, log


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(zf.read(name).decode("utf-8"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_wheel_carries_every_module_and_data_file(built):
    wheel, source, _ = built
    package = source / "src" / "facetwin"
    modules = {"facetwin/" + p.relative_to(package).as_posix() for p in package.rglob("*.py")}
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert {n for n in names if n.endswith(".py")} == modules
        # Only the package and its metadata: no tests, build leftovers or a second top level.
        assert {n.split("/")[0] for n in names} == {"facetwin", wheel.name.split("-py")[0] + ".dist-info"}
        assert "facetwin/py.typed" in names
        # The shipped base model, byte for byte (its sha256 is checked at load, docs/base-model.md).
        for data in ["models/weights/base.safetensors", "models/weights/base.json"]:
            assert _sha256(zf.read("facetwin/" + data)) == _sha256((package / data).read_bytes()), data
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "facetwin = facetwin.cli:main" in zf.read(entry_points).decode()


def test_wheel_carries_the_licence_and_one_version(built):
    wheel, source, _ = built
    from facetwin._version import __version__

    meta = _metadata(wheel)
    # PEP 639: an SPDX expression and the licence text itself in the dist-info.
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    with zipfile.ZipFile(wheel) as zf:
        (licence,) = [n for n in zf.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        text = zf.read(licence).decode()
    assert text == (source / "LICENSE").read_text() and text.startswith("MIT License")
    assert "Copyright (c) 2026 the facetwin authors" in text
    # _version.py is the one place the version is written; the metadata reads it from there.
    assert meta["Version"] == __version__ and wheel.name.startswith(f"facetwin-{__version__}-")


def test_build_gives_no_deprecation_warning(built):
    *_, log = built
    # setuptools warned that `license = {text = ...}` is deprecated; the PEP 639 form fixed it.
    warnings = [line for line in log.splitlines() if "DeprecationWarning" in line]
    assert not warnings, "\n".join(warnings)


def test_torch_is_a_range_that_accepts_users_builds(built):
    from packaging.requirements import Requirement

    wheel, *_ = built
    requires = [Requirement(line) for line in _metadata(wheel).get_all("Requires-Dist")]
    (torch,) = [r for r in requires if r.name == "torch" and r.marker is None]
    assert torch.specifier, "torch has no version range at all"
    assert not any(s.operator in ("==", "===") for s in torch.specifier), f"torch is pinned: {torch}"
    installed = importlib.metadata.version("torch")
    for version in [installed, *OTHER_TORCH_BUILDS]:
        assert torch.specifier.contains(version), f"{torch} refuses torch {version}"
    # A floor: torch 1.x has no torch.compile or Tensor.untyped_storage, which the code uses.
    assert not torch.specifier.contains("1.13.1"), f"{torch} accepts torch 1.13.1"


def _installed_facetwin_kept_by_pip(version: str) -> bool:
    """Whether pip would keep an installed facetwin over a wheel of the same version.

    It does for a regular install of that version; an editable install (the checkout's
    `pip install -e`) or none at all gets the wheel.
    """
    try:
        dist = importlib.metadata.distribution("facetwin")
    except importlib.metadata.PackageNotFoundError:
        return False
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    return dist.version == version and not direct.get("dir_info", {}).get("editable", False)


def _environment_with_torch(build: str | None, where: Path) -> dict[str, str]:
    """This environment, or it with torch ``build`` in place of the installed one (to pip).

    A user's own build is stood in for by its metadata alone, ahead of site-packages on
    PYTHONPATH: pip reads the installed version from there and nothing imports it.
    """
    env = dict(os.environ)
    if build is None:
        return env
    info = where / f"torch-{build}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {build}\n")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(where), env.get("PYTHONPATH")]))
    seen = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('torch'))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert seen.stdout.strip() == build, "the stand-in torch is not the one Python finds"
    return env


@pytest.mark.skipif(_pip_version() < (22, 2), reason="pip install --dry-run --report needs pip 22.2 or later")
@pytest.mark.parametrize("torch_build", [None, "2.6.0+cu124", "2.13.0+rocm6.4"], ids=["installed", "cuda", "rocm"])
def test_installing_the_wheel_leaves_torch_alone(built, tmp_path, torch_build):
    wheel, *_ = built
    env = _environment_with_torch(torch_build, tmp_path / "site")
    report = tmp_path / "report.json"
    # --no-index: no network here, and none needed, since every dependency is installed already.
    # With the former torch==2.13.0 pin, pip wanted to replace the CUDA and ROCm builds.
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--report", str(report), str(wheel)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    install = json.loads(report.read_text())["install"]
    names = sorted(item["metadata"]["name"].lower().replace("_", "-") for item in install)
    version = _metadata(wheel)["Version"]
    assert names == ([] if _installed_facetwin_kept_by_pip(version) else ["facetwin"]), names
