"""Prompt and seed blending from caches; live changes without re-preparing."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.diffusion.conditioning import blend_tensors, seed_noise, slerp
from engine.diffusion.stream import DiffusionStream, StreamSettings

A, B, C = "a neon jellyfish", "an oil painting of a forest", "chrome skull"


@pytest.fixture()
def encoder_calls(tiny):
    calls = []
    hook = tiny["text_encoder"].register_forward_hook(lambda *a: calls.append(1))
    yield calls
    hook.remove()


def _stream(bundle, **kw):
    base = StreamSettings(size=128, steps=2, prompts=((A, 1.0), (B, 0.0)), seeds=((1, 1.0), (2, 0.0)), **kw)
    return DiffusionStream(bundle, base)


@pytest.mark.parametrize("mode", ["linear", "slerp"])
def test_weights_one_zero_reproduce_prompt_a(tiny_bundle, mode):
    s = _stream(tiny_bundle, prompt_blend=mode)
    alone = tiny_bundle.encode_text(A)[0]
    assert torch.equal(s.cond.tokens, alone)
    s.apply(replace(s.settings, prompts=((A, 0.0), (B, 1.0))))
    assert torch.equal(s.cond.tokens, tiny_bundle.encode_text(B)[0])


def test_slerp_endpoints_and_midpoint():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(77, 32, generator=g), torch.randn(77, 32, generator=g)
    assert torch.equal(slerp(a, b, 0.0), a)
    assert torch.equal(slerp(a, b, 1.0), b)
    # the blended items as written (weights, not t) also hit the endpoints exactly
    assert torch.equal(blend_tensors([a, b], [1.0, 0.0], "slerp"), a)
    assert torch.equal(blend_tensors([a, b], [0.0, 1.0], "slerp"), b)
    # t very close to the ends converges to them
    torch.testing.assert_close(slerp(a, b, 1e-7), a, atol=1e-5, rtol=0)
    # midpoint of equal-norm vectors stays on the sphere (linear would shrink it)
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    mid = slerp(an, bn, 0.5)
    torch.testing.assert_close(mid.norm(dim=-1), torch.ones(77), atol=1e-5, rtol=0)
    assert (blend_tensors([an, bn], [1, 1], "linear").norm(dim=-1) < 0.99).all()


def test_linear_blend_is_weight_normalised():
    a, b = torch.ones(3), torch.zeros(3)
    torch.testing.assert_close(blend_tensors([a, b], [0.75, 0.25], "linear"), torch.full((3,), 0.75))
    torch.testing.assert_close(blend_tensors([a, b], [3.0, 1.0], "linear"), torch.full((3,), 0.75))


def test_three_prompt_slerp_is_symmetric_in_weight(tiny_bundle):
    s = _stream(tiny_bundle)
    s.apply(replace(s.settings, prompts=((A, 1.0), (B, 1.0), (C, 1.0))))
    t1 = s.cond.tokens
    s.apply(replace(s.settings, prompts=((C, 1.0), (A, 1.0), (B, 1.0))))
    # slerp folding is not exactly commutative, but equal weights stay close
    assert (t1 - s.cond.tokens).abs().max() < 0.2 * t1.abs().max()


def test_weight_changes_and_revisits_cost_no_encoder_pass(tiny_bundle, encoder_calls):
    s = _stream(tiny_bundle)
    s.apply(replace(s.settings, prompts=((A, 1.0), (B, 0.3))))  # B encoded once here
    first = len(encoder_calls)
    for w in np.linspace(0, 1, 21):
        s.apply(replace(s.settings, prompts=((A, 1 - w), (B, w))))
    s.apply(replace(s.settings, prompts=((A, 1.0), (B, 0.0))))
    assert len(encoder_calls) == first
    s.apply(replace(s.settings, prompts=((C, 1.0), (B, 0.0))))
    assert len(encoder_calls) == first + 1
    s.apply(replace(s.settings, prompts=((A, 1.0), (B, 0.0))))  # back to a prompt seen before
    assert len(encoder_calls) == first + 1


def test_seed_blend_endpoints_and_variance(tiny_bundle):
    s = _stream(tiny_bundle)
    shape = tuple(s.denoiser.noise.shape)
    assert torch.equal(s.denoiser.noise, seed_noise(1, shape))
    s.apply(replace(s.settings, seeds=((1, 0.0), (2, 1.0))))
    assert torch.equal(s.denoiser.noise, seed_noise(2, shape))
    for mode in ("linear", "slerp"):
        s.apply(replace(s.settings, seeds=((1, 0.5), (2, 0.5)), seed_blend=mode))
        std = float(s.denoiser.noise.std())
        assert 0.93 < std < 1.07, (mode, std)  # mixed noise keeps unit variance


def test_live_changes_do_not_reset_the_stream(tiny_bundle, encoder_calls):
    s = _stream(tiny_bundle)
    frame = np.full((128, 128, 3), 90, np.uint8)
    assert s.process_one(frame) is None  # pipeline filling: nothing (no brown frame) comes out
    assert s.process_one(frame) is not None
    denoiser = s.denoiser
    plans = [s.denoiser.plan.t_index]
    for change in (
        dict(strength=0.8), dict(guidance_scale=2.0), dict(delta=0.5), dict(guidance="full"),
        dict(seeds=((1, 0.2), (2, 0.8))), dict(prompts=((A, 0.4), (B, 0.6))),
    ):
        s.apply(replace(s.settings, **change))
        plans.append(s.denoiser.plan.t_index)
        assert s.process_one(frame) is not None, change  # output every frame: no re-warm
    assert s.denoiser is denoiser
    assert plans[0] != plans[1]  # strength moved the timesteps
    s.apply(replace(s.settings, steps=3))  # a new step count refills the buffer
    assert s.process_one(frame) is None


def test_registry_changes_reach_the_stream_at_the_next_frame_edge(tiny_bundle, encoder_calls):
    from engine.params import engine_store

    store = engine_store()
    store.update({"size": 128, "prompt.1.text": A, "prompt.2.text": B})
    s = DiffusionStream(tiny_bundle, StreamSettings(size=128))
    assert s.sync(store.snapshot()) is True
    assert s.sync(store.snapshot()) is False  # same version: nothing to do
    calls = len(encoder_calls)
    store.update({"prompt.1.weight": 0.0, "prompt.2.weight": 1.0, "strength": 0.9, "guidance": "initialize"})
    assert s.sync(store.snapshot()) is True
    assert len(encoder_calls) == calls + 1  # only B was new
    assert torch.equal(s.cond.tokens, tiny_bundle.encode_text(B)[0])
    assert s.guidance.mode == "initialize" and s.settings.strength == 0.9
