"""Identity retrieval in a gallery: ranks on constructed vectors with known answers, the
gallery's people from folders and videos, and real faces of the package portraits."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import shifted, write_video

from facetwin.config import ExtractConfig
from facetwin.errors import EmptyInputError, InputNotFoundError, InvalidOptionError
from facetwin.evaluation.gallery import Gallery, build_gallery, gallery_sources, target_ranks, top_k
from facetwin.faces import FaceFinder
from facetwin.io import write_png


def test_ranks_on_a_gallery_with_known_answers():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(40, 16))
    target = 7
    # A face at the target itself, one between the target and person 3, one nearest person 3.
    faces = np.stack(
        [
            gallery[target] * 2.0,
            gallery[target] + 0.45 * (gallery[3] - gallery[target]),
            0.2 * gallery[target] + gallery[3],
        ]
    )
    distances = (
        1
        - (faces / np.linalg.norm(faces, axis=1, keepdims=True))
        @ (gallery / np.linalg.norm(gallery, axis=1, keepdims=True)).T
    )
    expected = 1 + (np.delete(distances, target, axis=1) <= distances[:, [target]]).sum(axis=1)
    ranks = target_ranks(faces, gallery, target)
    assert ranks.tolist() == expected.tolist()
    assert ranks[0] == 1 and ranks[2] >= 2
    assert top_k(ranks, 1) == np.mean(expected == 1) and top_k(ranks, 40) == 1.0
    assert top_k([], 5) is None


def test_ranks_use_cosine_distance_and_count_ties_against_the_target():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # persons 0 and 2 are the same vector
    assert target_ranks(np.array([[5.0, 0.0]]), gallery, 0).tolist() == [2]  # a tie: not top-1
    assert target_ranks(np.array([[0.0, 0.01]]), gallery, 1).tolist() == [1]  # length does not matter


def test_ranks_reject_bad_shapes_and_targets():
    with pytest.raises(InvalidOptionError):
        target_ranks(np.zeros((2, 3)), np.zeros((4, 5)), 0)
    with pytest.raises(InvalidOptionError):
        target_ranks(np.ones((2, 3)), np.ones((4, 3)), 4)


def test_gallery_sources_one_person_per_video_or_image_folder(tmp_path, astronaut):
    frames = [astronaut[:64, :64]] * 3
    write_video(tmp_path / "one.mp4", frames)
    people = tmp_path / "people"
    for name in ("p2", "p1"):
        (people / name).mkdir(parents=True)
        write_png(people / name / "0.png", astronaut[:32, :32])
    write_video(people / "v.mp4", frames)
    (people / "notes.txt").write_text("not media")
    found = gallery_sources([tmp_path / "one.mp4", people, people / "p1"])
    assert found == [tmp_path / "one.mp4", people / "p1", people / "p2", people / "v.mp4", people / "p1"]
    with pytest.raises(InputNotFoundError):
        gallery_sources([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyInputError):
        gallery_sources([tmp_path / "empty"])


def test_real_faces_are_retrieved_as_themselves(tmp_path, astronaut, grace_hopper):
    from facetwin.evaluation.runner import load_tools

    # Each person: a folder of views (moved, brighter); a video of a third set of views.
    people = tmp_path / "people"
    for name, image in (("astronaut", astronaut), ("grace", grace_hopper)):
        (people / name).mkdir(parents=True)
        for i, (dx, dy) in enumerate([(0, 0), (9, -5), (-6, 7)]):
            view = np.clip(shifted(image, dx, dy).astype(np.int16) + 10 * i, 0, 255).astype(np.uint8)
            write_png(people / name / f"{i}.png", view)
    (people / "blank").mkdir()
    write_png(people / "blank" / "0.png", np.full((64, 64, 3), 128, np.uint8))
    (people / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    tools = load_tools()
    gallery = build_gallery(gallery_sources([people]), tools, frames=3)
    assert [p.name for p in gallery.people] == ["astronaut", "grace"] and gallery.people[0].faces == 3
    assert sorted(gallery.skipped) == [str(people / "blank"), str(people / "broken.mp4")]
    finder = FaceFinder(ExtractConfig(), video=False)
    for recogniser in ("dlib", "sface") if tools.sface else ("dlib",):
        matrix = gallery.matrix(recogniser)
        assert np.allclose(np.linalg.norm(matrix, axis=1), 1)
        encode = getattr(tools, recogniser)
        for target, image in enumerate((astronaut, grace_hopper)):
            mirrored = image[:, ::-1]  # a view the gallery never saw (and not C-contiguous)
            face = finder(mirrored, 0.0)[0]
            assert target_ranks(encode(mirrored, face.landmarks)[None], matrix, target).tolist() == [1]
    # The same footage twice is one person.
    again = Gallery(list(gallery.people))
    again.add(gallery.people[0])
    assert len(again) == 2
    with pytest.raises(InvalidOptionError):
        build_gallery([people / "blank"], tools, frames=1)


def test_the_gallery_cache_is_used_while_the_footage_is_unchanged(tmp_path, monkeypatch):
    import os
    import types

    from facetwin.evaluation import gallery as module

    calls = []

    def measured(source, tools, *, frames):
        calls.append(source.name)
        return module.person_from_vectors(source.name, source, {"dlib": [np.ones(4) * len(calls)], "sface": []})

    monkeypatch.setattr(module, "person_vectors", measured)
    people = []
    for name in ("p1", "p2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "0.png").write_bytes(b"x")
        people.append(tmp_path / name)
    tools = types.SimpleNamespace(sface=None)
    cache = tmp_path / "out" / "cache.json"
    first = build_gallery(people, tools, frames=3, cache=cache)
    assert calls == ["p1", "p2"] and cache.is_file()
    again = build_gallery(people, tools, frames=3, cache=cache)
    assert calls == ["p1", "p2"]  # nothing measured again
    assert np.allclose(again.matrix("dlib"), first.matrix("dlib"))
    build_gallery(people, tools, frames=4, cache=cache)  # other settings: measured again
    assert calls == ["p1", "p2", "p1", "p2"]
    os.utime(tmp_path / "p2" / "0.png", ns=(1, 1))  # p2's footage changed
    build_gallery(people, tools, frames=4, cache=cache)
    assert calls[4:] == ["p2"]
    cache.write_text("{damaged")
    build_gallery(people, tools, frames=4, cache=cache)
    assert calls[5:] == ["p1", "p2"]
