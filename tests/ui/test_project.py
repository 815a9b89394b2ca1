"""The UI's project folder: sources checked before they are taken, state kept on disk."""

from __future__ import annotations

import pytest
from _helpers import write_video

from facetwin.errors import InputNotFoundError, UnreadableMediaError, UploadTooLargeError
from facetwin.io.images import write_png
from facetwin.ui.project import Project


@pytest.fixture
def uploads(tmp_path, astronaut, grace_hopper_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    write_png(folder / "astronaut.png", astronaut)
    write_video(folder / "clip.mp4", [astronaut, astronaut[::-1].copy()], fps=5)
    (folder / "notes.mp4").write_text("not a video")
    return folder


def test_images_become_a_folder_source_and_a_video_a_file(tmp_path, uploads, grace_hopper_path):
    project = Project(tmp_path / "p")
    source = project.add_upload("a", [uploads / "astronaut.png", grace_hopper_path])
    assert source == project.root / "sources" / "a" and source.is_dir()
    assert sorted(p.name for p in source.iterdir()) == ["astronaut.png", "grace_hopper.jpg"]
    video = project.add_upload("b", [uploads / "clip.mp4"])
    assert video == project.root / "sources" / "b" / "clip.mp4" and video.stat().st_size > 0
    # A new upload replaces the person's source; a reopened project remembers both.
    project.add_upload("a", [uploads / "astronaut.png"])
    reopened = Project(tmp_path / "p")
    assert [p.name for p in reopened.source("a").iterdir()] == ["astronaut.png"]
    assert reopened.source("b") == video
    assert reopened.source("input") is None


def test_bad_uploads_are_refused_and_change_nothing(tmp_path, uploads):
    project = Project(tmp_path / "p")
    project.add_upload("a", [uploads / "astronaut.png"])
    with pytest.raises(UnreadableMediaError, match=r"^cannot read notes.mp4 as an image or video: "):
        project.add_upload("a", [uploads / "notes.mp4"])
    with pytest.raises(UnreadableMediaError, match="give one video, or images only"):
        project.add_upload("a", [uploads / "astronaut.png", uploads / "clip.mp4"])
    size = (uploads / "clip.mp4").stat().st_size
    with pytest.raises(UploadTooLargeError, match="clip.mp4 is .* MiB, over the upload limit of 0 MiB"):
        project.add_upload("a", [uploads / "clip.mp4"], max_bytes=size - 1)
    assert [p.name for p in project.source("a").iterdir()] == ["astronaut.png"]


def test_a_path_on_this_machine_is_used_in_place(tmp_path, uploads):
    project = Project(tmp_path / "p")
    assert project.set_source("input", uploads / "clip.mp4") == (uploads / "clip.mp4").resolve()
    assert not (project.root / "sources").exists()  # nothing copied
    with pytest.raises(InputNotFoundError):
        project.set_source("input", uploads / "missing.mp4")
    assert project.source("input") == (uploads / "clip.mp4").resolve()
    assert not project.has_faces("a") and not project.has_model()


def test_reference_photos_are_kept_per_person_and_cleared(tmp_path, uploads, grace_hopper_path):
    project = Project(tmp_path / "p")
    project.add_upload("a", [uploads / "astronaut.png"])
    refs = project.set_refs("a", [uploads / "astronaut.png"])
    assert refs == [project.root / "refs" / "a" / "astronaut.png"] and refs[0].is_file()
    project.set_refs("input", [grace_hopper_path])
    reopened = Project(tmp_path / "p")
    assert reopened.refs("a") == refs and reopened.refs("b") == []
    assert [p.name for p in reopened.refs("input")] == ["grace_hopper.jpg"]
    assert reopened.source("a") is not None  # the sources are kept beside them
    # A video or an unreadable file is refused and the earlier photo kept; none clears them.
    with pytest.raises(UnreadableMediaError, match="clip.mp4 .* a reference face is a photo"):
        project.set_refs("a", [uploads / "clip.mp4"])
    with pytest.raises(UnreadableMediaError, match="^cannot read notes.png"):
        (uploads / "notes.png").write_text("not a photo")
        project.set_refs("a", [uploads / "notes.png"])
    size = (uploads / "astronaut.png").stat().st_size
    with pytest.raises(UploadTooLargeError):
        project.set_refs("a", [uploads / "astronaut.png"], max_bytes=size - 1)
    assert project.refs("a") == refs and refs[0].is_file()
    assert project.set_refs("a", []) == [] and project.refs("a") == []
    assert not (project.root / "refs" / "a").exists()
