"""Who may do what in a served UI: loopback hosts, typed paths under the allowed roots, served files."""

from __future__ import annotations

import os
import shutil

import pytest

from facetwin.errors import InputNotFoundError, PathNotAllowedError
from facetwin.ui.access import (
    DEFAULT_USER,
    allowed_input,
    generate_credentials,
    is_loopback,
    resolve_roots,
    served_files,
)
from facetwin.ui.project import Project


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("", False),
        ("my-server.lan", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_credentials_are_new_each_time():
    (user, first), (_, second) = generate_credentials(), generate_credentials()
    assert user == DEFAULT_USER and first != second and len(first) >= 20


@pytest.fixture
def machine(tmp_path, grace_hopper_path):
    """An allowed root holding a portrait, and beside it the owner's private files."""
    root = tmp_path / "shared"
    root.mkdir()
    shutil.copyfile(grace_hopper_path, root / "portrait.jpg")
    private = tmp_path / "private"
    private.mkdir()
    shutil.copyfile(grace_hopper_path, private / "secret.jpg")
    (private / "unreadable.jpg").write_bytes(b"\xff\xd8 not quite a jpeg")
    os.chmod(private / "unreadable.jpg", 0)
    (root / "escape.jpg").symlink_to(private / "secret.jpg")  # inside the root, pointing out of it
    return resolve_roots([root]), private


def test_a_path_outside_the_roots_gives_one_message_whether_or_not_it_exists(machine):
    roots, private = machine
    typed = [
        str(private / "secret.jpg"),
        str(private / "unreadable.jpg"),
        str(private / "missing.jpg"),
        str(private / "nowhere" / "missing.jpg"),
        f"{roots[0]}/../private/secret.jpg",
        str(roots[0] / "escape.jpg"),
        "~nosuchuser12345/x.jpg",
        "~/x.jpg",
        "bad\x00name.jpg",
    ]
    messages = set()
    for text in typed:
        with pytest.raises(PathNotAllowedError) as info:
            allowed_input(text, roots)
        assert isinstance(info.value, PermissionError)
        assert str(info.value).startswith(f"not an allowed path: {text} ")
        messages.add(str(info.value).replace(text, "TYPED"))
    assert messages == {
        f"not an allowed path: TYPED (this server reads videos, images and folders under "
        f"{roots[0]} only; upload anything else)"
    }


def test_a_path_under_a_root_is_resolved(machine):
    roots, _ = machine
    assert allowed_input(str(roots[0] / "portrait.jpg"), roots) == roots[0] / "portrait.jpg"
    assert allowed_input(f"{roots[0]}/sub/../portrait.jpg", roots) == roots[0] / "portrait.jpg"
    assert allowed_input(str(roots[0]), roots) == roots[0]
    # Inside a root, a missing file is the library's business (its own message).
    assert allowed_input(str(roots[0] / "missing.jpg"), roots) == roots[0] / "missing.jpg"


def test_without_roots_any_path_goes_through(machine):
    _, private = machine
    assert allowed_input(str(private / "secret.jpg"), None) == private / "secret.jpg"


def test_a_missing_root_is_the_owners_one_line(tmp_path):
    with pytest.raises(InputNotFoundError, match="input not found: .*nothere"):
        resolve_roots([tmp_path, tmp_path / "nothere"])


def test_only_what_the_page_shows_is_served(tmp_path):
    project = Project(tmp_path / "p")
    allowed, blocked = served_files(project)
    root = str(project.root)
    assert sorted(p.removeprefix(root) for p in allowed) == [
        "/faces/a",
        "/faces/b",
        "/model/loss.png",
        "/model/preview.png",
        "/outputs",
    ]
    assert sorted(p.removeprefix(root) for p in blocked) == ["/faces/a/alignments.json", "/faces/b/alignments.json"]
