"""Every registered architecture: shapes, no NaN, a gradient for every parameter."""

from __future__ import annotations

import pytest
import torch

from facetwin.errors import InvalidOptionError
from facetwin.models import create_model, list_models, model_info

# Small widths keep the tests fast; 'original' is fixed layer for layer, so it runs as is.
TINY = {"fast64": {"width": 8, "latent": 32}, "fast128": {"width": 8, "latent": 32}}  # tiny64 is tiny


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("to", ["a", "b"])
def test_forward_backward(name, to):
    torch.manual_seed(0)
    model = create_model(name, **TINY.get(name, {}))
    s = model.input_size
    x = torch.rand(2, 3, s, s)
    y = model(x, to=to)
    assert y.shape == (2, 4 if model.predicts_mask else 3, s, s)
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    y.mean().backward()
    used = model.encoder.parameters(), getattr(model, f"decoder_{to}").parameters()
    for params in used:
        for p in params:
            assert p.grad is not None and torch.isfinite(p.grad).all()
            assert p.grad.abs().sum() > 0
    other = getattr(model, f"decoder_{'b' if to == 'a' else 'a'}")
    assert all(p.grad is None for p in other.parameters())


def test_original_is_the_original():
    model = create_model("original")
    # 69,662,976 (encoder) + 2 x 6,199,747 (decoders), the Keras original layer by layer.
    assert sum(p.numel() for p in model.parameters()) == 82_062_470
    assert model.input_size == 64 and not model.predicts_mask
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(torch.rand(1, 3, 64, 64), to="a")
    assert 3.7e9 < counter.get_total_flops() < 3.9e9


def test_defaults_are_cheaper_than_original():
    from torch.utils.flop_counter import FlopCounterMode

    def flops(name: str) -> int:
        m = create_model(name)
        with FlopCounterMode(display=False) as c:
            m(torch.rand(1, 3, m.input_size, m.input_size), to="a")
        return c.get_total_flops()

    assert flops("fast64") < flops("original") / 3
    assert flops("fast128") < flops("original") / 2
    assert flops("tiny64") < flops("fast64") / 20


def test_config_rebuilds_the_same_model():
    model = create_model("fast64", width=8, latent=32, mask=False)
    assert model.config == {"name": "fast64", "width": 8, "latent": 32, "mask": False}
    again = create_model(model.config["name"], **{k: v for k, v in model.config.items() if k != "name"})
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


def test_unknown_name_lists_close_matches():
    with pytest.raises(InvalidOptionError, match=r"one of fast128, fast64, original, tiny64 \(closest: fast64"):
        create_model("fast46")


def test_bad_direction():
    model = create_model("fast64", **TINY["fast64"])
    with pytest.raises(InvalidOptionError, match='to must be one of "a", "b"'):
        model(torch.rand(1, 3, 64, 64), to="c")


def test_info_for_help():
    info = model_info()
    assert set(info) == set(list_models()) and all(info.values())
