"""The renderer switcher, driven block by block: crossfades, fallbacks and renderers that break."""

import logging

import numpy as np
import pytest
from audio_engine_helpers import BLOCK, PanRenderer, max_step, offline_engine, pan_factory, run_blocks, sine

from engine.audio.types import SAMPLE_RATE
from engine.params.catalog import AUDIO_RENDERERS


def test_renderer_switch_crossfades_without_a_jump():
    store, eng = offline_engine()
    x = sine(0.5)
    a = run_blocks(eng, x[: 47 * BLOCK])
    store.set("audio_renderer", "head")  # 0.4x the level: a hard switch would jump
    b = run_blocks(eng, x[47 * BLOCK:])
    y = np.concatenate((a, b))
    steady = max_step(a)
    assert max_step(y) < steady * 1.2, "the switch made a discontinuity"
    assert eng.switcher.current.used == "head" and eng.snapshot().renderer == "head"
    # it really changed: the level went from 1.0 to 0.4 within ~50 ms (+ a block to load)
    tail = b[int(0.07 * SAMPLE_RATE):]
    assert np.abs(tail).max() == pytest.approx(0.4 * np.abs(a).max(), rel=0.02)


def test_missing_flow_weights_fall_back_to_hrtf_with_a_message(caplog):
    store, eng = offline_engine(factory=pan_factory(flow_fails=True))
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        store.set("audio_renderer", "flow")
        run_blocks(eng, sine(0.2))
    snap = eng.snapshot()
    assert snap.renderer == "hrtf" and snap.renderer_requested == "flow"
    assert "weights missing" in snap.fallback_reason
    assert any("weights missing" in r.getMessage() for r in caplog.records)


def test_make_renderer_falls_back_when_flow_cannot_load(monkeypatch):
    import engine.audio.renderers as R

    def exact(name, **kw):
        if name == "flow":
            raise FileNotFoundError("no weights at models/binaural_flow.safetensors")
        return PanRenderer(name)

    monkeypatch.setattr(R, "_make_exact", exact)
    c = R.make_renderer("flow", room=False)
    assert (c.requested, c.used) == ("flow", "hrtf")
    assert "no weights" in c.message and "using the hrtf renderer" in c.message
    with pytest.raises(R.RendererUnavailable, match=", ".join(AUDIO_RENDERERS)):  # the parameter's own choices
        R.make_renderer("nope")


def test_slow_flow_renderer_hands_over_to_hrtf(caplog):
    store, eng = offline_engine(factory=pan_factory(slow_flow=True), audio_renderer="flow")
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        run_blocks(eng, sine(0.45))
    snap = eng.snapshot()
    assert snap.renderer == "hrtf" and snap.renderer_requested == "flow"
    assert "fell behind" in snap.fallback_reason
    assert any("fell behind" in r.getMessage() for r in caplog.records)
    run_blocks(eng, sine(0.1))
    assert eng.switcher.current.used == "hrtf"  # no flapping back while the parameter still says flow


def test_a_renderer_that_breaks_mid_stream_hands_over_without_silence(caplog):
    factory = pan_factory()
    store, eng = offline_engine(factory=factory, audio_renderer="flow", audio_azimuth=60.0)
    broken = eng.switcher.current.renderer
    calls = {"n": 0}
    real = broken.process

    def breaks(mono, source, listener=None):
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("simulated NaN in the network")
        return real(mono, source, listener)

    broken.process = breaks
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        out = run_blocks(eng, sine(0.2))
    tail = out[6 * BLOCK:]
    assert np.abs(tail).max() > 0.1  # still sounding after the failure
    snap = eng.snapshot()
    assert snap.renderer == "hrtf" and "failed" in snap.fallback_reason
    assert any("failed" in r.getMessage() for r in caplog.records)
    n_made = len(factory.made)
    run_blocks(eng, sine(0.1))
    assert len(factory.made) == n_made  # the broken renderer is not reloaded while the parameter still names it
    store.update({"audio_renderer": "head"})
    run_blocks(eng, sine(0.1))
    assert eng.switcher.current.used == "head"


def test_real_renderers_switch_without_a_jump():
    from engine.audio.renderers import make_renderer

    store, eng = offline_engine(factory=make_renderer, audio_azimuth=40.0)
    x = sine(0.6, 300.0, 0.3)
    a = run_blocks(eng, x[: 47 * BLOCK])
    store.set("audio_renderer", "head")
    b = run_blocks(eng, x[47 * BLOCK:])
    assert eng.switcher.current.used == "head"
    steady = max(max_step(a[BLOCK * 10:]), max_step(b[-20 * BLOCK:]))
    assert max_step(np.concatenate((a, b))[BLOCK * 10:]) < steady * 1.25


def test_missing_or_corrupt_flow_weights_fall_back_to_the_real_hrtf_renderer(tmp_path, caplog):
    from engine.audio.renderers import make_renderer

    c = make_renderer("flow", weights=str(tmp_path / "missing.safetensors"))
    assert c.used == "hrtf" and "not found" in c.message and "using the hrtf renderer" in c.message
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x00garbage" * 100)

    def factory(name, **kw):
        return make_renderer(name, weights=str(bad), **kw)

    store, eng = offline_engine(factory=factory)
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        store.set("audio_renderer", "flow")
        run_blocks(eng, sine(0.1))
    snap = eng.snapshot()
    assert snap.renderer == "hrtf" and snap.renderer_requested == "flow"
    assert "corrupt.safetensors" in snap.fallback_reason
    assert any("using the hrtf renderer" in r.getMessage() for r in caplog.records)


def test_faults_go_to_the_metrics_the_engine_has_now():
    from engine.live.live_metrics import LiveMetrics

    store, eng = offline_engine(factory=pan_factory(flow_fails=True))
    eng.metrics = LiveMetrics()  # as the show session does when the output restarts with fresh metrics
    store.set("audio_renderer", "flow")
    run_blocks(eng, sine(0.1))
    assert any("weights missing" in f for f in eng.metrics.snapshot().faults)
