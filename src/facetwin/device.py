"""Where a run computes: the device, bf16 or not, and this process's rank under torchrun.

A module of its own so that inference (convert, evaluate, the UI) can choose a device
without importing the training loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from facetwin.errors import InvalidOptionError

__all__ = ["Distributed", "pick_device", "use_bf16", "cpu_threads"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):  # "cuda:abc", "gpu", 3.5
        raise InvalidOptionError("--device", device, "auto, cpu, cuda or cuda:N") from None
    if chosen.type == "cpu" or (chosen.type == "mps" and torch.backends.mps.is_available()):
        return chosen
    if chosen.type != "cuda":
        raise InvalidOptionError("--device", device, "auto, cpu, cuda or cuda:N")
    # Checked here, not at the first tensor moved: torch's own error comes minutes into
    # a run, as a traceback about a lazy CUDA init.
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise InvalidOptionError("--device", device, "auto or cpu on this machine, where PyTorch finds no CUDA GPU")
    if chosen.index is not None and chosen.index >= count:
        raise InvalidOptionError("--device", device, f"cuda:0 to cuda:{count - 1} on this machine")
    return chosen


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast where the hardware computes it fast (AMX/AVX512-BF16 CPUs, Ampere+ GPUs)."""
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` threads for torch's CPU arithmetic (None: as it is),
    and put the number back after: a setting of one run, not of the process."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
