"""Who may do what in a served UI: loopback or shared, typed paths, credentials, served files.

A UI served to this machine only (a loopback host) is its owner's: any path, no log-in.
A shared one (any other host, or ``shared=True`` behind a proxy) asks for a log-in,
reads typed paths only under the roots its owner allows, and serves from the project
only what the page shows. No Gradio here: the rules are testable without a server.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from facetwin.errors import InputNotFoundError, PathNotAllowedError
from facetwin.ui.project import Project

__all__ = ["DEFAULT_USER", "allowed_input", "generate_credentials", "is_loopback", "resolve_roots", "served_files"]

#: The user name of credentials made up at start.
DEFAULT_USER = "facetwin"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost).

    Anything else, "0.0.0.0" and "" included, counts as shared.
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def generate_credentials() -> tuple[str, str]:
    """A user name and a fresh random password (128 bits: guessing it is hopeless)."""
    return DEFAULT_USER, secrets.token_urlsafe(16)


def resolve_roots(roots: Iterable[str | Path]) -> tuple[Path, ...]:
    """The owner's allowed roots, resolved (symlinks followed).

    Raises:
        InputNotFoundError: a root does not exist (the owner mistyped it).
    """
    resolved = []
    for root in roots:
        path = Path(root).expanduser()
        try:
            resolved.append(path.resolve(strict=True))
        except (OSError, RuntimeError):
            raise InputNotFoundError(path) from None
    return tuple(resolved)


def allowed_input(typed: str, roots: Sequence[Path] | None) -> Path:
    """The path a visitor typed, resolved, if it lies under one of ``roots``.

    Args:
        typed: the text as typed ("~" and relative paths allowed).
        roots: resolved folders (or files) that may be read; None: any path (the owner's UI).

    Raises:
        PathNotAllowedError: outside every root. The same sentence whether the path exists,
            is unreadable or cannot even be resolved: symlinks are followed first, so one
            inside a root that points outside is refused too.
    """
    if roots is None:
        return Path(typed).expanduser().resolve()
    try:
        # expanduser raises for an unknown ~user and resolve for a NUL byte: both are
        # refused like any other path, so the answer says nothing about the machine.
        path = Path(typed).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        raise PathNotAllowedError(typed, roots) from None
    if not any(path == root or path.is_relative_to(root) for root in roots):
        raise PathNotAllowedError(typed, roots)
    return path


def served_files(project: Project) -> tuple[list[str], list[str]]:
    """What Gradio may serve from the project (``allowed_paths``) and what never (``blocked_paths``).

    Only what the page shows: the face crops, the outputs (marked results, tuning
    previews), the training preview and loss plot. Weights, uploads, ``project.json``,
    the crash logs and ``alignments.json`` (they hold server paths) stay on the server.
    """
    allowed = [
        project.faces_dir("a"),
        project.faces_dir("b"),
        project.outputs_dir,
        project.model_dir / "preview.png",
        project.model_dir / "loss.png",
    ]
    blocked = [project.faces_dir(p) / "alignments.json" for p in ("a", "b")]
    return [str(p) for p in allowed], [str(p) for p in blocked]
