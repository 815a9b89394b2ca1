"""One registry of architectures: register a factory, create by name.

Every model is a ``SwapModel``: one shared encoder, one decoder per person, called as
``model(x, to="a" | "b")``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from facetwin.errors import InvalidOptionError

__all__ = ["SwapModel", "register_model", "create_model", "list_models", "model_info"]

_REGISTRY: dict[str, Callable[..., SwapModel]] = {}
_DOCS: dict[str, str] = {}


class SwapModel(nn.Module):
    """Shared encoder, decoder A, decoder B.

    Args:
        encoder: (B, 3, S, S) -> latent.
        decoder_a, decoder_b: latent -> (B, 3 or 4, S, S) in [0, 1]; a fourth channel
            is a predicted face mask.
        input_size: S, the side of the faces the model takes and returns.
        predicts_mask: whether decoders return the mask channel.
    """

    def __init__(
        self, encoder: nn.Module, decoder_a: nn.Module, decoder_b: nn.Module, *, input_size: int, predicts_mask: bool
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder_a = decoder_a
        self.decoder_b = decoder_b
        self.input_size = input_size
        self.predicts_mask = predicts_mask
        self.config: dict[str, Any] = {}
        # The face window it was trained on (facetwin.faces.align.FaceType), set when a
        # trained model is loaded; None for models from before face types.
        self.face: Any = None

    def forward(self, x: torch.Tensor, to: Literal["a", "b"]) -> torch.Tensor:
        """Encode faces ``x`` (B, 3, S, S) in [0, 1] and decode them as person ``to``.

        Returns (B, 3, S, S), or (B, 4, S, S) with the mask last when ``predicts_mask``.
        """
        if to == "a":
            return self.decoder_a(self.encoder(x))
        if to == "b":
            return self.decoder_b(self.encoder(x))
        raise InvalidOptionError("to", to, 'one of "a", "b"')


def register_model(fn: Callable[..., SwapModel]) -> Callable[..., SwapModel]:
    """Decorator: register a factory under its function name."""
    _REGISTRY[fn.__name__] = fn
    _DOCS[fn.__name__] = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
    return fn


def list_models() -> list[str]:
    """Registered architecture names, sorted.

    >>> "original" in list_models()
    True
    """
    _load_builtin()
    return sorted(_REGISTRY)


def model_info() -> dict[str, str]:
    """Name -> one-line description, for help texts."""
    _load_builtin()
    return {name: _DOCS[name] for name in sorted(_REGISTRY)}


def create_model(name: str, **overrides: Any) -> SwapModel:
    """Build a registered architecture; ``overrides`` replace its default settings.

    The resolved settings are kept in ``model.config`` (saved as the model's
    config.json), so the same model can be rebuilt from it.

    >>> create_model("orignal")
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: model must be one of fast128, fast64, original, tiny64 (closest: original), got 'orignal'
    """
    _load_builtin()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" (closest: {', '.join(close)})" if close else ""
        raise InvalidOptionError("model", name, "one of " + ", ".join(sorted(_REGISTRY)) + hint)
    model = _REGISTRY[name](**overrides)
    model.config = {"name": name, **model.config}
    return model


def _load_builtin() -> None:
    # Importing the architecture modules runs their @register_model decorators.
    from facetwin.models import fast, original  # noqa: F401
