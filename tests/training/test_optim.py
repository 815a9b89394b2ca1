import math

import pytest
import torch

from facetwin.models.checkpoint import load_checkpoint, save_checkpoint
from facetwin.training.optim import SwapAdam


def _keras_adam(p, grads, t, m, v, *, lr, b1, b2, eps):
    """One Keras 2.1 Adam update of a float, written out from its formula."""
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
    return p - lr_t * m / (math.sqrt(v) + eps), m, v


def test_matches_torch_adam_when_one_side_trains_alone():
    # With eps = 0 Keras's and torch's bias corrections are the same algebra.
    torch.manual_seed(0)
    mine, ref = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    ref.load_state_dict(mine.state_dict())
    opt = SwapAdam([], mine.parameters(), [], lr=1e-2, betas=(0.5, 0.999), eps=0.0)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-2, betas=(0.5, 0.999), eps=0.0)
    for _ in range(5):
        x = torch.randn(8, 5)
        for net, o in ((mine, opt), (ref, ref_opt)):
            net.zero_grad()
            net(x).pow(2).mean().backward()
        opt.step("a")
        ref_opt.step()
    for p, q in zip(mine.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)


def test_shared_parameters_keep_moments_per_side_and_one_counter():
    shared, dec_a, dec_b = (torch.nn.Parameter(torch.tensor([1.0])) for _ in range(3))
    settings = dict(lr=0.1, b1=0.5, b2=0.999, eps=1e-7)
    opt = SwapAdam([shared], [dec_a], [dec_b], lr=0.1, betas=(0.5, 0.999), eps=1e-7)
    grads = [("a", 0.3, 2.0), ("b", -1.5, 0.7), ("a", 0.1, -0.4), ("b", 0.8, 0.2)]
    expect = {"shared": 1.0, "a": 1.0, "b": 1.0}
    moments = {key: (0.0, 0.0) for key in ("shared_a", "shared_b", "a", "b")}
    for t, (side, g_shared, g_dec) in enumerate(grads, start=1):
        decoder = dec_a if side == "a" else dec_b
        opt.zero_grad(set_to_none=True)
        shared.grad, decoder.grad = torch.tensor([g_shared]), torch.tensor([g_dec])
        opt.step(side)
        expect["shared"], *moments[f"shared_{side}"] = _keras_adam(
            expect["shared"], g_shared, t, *moments[f"shared_{side}"], **settings
        )
        expect[side], *moments[side] = _keras_adam(expect[side], g_dec, t, *moments[side], **settings)
    assert opt.iterations == 4
    for name, param in (("shared", shared), ("a", dec_a), ("b", dec_b)):
        assert param.item() == pytest.approx(expect[name], rel=1e-6)
    assert sorted(opt.state[shared]) == ["exp_avg_a", "exp_avg_b", "exp_avg_sq_a", "exp_avg_sq_b"]
    assert sorted(opt.state[dec_a]) == ["exp_avg", "exp_avg_sq"]


def test_parameters_without_gradient_are_left_alone():
    shared, dec_a, dec_b = (torch.nn.Parameter(torch.ones(2)) for _ in range(3))
    opt = SwapAdam([shared], [dec_a], [dec_b])
    shared.grad, dec_a.grad = torch.ones(2), torch.ones(2)
    dec_b.grad = torch.ones(2)  # a stale gradient: B's update is not run, so it must not move
    opt.step("a")
    assert torch.equal(dec_b, torch.ones(2)) and dec_b not in opt.state
    assert (shared < 1).all() and (dec_a < 1).all()


def test_rejects_unknown_side_and_empty_parameter_lists():
    with pytest.raises(ValueError, match="no parameters"):
        SwapAdam([], [], [])
    opt = SwapAdam([torch.nn.Parameter(torch.ones(1))], [], [])
    with pytest.raises(ValueError, match="side must be"):
        opt.step("c")


def test_checkpoint_round_trip_continues_identically(tmp_path):
    torch.manual_seed(1)

    class Swap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder_a, self.decoder_b = (torch.nn.Linear(4, 4) for _ in range(3))

    def make():
        net = Swap()
        return net, SwapAdam(net.encoder.parameters(), net.decoder_a.parameters(), net.decoder_b.parameters(), lr=1e-2)

    def train(net, opt, steps, seed):
        gen = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            for side, dec in (("a", net.decoder_a), ("b", net.decoder_b)):
                opt.zero_grad(set_to_none=True)
                dec(net.encoder(torch.randn(6, 4, generator=gen))).abs().mean().backward()
                opt.step(side)

    net, opt = make()
    train(net, opt, 3, seed=0)
    save_checkpoint(tmp_path, model=net, optimizer=opt, state={"step": 3, "seed": 0}, config={})
    resumed, resumed_opt = make()
    load_checkpoint(tmp_path, model=resumed, optimizer=resumed_opt)
    assert resumed_opt.iterations == 6
    train(net, opt, 2, seed=9)
    train(resumed, resumed_opt, 2, seed=9)
    for p, q in zip(net.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_fused_kernel_and_foreach_path_agree(monkeypatch):
    """The fused kernel (eps moved inside torch's bias correction) and the foreach path
    make the same updates, over both sides and a shared encoder."""
    import facetwin.training.optim as optim

    def run(fused: bool):
        torch.manual_seed(4)
        enc, dec_a, dec_b = torch.nn.Linear(6, 5), torch.nn.Linear(5, 6), torch.nn.Linear(5, 6)
        opt = SwapAdam(enc.parameters(), dec_a.parameters(), dec_b.parameters(), lr=1e-2)
        used = []
        real = optim._fused_update

        def spy(*args):
            taken = real(*args) if fused else False
            used.append(taken)
            return taken

        monkeypatch.setattr(optim, "_fused_update", spy)
        gen = torch.Generator().manual_seed(5)
        for _ in range(4):
            for side, dec in (("a", dec_a), ("b", dec_b)):
                opt.zero_grad(set_to_none=True)
                dec(enc(torch.randn(8, 6, generator=gen))).square().mean().backward()
                opt.step(side)
        assert used and all(taken == fused for taken in used)  # the kernel really ran, or never
        return [p.detach().clone() for p in (*enc.parameters(), *dec_a.parameters(), *dec_b.parameters())]

    if getattr(torch, "_fused_adam_", None) is None:
        pytest.skip("this torch has no fused Adam kernel")
    for p, q in zip(run(True), run(False)):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)


def test_channels_last_weights_with_contiguous_moments_update_as_the_foreach_path(monkeypatch):
    """A resumed run's moments come back contiguous while its conv weights are
    channels-last: the fused kernel pairs tensors by memory, so the moments are restrided
    to the weight's layout and gradients of another layout go the foreach way."""
    import facetwin.training.optim as optim

    if getattr(torch, "_fused_adam_", None) is None:
        pytest.skip("this torch has no fused Adam kernel")

    def run(fused: bool, grad_layout):
        torch.manual_seed(6)
        w = torch.nn.Parameter(torch.randn(4, 3, 3, 3).to(memory_format=torch.channels_last))
        opt = SwapAdam([], [w], [], lr=1e-2)
        real = optim._fused_update
        monkeypatch.setattr(optim, "_fused_update", real if fused else lambda *a: False)
        gen = torch.Generator().manual_seed(7)
        for step in range(3):
            w.grad = torch.randn(4, 3, 3, 3, generator=gen).contiguous(memory_format=grad_layout)
            opt.step("a")
            if step == 0:  # as load_state_dict leaves them: contiguous copies
                state = opt.state[w]
                for key in ("exp_avg", "exp_avg_sq"):
                    state[key] = state[key].contiguous()
        return w.detach().clone()

    for layout in (torch.channels_last, torch.contiguous_format):
        torch.testing.assert_close(run(True, layout), run(False, layout), rtol=1e-5, atol=1e-7)
