"""A UI project: one folder holding a face swap's sources, faces, model and outputs.

    PROJECT/
      project.json     where each person's source and reference photos are
      jobs.json        the job table (facetwin.ui.jobs), kept across restarts
      sources/a/, b/   uploaded files (a path given on this machine is used in place)
      refs/a/, b/, input/  uploaded reference photos: whose face is extracted or swapped
      faces/a/, b/     facetwin extract output
      model/           facetwin train output
      outputs/         facetwin convert output, the tuning previews, evaluation/

Everything else is read back from these folders, so a page opened later, or a server
started again on the same folder, shows where the work stands.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from facetwin.errors import EmptyInputError, ProjectFolderError, UnreadableMediaError, UploadTooLargeError
from facetwin.io.atomic import atomic_write_json
from facetwin.io.images import IMAGE_SUFFIXES
from facetwin.io.media import open_media

__all__ = ["Person", "Project"]

#: The two people, and "input": what is to be converted.
Person = Literal["a", "b", "input"]


class Project:
    """The folders of one project (created on first use)."""

    def __init__(self, root: str | Path) -> None:
        """
        Raises:
            ProjectFolderError: ``root`` is a file, or the folder cannot be created.
        """
        self.root = Path(root).resolve()
        if self.root.exists() and not self.root.is_dir():
            raise ProjectFolderError(self.root, "it is a file")
        try:
            for folder in (self.outputs_dir, self.previews_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # read-only, permission, a file on the way
            raise ProjectFolderError(self.root, exc.strerror or type(exc).__name__) from None

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    @property
    def previews_dir(self) -> Path:
        return self.root / "outputs" / "previews"

    @property
    def evaluation_dir(self) -> Path:
        return self.root / "outputs" / "evaluation"

    def faces_dir(self, person: Person) -> Path:
        return self.root / "faces" / person

    def source(self, person: Person) -> Path | None:
        """The person's source (a video, an image folder or an image), if one was set."""
        value = self._state().get("sources", {}).get(person)
        return Path(value) if value else None

    def set_source(self, person: Person, path: str | Path) -> Path:
        """Use a video, an image folder or an image on this machine as the person's source.

        Raises:
            FacetwinError subclasses when it cannot be read as a video or images.
        """
        path = Path(path).expanduser().resolve()
        _check_readable(path)
        state = self._state()
        state.setdefault("sources", {})[person] = str(path)
        atomic_write_json(self.root / "project.json", state)
        return path

    def add_upload(self, person: Person, files: Sequence[str | Path], *, max_bytes: int | None = None) -> Path:
        """Make uploaded files the person's source: one video, or any number of images.

        The files are checked (size, readable as a video or images) before anything
        is copied, so a bad upload leaves the project as it was.
        """
        files = [Path(f) for f in files]
        if not files:
            raise EmptyInputError("upload", IMAGE_SUFFIXES)
        for f in files:
            size = f.stat().st_size
            if max_bytes is not None and size > max_bytes:
                raise UploadTooLargeError(f.name, size, max_bytes)
        images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        if len(files) > 1 and len(images) < len(files):
            odd = next(f for f in files if f not in images)
            raise UnreadableMediaError(odd.name, "give one video, or images only")
        for f in files:
            try:
                _check_readable(f)
            except UnreadableMediaError as exc:  # name the file as uploaded, not its temporary path
                raise UnreadableMediaError(f.name, exc.reason) from None
        folder = self.root / "sources" / person
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, folder / f.name)
        return self.set_source(person, folder if images else folder / files[0].name)

    def refs(self, person: Person) -> list[Path]:
        """The reference photos of ``person`` (``ExtractConfig.ref_faces``): whose faces are
        kept when extracting (A, B) or swapped when converting ("input"); empty: everyone's."""
        return [Path(p) for p in self._state().get("refs", {}).get(person, [])]

    def set_refs(self, person: Person, files: Sequence[str | Path], *, max_bytes: int | None = None) -> list[Path]:
        """Make uploaded images the reference photos of ``person``; no files clears them.

        Raises:
            UploadTooLargeError, UnreadableMediaError: a file over ``max_bytes`` or not an
                image; the earlier photos are kept.
        """
        files = [Path(f) for f in files]
        for f in files:
            size = f.stat().st_size
            if max_bytes is not None and size > max_bytes:
                raise UploadTooLargeError(f.name, size, max_bytes)
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                raise UnreadableMediaError(f.name, "a reference face is a photo, not a video")
            try:
                _check_readable(f)
            except UnreadableMediaError as exc:
                raise UnreadableMediaError(f.name, exc.reason) from None
        folder = self.root / "refs" / person
        if folder.exists():
            shutil.rmtree(folder)
        kept = []
        if files:
            folder.mkdir(parents=True)
            for f in files:
                shutil.copyfile(f, folder / f.name)
                kept.append(folder / f.name)
        state = self._state()
        state.setdefault("refs", {})[person] = [str(p) for p in kept]
        atomic_write_json(self.root / "project.json", state)
        return kept

    def has_faces(self, person: Person) -> bool:
        return (self.faces_dir(person) / "alignments.json").exists()

    def has_model(self) -> bool:
        return (self.model_dir / "state.json").exists()

    def _state(self) -> dict:
        path = self.root / "project.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}


def _check_readable(path: Path) -> None:
    """Open ``path`` and decode its first frame: the same reader extraction will use."""
    with open_media(path) as source:
        if next(source.frames(), None) is None:
            raise UnreadableMediaError(path.name, "holds no frame")
