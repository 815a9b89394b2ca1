"""Transfer learning: start a model from another model's weights, wherever they fit.

A model trained on other people already knows faces in general; loading every tensor
whose name and shape match (and reporting the rest) lets a new pair start from that
instead of from noise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from facetwin.errors import InvalidOptionError

__all__ = ["LoadReport", "load_matching", "match_weights", "unwrap_model", "clean_key"]


@dataclass(frozen=True)
class LoadReport:
    """What ``load_matching`` did with each tensor.

    Attributes:
        loaded: model tensors that received a value, by name (model order).
        missing: model tensors the weights did not name; they keep their values.
        unexpected: names in the weights (after remapping) that the model lacks.
        mismatched: ``(name, shape in the weights, shape in the model)`` for names both
            hold at different shapes; the model keeps its values.
    """

    loaded: list[str]
    missing: list[str]
    unexpected: list[str]
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]

    @property
    def complete(self) -> bool:
        """True when every model tensor was loaded and every weight was used."""
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:
        total = len(self.loaded) + len(self.missing) + len(self.mismatched)
        if self.complete:
            return f"loaded all {total} model tensors"
        parts = [f"loaded {len(self.loaded)} of {total} model tensors"]
        if self.mismatched:
            shown = [f"{n} {tuple(w)} in the weights, {tuple(m)} in the model" for n, w, m in self.mismatched]
            parts.append(f"{len(self.mismatched)} kept their values for another shape ({_first(shown)})")
        if self.missing:
            parts.append(f"{len(self.missing)} not in the weights kept their values ({_first(self.missing)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} weights have no place in the model ({_first(self.unexpected)})")
        return "; ".join(parts)


def load_matching(
    model: torch.nn.Module,
    weights: Mapping[str, torch.Tensor],
    *,
    remap: Callable[[str], str | None] | None = None,
) -> LoadReport:
    """Load every tensor of ``weights`` whose name and shape match the model (transfer learning).

    Names are compared unwrapped on both sides: ``_orig_mod.`` (torch.compile) is
    dropped wherever it appears, and a ``module.`` (DDP) prefix that every weight has
    and no model key has is dropped. Tensors keep the model's dtype and device.

    Args:
        model: the model to fill in place; wrappers are unwrapped.
        weights: name -> tensor, e.g. from ``read_weights`` or ``safetensors.torch.load_file``.
        remap: maps each (unwrapped) weight name to the model's name for it, or to
            None to leave that weight out (it is then not reported as unexpected).

    Returns:
        What was loaded and what was not; ``str()`` gives a one-paragraph summary.

    Raises:
        InvalidOptionError: a value is not a tensor, or two weights map to one name.

    >>> target = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    >>> source = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 2))
    >>> print(load_matching(target, source.state_dict()))
    loaded 2 of 4 model tensors; 2 kept their values for another shape (1.weight (2, 3) in the weights, (1, 3) in the model, 1.bias (2,) in the weights, (1,) in the model)
    """
    to_load, report = match_weights(model, weights, remap=remap)
    unwrap_model(model).load_state_dict(to_load, strict=False)
    return report


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside any ``torch.compile``, DDP or DataParallel wrappers.

    >>> inner = torch.nn.Linear(2, 2)
    >>> unwrap_model(torch.nn.DataParallel(inner)) is inner
    True
    """
    while True:
        if isinstance(model, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), torch.nn.Module):
            model = model._orig_mod  # torch.compile's OptimizedModule
        else:
            return model


def clean_key(key: str) -> str:
    # torch.compile inserts "_orig_mod" at whichever level was compiled, not only first.
    return ".".join(part for part in key.split(".") if part != "_orig_mod")


def match_weights(
    model: torch.nn.Module,
    weights: Mapping[str, torch.Tensor],
    *,
    remap: Callable[[str], str | None] | None,
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """Pair weights with model keys; returns the dict to load (model's own keys) and the report."""
    target = unwrap_model(model).state_dict()
    by_name = {clean_key(k): k for k in target}
    source: dict[str, torch.Tensor] = {}
    for key, tensor in weights.items():
        if not isinstance(tensor, torch.Tensor):
            raise InvalidOptionError(f"weights[{key!r}]", type(tensor).__name__, "a tensor")
        source[clean_key(key)] = tensor
    # DDP's "module." goes only when every weight has it and no model key does, so a
    # submodule that really is called "module" still matches.
    if source and all(k.startswith("module.") for k in source) and not any(k.startswith("module.") for k in by_name):
        source = {k[len("module.") :]: v for k, v in source.items()}
    if remap is not None:
        renamed: dict[str, torch.Tensor] = {}
        for key, tensor in source.items():
            new = remap(key)
            if new is None:
                continue
            if new in renamed:
                raise InvalidOptionError("remap", new, "a function giving each weight its own name")
            renamed[new] = tensor
        source = renamed

    to_load: dict[str, torch.Tensor] = {}
    loaded, missing, mismatched = [], [], []
    for name, key in by_name.items():
        if name not in source:
            missing.append(name)
            continue
        have, want = tuple(source[name].shape), tuple(target[key].shape)
        if have == want:
            to_load[key] = source[name]
            loaded.append(name)
        else:
            mismatched.append((name, have, want))
    unexpected = [name for name in source if name not in by_name]
    return to_load, LoadReport(loaded, missing, unexpected, mismatched)


def _first(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
