"""Flow model pieces: causal U-Net, cache bank, solver, weights file, streaming renderer."""

import numpy as np
import pytest
import torch

from engine.audio.flow.model import ROOM_FEATURES, FlowConfig, FlowModel, FlowWeightsError, load_weights, read_metadata, save_weights
from engine.audio.flow.renderer import FlowRenderer, render_spectral
from engine.audio.flow.solver import schedule, solve
from engine.audio.flow.unet import CacheBank
from engine.audio.types import Pose

TINY = FlowConfig(n_fft=64, hop=32, widths=(4, 8, 8), mid_dilations=(1, 2), emb=8, level_frames=4, nfe=4)


def tiny_model(seed: int = 0) -> FlowModel:
    torch.manual_seed(seed)
    m = FlowModel(TINY)
    for p in m.unet.head.parameters():  # the head starts at zero (identity flow); make it do something
        torch.nn.init.normal_(p, std=0.3)
    return m.eval()


def spectra(frames: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    cond = torch.complex(torch.randn(1, 2, 33, frames, generator=g), torch.randn(1, 2, 33, frames, generator=g))
    return cond, torch.randn(1, 20 + ROOM_FEATURES, generator=g)


def streamed(model, cond, pose, nfe, cuts):
    bank, level, outs, start = CacheBank(), {}, [], 0
    for end in [*cuts, cond.shape[-1]]:
        outs.append(model.flow(cond[..., start:end], pose, nfe, bank, level))
        start = end
    return torch.cat(outs, dim=-1), bank


@pytest.mark.parametrize("nfe", [1, 5])
def test_streaming_flow_equals_offline_flow(nfe):
    m = tiny_model()
    cond, pose = spectra()
    with torch.inference_mode():
        offline = m.flow(cond, pose, nfe)
        s, bank = streamed(m, cond, pose, nfe, [1, 2, 7, 8, 19])
    assert torch.allclose(s, offline, atol=1e-5)
    assert len(bank) == nfe  # one cache per solver evaluation


def test_cache_bank_keeps_one_separate_cache_per_solver_evaluation():
    m = tiny_model()
    cond, pose = spectra()
    with torch.inference_mode():
        offline = m.flow(cond, pose, 3)
        _, bank = streamed(m, cond, pose, 3, [10, 20])
        caches = [bank[k] for k in range(3)]
        assert all(c.keys() == caches[0].keys() and c for c in caches)
        assert not torch.equal(caches[0]["stem"], caches[1]["stem"])  # each evaluation saw its own input

        class OneCache(CacheBank):  # every evaluation sharing one cache: streaming breaks
            def __getitem__(self, k):
                return super().__getitem__(0)

        bank, level, outs = OneCache(), {}, []
        for a, b in [(0, 10), (10, 20), (20, 24)]:
            outs.append(m.flow(cond[..., a:b], pose, 3, bank, level))
    assert not torch.allclose(torch.cat(outs, dim=-1), offline, atol=1e-3)


def test_unet_is_causal_in_time():
    m = tiny_model()
    cond, pose = spectra()
    cond2 = cond.clone()
    cond2[..., 15:] = torch.randn_like(cond2[..., 15:])
    with torch.inference_mode():
        a, b = m.flow(cond, pose, 4), m.flow(cond2, pose, 4)
    assert torch.equal(a[..., :15], b[..., :15])
    assert not torch.allclose(a[..., 15:], b[..., 15:])


@pytest.mark.parametrize("nfe", [1, 2, 3, 4, 5, 6, 9])
def test_schedule_spends_exactly_nfe_evaluations_and_covers_0_to_1(nfe):
    steps = schedule(nfe, 0.5)
    assert sum(1 if k == "euler" else 2 for k, _, _ in steps) == nfe
    assert steps[0][1] == 0.0 and steps[-1][2] == pytest.approx(1.0)
    assert all(a[2] == pytest.approx(b[1]) for a, b in zip(steps, steps[1:]))
    calls = []
    solve(lambda x, t, k: calls.append(k) or torch.zeros_like(x), torch.zeros(1), nfe)
    assert calls == list(range(nfe))


@pytest.mark.parametrize("nfe", [1, 2, 3, 4, 6, 7])
def test_solver_is_exact_on_the_straight_path_field(nfe):
    x0, x1 = torch.randn(5), torch.randn(5)
    v = lambda x, t, k: (x1 - x) / (1 - t)  # noqa: E731  -- the field of straight paths into x1
    assert torch.allclose(solve(v, x0, nfe, 0.3), x1, atol=1e-5)


@pytest.mark.parametrize("nfe", [2, 3, 5])  # 3, 5: the early-skip Euler step, then midpoint steps only
def test_midpoint_steps_are_exact_for_a_velocity_linear_in_time(nfe):
    a, b, x0 = torch.randn(4), torch.randn(4), torch.randn(4)
    v = lambda x, t, k: a + b * t  # noqa: E731  exact solution x0 + a + b / 2
    if nfe == 2:
        assert torch.allclose(solve(v, x0, nfe), x0 + a + b / 2, atol=1e-6)
    else:  # the early-skip Euler step is first order: its error is b t_skip^2 / 2
        assert torch.allclose(solve(v, x0, nfe, 0.4), x0 + a + b / 2 - b * 0.4**2 / 2, atol=1e-6)


def test_weights_round_trip_with_config_and_recipe(tmp_path):
    m = tiny_model(3)
    p = tmp_path / "w.safetensors"
    save_weights(m, p, {"command": "dreamdeck train-binaural --epochs 1"})
    back = load_weights(p)
    assert back.config == TINY
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), back.state_dict().values()))
    assert "train-binaural" in read_metadata(p)["recipe"]
    assert list(tmp_path.iterdir()) == [p]  # no temporary file left behind


def test_missing_corrupt_or_mismatched_weights_raise_flow_weights_error(tmp_path):
    with pytest.raises(FlowWeightsError, match="not found.*train-binaural"):
        load_weights(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00garbage-garbage!")
    with pytest.raises(FlowWeightsError, match="unreadable"):
        load_weights(bad)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other))
    with pytest.raises(FlowWeightsError, match="not a DreamDeck"):
        load_weights(other)
    good = tmp_path / "good.safetensors"
    save_weights(tiny_model(), good)
    from safetensors.torch import load_file

    t = load_file(str(good))
    t.pop(next(iter(t)))
    save_file(t, str(other), metadata=read_metadata(good))
    with pytest.raises(FlowWeightsError, match="do not fit"):
        load_weights(other)
    assert "\n" not in str(FlowWeightsError)


def test_make_renderer_falls_back_to_hrtf_on_bad_weights(tmp_path):
    from engine.audio.renderers import make_renderer

    (tmp_path / "w.safetensors").write_bytes(b"not weights")
    choice = make_renderer("flow", weights=tmp_path / "w.safetensors")
    assert choice.used == "hrtf" and "FlowWeightsError" in choice.message


def _renderer(model, nfe=4, **kw):
    return FlowRenderer(weights=model, nfe=nfe, **kw)


def _room(seed: int = 5):
    from engine.audio import simulate as sim

    return sim.sample_room(np.random.default_rng(seed), "train")


@pytest.mark.parametrize("geometry", [None, 5])
def test_renderer_streaming_equals_offline_and_matches_render_spectral(geometry):
    """Room on (the default venue, or another room): block-by-block == one call == render_spectral of the prior."""
    from engine.audio import simulate as sim
    from engine.audio.flow.prior import prior_offline

    room = sim.DEFAULT_VENUE if geometry is None else _room(geometry)
    m = tiny_model()
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(6000)).astype(np.float32)
    src = Pose.from_spherical(-50, 10, 2.0)
    offline = _renderer(m, room_geometry=room).process(x, src)
    r = _renderer(m, room_geometry=room)
    assert r.room_geometry == room
    outs, i = [], 0
    while i < len(x):
        b = int(rng.integers(1, 1500))
        outs.append(r.process(x[i : i + b], src))
        i += b
    s = np.concatenate(outs)
    assert s.shape == (6000, 2) and s.dtype == np.float32
    np.testing.assert_allclose(s, offline, atol=1e-5)
    lat = r.latency_samples
    assert lat == 63
    prior = prior_offline(x, src, Pose(), room, TINY.prior_order)
    aligned = render_spectral(m, prior, src, geometry=room)
    np.testing.assert_allclose(aligned[: -lat], offline[lat:], atol=1e-5)
    r.reset()
    np.testing.assert_allclose(r.process(x, src), offline, atol=1e-6)


def test_prior_is_the_anechoic_render_plus_the_simulators_first_order_images():
    """For a static source the streamed prior equals the simulator's order-1 image sources (no
    tail) convolved with the signal, plus the anechoic render; with the room off, the anechoic render."""
    from engine.audio import simulate as sim
    from engine.audio.flow.prior import PriorRenderer, prior_offline

    room = _room(11)
    src = sim.sample_source(np.random.default_rng(11), room)
    x = (0.1 * np.random.default_rng(2).standard_normal(9000)).astype(np.float32)
    direct = sim.anechoic(x, src)
    # the simulator's reverb at order 1 is these images plus its diffuse tail: take the images alone
    early = sim.early_reflections(room, src, max_order=1)
    full = sim.reverb(room, src, Pose(), length=early.shape[1], max_order=1)
    images_only = sim._image_response(room, src, Pose(), early.shape[1], 1, None, 48000)[0]
    np.testing.assert_array_equal(early, images_only)
    assert np.abs(full - early).max() > 0  # the tail is not in the prior
    ref = direct + sim._convolve(x, early)
    np.testing.assert_allclose(prior_offline(x, src, Pose(), room, 1), ref, atol=1e-6)
    p = PriorRenderer(1, room)
    streamed = np.concatenate([p.process(x[a:b], src, Pose(), True) for a, b in [(0, 1500), (1500, 1501), (1501, 7000), (7000, 9000)]])
    np.testing.assert_allclose(streamed, ref, atol=1e-5)
    p.reset()
    np.testing.assert_allclose(p.process(x, src, Pose(), False), direct, atol=1e-7)
    # the first reflection arrives after the direct sound, at the geometric time of the nearest wall image
    lis = np.asarray(room.listener)
    s_room = room.to_room(src.position)
    first = min(np.linalg.norm(np.where(np.arange(3) == ax, 2 * w - s_room, s_room) - lis)
                for ax in range(3) for w in (0.0, room.dims[ax]))
    onset = np.argmax(np.abs(early).max(axis=0) > 1e-3 * np.abs(early).max())
    assert abs(onset - first / 343.0 * 48000) < 60


def test_room_descriptor_changes_the_conditioning_and_the_render():
    from engine.audio import simulate as sim
    from engine.audio.flow.model import room_features
    from engine.audio.flow.renderer import pose_vector

    a, b = _room(1), _room(2)
    src = Pose.from_spherical(30, 0, 1.5)
    va, vb = pose_vector(src, Pose(), 1.0, a), pose_vector(src, Pose(), 1.0, b)
    assert va.shape == (1, 20 + ROOM_FEATURES)
    assert torch.equal(va[:, :20], vb[:, :20]) and not torch.equal(va, vb)
    off = pose_vector(src, Pose(), 0.0, a)
    assert torch.count_nonzero(off[:, 20:]) == 0 and off[0, 19] == 0.0  # anechoic: flag 0, descriptor zeros
    assert torch.equal(room_features([None]), torch.zeros(1, ROOM_FEATURES))
    f = room_features([sim.DEFAULT_VENUE])[0]
    assert torch.allclose(f[:4], torch.zeros(4), atol=1e-6)  # the venue sits at the family's middle
    m = tiny_model()
    x = (0.1 * np.random.default_rng(3).standard_normal(4000)).astype(np.float32)
    ra, rb = _renderer(m, room_geometry=a), _renderer(m, room_geometry=b)
    assert not np.allclose(ra.process(x, src), rb.process(x, src))
    ra.reset()
    ra.room_geometry = b
    ra.reset()
    np.testing.assert_allclose(ra.process(x, src), _renderer(m, room_geometry=b).process(x, src), atol=1e-6)


def test_moving_source_with_the_room_on_has_no_jumps_at_block_edges():
    from engine.audio.flow.prior import PriorRenderer

    p = PriorRenderer(1, _room(4))
    t = np.arange(48_000) / 48_000
    x = (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    outs = []
    for k in range(0, len(x), 2048):
        outs.append(p.process(x[k:k + 2048], Pose.from_spherical(90.0 * k / len(x), 0.0, 2.0), Pose(), True))
    y = np.concatenate(outs)
    d = np.abs(np.diff(y, axis=0)).max()
    assert d < 3 * 2 * np.pi * 300 / 48_000 * np.abs(y).max()  # no step bigger than the signal's own slope allows


def test_renderer_is_causal_and_room_flag_changes_the_conditioning():
    m = tiny_model()
    x = (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32)
    x2 = x.copy()
    x2[5000:] = 0.0
    src = Pose.from_spherical(30, 0, 1.0)
    a, b = _renderer(m).process(x, src), _renderer(m).process(x2, src)
    np.testing.assert_array_equal(a[:5000], b[:5000])
    r = _renderer(m)
    r.room = False
    assert not np.allclose(r.process(x, src), a)


def test_weights_from_before_the_room_descriptor_still_load(tmp_path):
    import dataclasses
    import json

    legacy = dataclasses.replace(TINY, room_descriptor=False)
    torch.manual_seed(0)
    p = tmp_path / "old.safetensors"
    save_weights(FlowModel(legacy), p)
    from safetensors.torch import load_file, save_file

    meta = read_metadata(p)
    cfg = json.loads(meta["config"])
    del cfg["room_descriptor"], cfg["prior_order"]
    cfg.update(floor_gain=0.6, floor_cutoff=1000.0)  # fields of the old floor-only prior
    meta["config"] = json.dumps(cfg)
    save_file(load_file(str(p)), str(p), metadata=meta)
    m = load_weights(p)
    assert not m.config.room_descriptor and m.cond_dim == 20
    x = (0.1 * np.random.default_rng(1).standard_normal(3000)).astype(np.float32)
    assert _renderer(m).process(x, Pose.from_spherical(30, 0, 1.0)).shape == (3000, 2)


def test_stopping_early_shrinks_towards_the_prior_on_straight_paths():
    x0, x1 = torch.randn(5), torch.randn(5)
    v = lambda x, t, k: x1 - x0  # noqa: E731  the velocity of the straight path
    for nfe in (1, 3, 5):
        assert torch.allclose(solve(v, x0, nfe, 0.5, 0.25), x0 + 0.25 * (x1 - x0), atol=1e-6)
    assert schedule(3, 0.5, 0.5) == [("euler", 0.0, 0.25), ("midpoint", 0.25, 0.5)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_rendering_pins_only_the_calling_thread_to_one_torch_thread():
    import threading

    seen = {}

    def render():
        torch.set_num_threads(2)
        FlowRenderer(room=False).process(np.zeros(2048, np.float32), Pose.from_spherical(30, 0, 1.4))
        seen["render thread"] = torch.get_num_threads()

    before = torch.get_num_threads()
    t = threading.Thread(target=render)
    t.start()
    t.join()
    assert seen["render thread"] == 1 and torch.get_num_threads() == before
