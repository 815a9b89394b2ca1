"""Tests for facetwin.pairs: pair lists for dataset and evaluate."""

from __future__ import annotations

import pytest

from facetwin.errors import FacetwinError, InvalidOptionError
from facetwin.pairs import read_pairs


@pytest.mark.parametrize("name", ["pairs.csv", "pairs.json"])
def test_pair_list_that_is_not_utf8_is_one_clear_error(tmp_path, name):
    path = tmp_path / name
    path.write_bytes("ciné.mp4,café.mp4\n".encode("latin-1"))  # Windows-1252 editors write this
    with pytest.raises(InvalidOptionError) as info:
        read_pairs(path)
    assert isinstance(info.value, FacetwinError)
    assert "UTF-8" in str(info.value) and "byte 3" in str(info.value) and str(path) in str(info.value)


def test_pair_list_in_utf8_with_accents_reads(tmp_path):
    for name in ("ciné.mp4", "café.mp4"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "pairs.csv").write_text("ciné.mp4,café.mp4\n", encoding="utf-8")
    pair = read_pairs(tmp_path / "pairs.csv")[0]
    assert pair.target == tmp_path / "ciné.mp4" and pair.source == tmp_path / "café.mp4"
