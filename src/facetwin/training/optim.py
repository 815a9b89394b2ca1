"""Adam as the original face swap trained its two autoencoders.

The original compiled autoencoder A (encoder + decoder A) and autoencoder B (encoder +
decoder B) with one Keras ``Adam`` object. Keras (2.0/2.1) created the moment estimates
inside each ``compile``, so the shared encoder had *two* pairs of moments, one moved only
by A's batches and one only by B's, while the iteration counter ``t`` belonged to the
optimiser object and so advanced on every update of either autoencoder. The bias
correction therefore assumed twice as many updates as each pair of moments had seen,
which makes the first few hundred updates larger than plain Adam's (by up to sqrt(2)).
The reference loss log was made that way; plain ``torch.optim.Adam`` over all
parameters learnt measurably slower (+10-14 % L1 at 500 steps, docs/BENCHMARKS.md).

The update is Keras's: ``p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import torch

__all__ = ["SwapAdam"]

Side = Literal["a", "b"]
_SHARED = "shared"


class SwapAdam(torch.optim.Optimizer):
    """Adam with one set of moments per autoencoder and one shared iteration counter.

    Args:
        shared: parameters both autoencoders train (the encoder); they get moments for
            A's updates and separate moments for B's.
        a: parameters only A's updates train (decoder A).
        b: parameters only B's updates train (decoder B).
        lr, betas, eps: as Keras's Adam (eps 1e-7, Keras 2.1's default).

    ``step(side)`` applies one update of autoencoder ``side`` from the current gradients;
    parameters whose gradient is None are left alone.

    >>> enc, dec_a, dec_b = (torch.nn.Linear(2, 2) for _ in range(3))
    >>> opt = SwapAdam(enc.parameters(), dec_a.parameters(), dec_b.parameters(), lr=0.1)
    >>> dec_a(enc(torch.ones(1, 2))).sum().backward()
    >>> opt.step("a")
    >>> opt.iterations, sorted(opt.state[enc.weight])
    (1, ['exp_avg_a', 'exp_avg_sq_a'])
    """

    def __init__(
        self,
        shared: Iterable[torch.nn.Parameter],
        a: Iterable[torch.nn.Parameter],
        b: Iterable[torch.nn.Parameter],
        *,
        lr: float = 5e-5,
        betas: tuple[float, float] = (0.5, 0.999),
        eps: float = 1e-7,
    ) -> None:
        groups = [{"params": list(ps), "side": side} for side, ps in ((_SHARED, shared), ("a", a), ("b", b))]
        groups = [g for g in groups if g["params"]]
        if not groups:
            raise ValueError("SwapAdam got no parameters to train")
        # The counter is kept in every group so that it travels with state_dict() (the
        # checkpoint stores groups as JSON); all groups always hold the same value.
        super().__init__(groups, {"lr": lr, "betas": tuple(betas), "eps": eps, "iterations": 0})

    @property
    def iterations(self) -> int:
        return int(self.param_groups[0]["iterations"])

    @torch.no_grad()
    def step(self, side: Side) -> None:  # type: ignore[override]
        if side not in ("a", "b"):
            raise ValueError(f"side must be 'a' or 'b', not {side!r}")
        t = self.iterations + 1
        for group in self.param_groups:
            group["iterations"] = t
        for group in self.param_groups:
            if group["side"] not in (_SHARED, side):
                continue
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            suffix = f"_{side}" if group["side"] == _SHARED else ""
            beta1, beta2 = group["betas"]
            exp_avgs, exp_avg_sqs = [], []
            for p in params:
                state = self.state[p]
                if "exp_avg" + suffix not in state:  # B's moments of the encoder begin at B's first update
                    state["exp_avg" + suffix] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq" + suffix] = torch.zeros_like(p, memory_format=torch.preserve_format)
                for key in ("exp_avg" + suffix, "exp_avg_sq" + suffix):
                    if state[key].stride() != p.stride():
                        # Moments read from a checkpoint are contiguous, a channels-last
                        # weight is not; the fused kernel walks the tensors' memory in step,
                        # so they must share the parameter's layout (once, on the first update).
                        state[key] = torch.empty_like(p).copy_(state[key])
                exp_avgs.append(state["exp_avg" + suffix])
                exp_avg_sqs.append(state["exp_avg_sq" + suffix])
            grads = [p.grad for p in params]
            if _fused_update(params, grads, exp_avgs, exp_avg_sqs, t, group):
                continue
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            denom = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_add_(denom, group["eps"])
            lr_t = group["lr"] * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            torch._foreach_addcdiv_(params, exp_avgs, denom, value=-lr_t)


def _fused_update(params, grads, exp_avgs, exp_avg_sqs, t: int, group: dict) -> bool:
    """The same update in torch's fused Adam kernel, where it has one for these tensors;
    False where it has not (the caller then runs the foreach path).

    One pass over each element instead of six, and no temporary the size of the model:
    for the 82 M parameters of ``original`` on one core, 83 ms against 310 ms an update
    (docs/BENCHMARKS.md). Torch's Adam puts eps outside the bias correction of the second
    moment, Keras inside: Keras's eps is torch's eps x sqrt(1 - b2^t), so it is passed as
    eps / sqrt(1 - b2^t), the same update to float rounding (tests/training/test_optim.py).
    """
    fused = getattr(torch, "_fused_adam_", None)
    if fused is None or any(p.dtype not in (torch.float32, torch.float64) for p in params):
        return False
    # The kernel walks each tensor's memory in step with the parameter's: a gradient in
    # another layout would pair the wrong elements (the foreach path follows strides).
    if any(g.stride() != p.stride() for p, g in zip(params, grads)):
        return False
    beta1, beta2 = group["betas"]
    devices = {p.device for p in params}
    if len(devices) != 1:
        return False
    step = torch.tensor(float(t), device=devices.pop())
    try:
        fused(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            [step] * len(params),
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=0.0,
            eps=group["eps"] / math.sqrt(1 - beta2**t),
            amsgrad=False,
            maximize=False,
        )
    except (RuntimeError, NotImplementedError):  # no kernel for this device in this torch
        return False
    return True
