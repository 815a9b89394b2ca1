"""The code passes ``ruff check`` (pyflakes, syntax, import order) and ``ruff format --check``.

Settings in pyproject.toml ([tool.ruff]); ruff comes with the test extra, so CI runs this.
Fix with ``ruff check --fix`` and ``ruff format``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "tools", "conftest.py"]


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401  (the package ships the binary and a module that finds it)
    except ImportError:
        exe = shutil.which("ruff")
        if exe is None:
            pytest.skip("ruff is not installed (pip install -e '.[test]')")
        return [exe]
    return [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize(
    "command", [["check", "--no-cache"], ["format", "--check", "--no-cache"]], ids=["check", "format"]
)
def test_ruff(command):
    done = subprocess.run([*_ruff(), *command, *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
