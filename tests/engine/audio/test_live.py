"""The live audio engine: render thread, ring buffer and real PortAudio through a PulseAudio null sink."""

import logging
import threading
import time

import numpy as np
import pytest
from waiting import wait_for

from engine.audio.live import AudioEngine, AudioSettings
from engine.audio.ramps import DelayLine, GainRamp
from engine.audio.renderers import RendererChoice
from engine.audio.types import SAMPLE_RATE, BinauralRenderer, relative_direction
from engine.params.catalog import AUDIO_PARAMS
from engine.params.registry import ParamStore

BLOCK = 256


class PanRenderer(BinauralRenderer):
    """A small stand-in renderer: level difference by azimuth, gains ramped across each block.

    ``scale`` tells two of them apart (a switch between them would jump without a crossfade);
    ``delay`` is a fixed latency in samples; ``sleep`` makes it slow (a flow renderer that falls behind).
    """

    def __init__(self, name="pan", scale=1.0, delay=0, sleep=0.0, room=False):
        self.name, self.scale, self.delay, self.sleep, self.room = name, scale, delay, sleep, room
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self.delay

    def reset(self) -> None:
        self._g = None
        self._hist = np.zeros(self.delay, np.float32)

    def gains(self, source) -> np.ndarray:
        az = np.radians(relative_direction(source)[0])
        return self.scale * np.array([0.5 * (1 + 0.8 * np.sin(az)), 0.5 * (1 - 0.8 * np.sin(az))], np.float32)

    def process(self, mono, source, listener=None):
        if self.sleep:
            time.sleep(self.sleep * len(mono) / SAMPLE_RATE)
        x = np.concatenate((self._hist, np.asarray(mono, np.float32)))
        if self.delay:
            self._hist = x[-self.delay:]
        x = x[: len(mono)]
        g1 = self.gains(source)
        g0 = g1 if self._g is None else self._g
        t = (np.arange(1, len(mono) + 1, dtype=np.float32) / len(mono))[:, None]
        self._g = g1
        return (x[:, None] * (g0 + (g1 - g0) * t)).astype(np.float32)


def pan_factory(slow_flow=False, flow_fails=False):
    """A renderer factory of PanRenderers under the registry's names (same contract as make_renderer)."""
    made = []

    def factory(name, room=False, **kw):
        if name == "flow" and flow_fails:
            r = PanRenderer("hrtf", 1.0, room=room)
            choice = RendererChoice(r, "flow", "hrtf", "the flow renderer is unavailable (weights missing); using the hrtf renderer instead")
        else:
            scale = {"hrtf": 1.0, "head": 0.4, "flow": 0.7}[name]
            r = PanRenderer(name, scale, sleep=1.2 if (name == "flow" and slow_flow) else 0.0, room=room)
            choice = RendererChoice(r, name, name)
        made.append(choice)
        return choice

    factory.made = made
    return factory


def sine(seconds, freq=220.0, amp=0.5):
    """A sine lasting ``seconds``, rounded down to whole blocks."""
    t = np.arange(int(seconds * SAMPLE_RATE) // BLOCK * BLOCK) / SAMPLE_RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def offline_engine(factory=None, **values):
    """An engine driven block by block (no PortAudio): the render thread's work, deterministic."""
    store = ParamStore(AUDIO_PARAMS)
    if values:
        store.update(values)
    eng = AudioEngine(store, renderer_factory=factory or pan_factory())
    snap = store.snapshot()
    eng._adopt(eng.factory(snap["audio_renderer"], room=snap["audio_room"]), (snap["audio_renderer"], snap["audio_room"]))
    eng.gain = GainRamp(eng.gain.n, eng._target_gain(snap))
    return store, eng


def run_blocks(eng, signal, until=None):
    assert len(signal) % BLOCK == 0
    out = []
    for i in range(0, len(signal), BLOCK):
        out.append(eng.render_block(signal[i:i + BLOCK]))
        if eng._loader is not None:
            eng._loader.join()  # make the loader's timing deterministic: its result lands at the next block
    return np.concatenate(out)


def max_step(x):
    return float(np.abs(np.diff(x, axis=0)).max())


# -- the render thread's work, block by block ------------------------------------------------
def test_renderer_switch_crossfades_without_a_jump():
    store, eng = offline_engine()
    x = sine(0.5)
    a = run_blocks(eng, x[: 47 * BLOCK])
    store.set("audio_renderer", "head")  # 0.4x the level: a hard switch would jump
    b = run_blocks(eng, x[47 * BLOCK:])
    y = np.concatenate((a, b))
    steady = max_step(a)
    assert max_step(y) < steady * 1.2, "the switch made a discontinuity"
    assert eng._cur.used == "head" and eng.snapshot()["renderer"] == "head"
    # it really changed: the level went from 1.0 to 0.4 within ~50 ms (+ a block to load)
    tail = b[int(0.07 * SAMPLE_RATE):]
    assert np.abs(tail).max() == pytest.approx(0.4 * np.abs(a).max(), rel=0.02)


def test_gain_and_mute_ramp_without_clicks():
    store, eng = offline_engine()
    dc = np.full(40 * BLOCK, 0.5, np.float32)
    a = run_blocks(eng, dc)
    store.set("audio_mute", True)
    b = run_blocks(eng, dc)
    assert np.abs(b[-BLOCK:]).max() == 0.0  # silent after the ramp
    ramp_n = int(AudioSettings().gain_ramp_s * SAMPLE_RATE)
    assert max_step(np.concatenate((a, b))) <= a[-1].max() / ramp_n * 1.01  # a straight 20 ms ramp, no step
    store.update({"audio_mute": False, "audio_gain": -6.0})
    c = run_blocks(eng, dc)
    assert c[-1].max() / a[-1].max() == pytest.approx(10 ** (-6 / 20), rel=1e-4)
    assert max_step(np.concatenate((b, c))) <= a[-1].max() / ramp_n * 1.01


def test_av_delay_delays_and_changes_smoothly():
    store, eng = offline_engine()
    x = sine(0.4)
    a = run_blocks(eng, x[: 38 * BLOCK])
    store.set("av_delay", 100.0)
    b = run_blocks(eng, x[38 * BLOCK:])
    y = np.concatenate((a, b))
    assert max_step(y) < max_step(a) * 1.6  # crossfaded taps: no jump
    # once settled, the output is the undelayed render 4800 samples (100 ms) later
    _, ref_eng = offline_engine()
    ref = run_blocks(ref_eng, x)
    d = 4800
    np.testing.assert_allclose(y[-2000:], ref[-2000 - d:-d], atol=1e-5)


def test_delay_line_alone():
    dl = DelayLine(1000, 64, 32)
    x = np.random.default_rng(0).standard_normal((640, 2)).astype(np.float32)
    out = np.concatenate([dl.process(x[i:i + 64], 0 if i < 320 else 100) for i in range(0, 640, 64)])
    np.testing.assert_array_equal(out[:320], x[:320])
    np.testing.assert_allclose(out[320 + 64:], x[320 + 64 - 100:540], atol=1e-6)


def test_orbit_moves_the_source_and_keeps_the_azimuth_parameter():
    store, eng = offline_engine(audio_azimuth=10.0, audio_orbit=True, audio_orbit_speed=90.0)
    run_blocks(eng, np.zeros((SAMPLE_RATE // BLOCK) * BLOCK, np.float32))
    assert eng.azimuth == pytest.approx(10.0 + 90.0 * (SAMPLE_RATE // BLOCK) * BLOCK / SAMPLE_RATE, abs=1e-6)
    assert store.get("audio_azimuth") == 10.0  # the orbit is internal; the metrics show where the source is
    assert eng.snapshot()["azimuth"] == pytest.approx(eng.azimuth)
    store.set("audio_orbit", False)
    run_blocks(eng, np.zeros(BLOCK, np.float32))
    assert eng.azimuth == pytest.approx(10.0)


def test_missing_flow_weights_fall_back_to_hrtf_with_a_message(caplog):
    store, eng = offline_engine(factory=pan_factory(flow_fails=True))
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        store.set("audio_renderer", "flow")
        run_blocks(eng, sine(0.2))
    snap = eng.snapshot()
    assert snap["renderer"] == "hrtf" and snap["renderer_requested"] == "flow"
    assert "weights missing" in snap["fallback_reason"]
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
    with pytest.raises(R.RendererUnavailable):
        R.make_renderer("nope")


def test_slow_flow_renderer_hands_over_to_hrtf(caplog):
    store, eng = offline_engine(factory=pan_factory(slow_flow=True), audio_renderer="flow")
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        run_blocks(eng, sine(0.45))
    snap = eng.snapshot()
    assert snap["renderer"] == "hrtf" and snap["renderer_requested"] == "flow"
    assert "fell behind" in snap["fallback_reason"]
    assert any("fell behind" in r.getMessage() for r in caplog.records)
    run_blocks(eng, sine(0.1))
    assert eng._cur.used == "hrtf"  # no flapping back while the parameter still says flow


def test_a_renderer_that_breaks_mid_stream_hands_over_without_silence(caplog):
    factory = pan_factory()
    store, eng = offline_engine(factory=factory, audio_renderer="flow", audio_azimuth=60.0)
    broken = eng._cur.renderer
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
    assert snap["renderer"] == "hrtf" and "failed" in snap["fallback_reason"]
    assert any("failed" in r.getMessage() for r in caplog.records)
    n_made = len(factory.made)
    run_blocks(eng, sine(0.1))
    assert len(factory.made) == n_made  # the broken renderer is not reloaded while the parameter still names it
    store.update({"audio_renderer": "head"})
    run_blocks(eng, sine(0.1))
    assert eng._cur.used == "head"


# -- inputs ------------------------------------------------------------------------------------------
def test_file_input_is_mono_48k_and_loops(tmp_path):
    import soundfile as sf

    from engine.audio.inputs import FileInput, make_input

    t = np.arange(44100) / 44100
    st = np.stack([np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 1000 * t)], 1) * 0.5
    sf.write(tmp_path / "a.wav", st, 44100)
    inp = make_input(str(tmp_path / "a.wav"))
    assert isinstance(inp, FileInput) and len(inp.signal) == SAMPLE_RATE
    x = inp.read(SAMPLE_RATE + 1000)  # loops past the end
    spec = np.abs(np.fft.rfft(x[:SAMPLE_RATE]))
    assert np.argmax(spec) == 1000  # 1 kHz stays 1 kHz (1 Hz bins)
    np.testing.assert_allclose(x[SAMPLE_RATE:], x[:1000], atol=1e-6)
    from engine.audio.inputs import AudioInputError

    with pytest.raises(AudioInputError):
        FileInput(str(tmp_path / "missing.wav"))


# -- real PortAudio through PulseAudio ---------------------------------------------------------------
def test_devices_by_name_number_and_pulse_sink(pulse):
    from engine.audio.devices import AudioDeviceError, choose_device, list_devices

    names = [d.name for d in list_devices()]
    assert "pulse" in names
    assert choose_device(None, "output").device is None
    c = choose_device("dd_out", "output")  # a PulseAudio null sink, reached through ALSA's pulse device
    assert c.pulse_name == "dd_out" and names[c.device] == "pulse"
    assert choose_device(str(names.index("pulse")), "output").label == "pulse"
    assert choose_device("dd_out.monitor", "input").pulse_name == "dd_out.monitor"
    with pytest.raises(AudioDeviceError, match="no audio output matches"):
        choose_device("no such cable", "output")


def test_output_device_disappears_is_reported_and_reopened(pulse, tmp_path, caplog):
    from engine.audio.inputs import ArrayInput
    from engine.live.live_metrics import LiveMetrics

    metrics = LiveMetrics()
    eng = AudioEngine(None, ArrayInput(sine(1.0, 440.0)), "dd_out", metrics=metrics, renderer_factory=pan_factory())
    with caplog.at_level(logging.WARNING, logger="dreamdeck.audio"):
        eng.start()
        try:
            wait_for(lambda: eng.callbacks > 5, what="PortAudio callbacks")
            pulse.kill()  # the device vanishes
            wait_for(lambda: eng.snapshot()["device_status"].startswith("lost"), what=lambda: f"lost in {eng.snapshot()}")
            wait_for(lambda: metrics.snapshot()["audio"].get("device_status", "").startswith("lost"), what="lost in the metrics")
            assert any("lost" in f for f in metrics.snapshot()["faults"])
            # a retry fails while it is away (the status then says so)
            wait_for(lambda: eng.snapshot()["device_status"].endswith("(retrying)"), what=lambda: f"a failed retry in {eng.snapshot()}")
            render = next(t for t in threading.enumerate() if t.name == "dd-audio-render")
            assert render.is_alive()
            pulse.start()  # it comes back
            wait_for(lambda: eng.snapshot()["device_status"] == "running", what=lambda: f"running in {eng.snapshot()}")
            assert eng.reopened >= 1
            rec = pulse.record(str(tmp_path / "back.raw"))
            rendered = eng.snapshot()["seconds_rendered"]
            wait_for(lambda: eng.snapshot()["seconds_rendered"] > rendered + 1.0, what="a second of sound into the recording")
            y = rec.stop()
        finally:
            eng.stop()
    assert any("lost" in r.getMessage() for r in caplog.records)
    assert any("is back" in r.getMessage() for r in caplog.records)
    assert np.abs(y).max() > 0.1  # sound flows again into the returned sink


def test_real_renderers_switch_without_a_jump():
    from engine.audio.renderers import make_renderer

    store, eng = offline_engine(factory=make_renderer, audio_azimuth=40.0)
    x = sine(0.6, 300.0, 0.3)
    a = run_blocks(eng, x[: 47 * BLOCK])
    store.set("audio_renderer", "head")
    b = run_blocks(eng, x[47 * BLOCK:])
    assert eng._cur.used == "head"
    steady = max(max_step(a[BLOCK * 10:]), max_step(b[-20 * BLOCK:]))
    assert max_step(np.concatenate((a, b))[BLOCK * 10:]) < steady * 1.25


def test_thirty_seconds_live_through_portaudio_match_the_offline_render(pulse, tmp_path):
    """Acceptance: 30 s rendered live into the null sink, recorded from its monitor, equal the offline render."""
    import soundfile as sf
    from scipy.signal import fftconvolve, lfilter

    from engine.audio.hrtf import HrtfRenderer
    from engine.audio.inputs import FileInput
    from engine.audio.types import Pose
    from engine.live.live_metrics import LiveMetrics

    # a known mono signal: 10 s of band-limited noise with a syllable-like envelope, at 44.1 kHz (resampled live)
    rng = np.random.default_rng(7)
    n = 10 * 44100
    noise = lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * np.arange(n) / 44100) ** 2
    src = (0.25 * noise * env / np.abs(noise).max()).astype(np.float32)
    path = tmp_path / "voice.wav"
    sf.write(path, src, 44100, subtype="FLOAT")

    store = ParamStore(AUDIO_PARAMS)
    store.update({"audio_renderer": "hrtf", "audio_azimuth": 60.0, "audio_distance": 1.4})
    metrics = LiveMetrics()
    # 100 ms of host buffer and 100 ms of ring: this test shares 2 cores with other test runs, where
    # the scheduler was seen to stall the PortAudio thread for 85 ms (the defaults hold 50 + 50 ms)
    settings = AudioSettings(latency=0.1, buffer_frames=4800)
    eng = AudioEngine(store, FileInput(str(path)), "dd_out", metrics=metrics, settings=settings)
    rec = pulse.record(str(tmp_path / "monitor.raw"))
    eng.start()
    try:  # 30 s of sound through the device (as long as that takes: the device sets the pace)
        wait_for(lambda: eng.snapshot()["seconds_rendered"] >= 30.5, timeout=120, step=0.1,
                 what=lambda: f"30 s rendered: {eng.snapshot()}")
        snap = eng.snapshot()
    finally:
        eng.stop()
    y = rec.stop()
    assert snap["renderer"] == "hrtf" and snap["device_status"] == "running"
    assert snap["xruns"] == 0 and snap["underruns"] == 0, snap
    assert metrics.snapshot()["audio"]["xruns"] == 0

    seconds = len(y) / SAMPLE_RATE
    mono = FileInput(str(path)).read(int(31 * SAMPLE_RATE))
    ref = HrtfRenderer().process(mono, Pose.from_spherical(60.0, 0.0, 1.4))
    # align: where the reference's first 5 s sit in the recording
    probe = ref[: 5 * SAMPLE_RATE, 0]
    search = y[: 12 * SAMPLE_RATE, 0]
    xc = fftconvolve(search, probe[::-1], mode="valid")
    lag = int(np.argmax(xc))
    m = min(len(y) - lag, len(ref))
    assert m > 29 * SAMPLE_RATE, f"only {m / SAMPLE_RATE:.1f} s of {seconds:.1f} s recorded match the render"
    corr = [float(np.corrcoef(y[lag:lag + m, ch], ref[:m, ch])[0, 1]) for ch in (0, 1)]
    print(f"live vs offline: lag {lag / SAMPLE_RATE * 1000:.0f} ms, {m / SAMPLE_RATE:.1f} s compared, "
          f"correlation left {corr[0]:.4f} right {corr[1]:.4f}, xruns {snap['xruns']}, underruns {snap['underruns']}")
    assert min(corr) > 0.99, corr
    # and it is binaural, not a copy: the source on the left is louder in the left ear
    assert np.std(y[lag:lag + m, 0]) > 1.5 * np.std(y[lag:lag + m, 1])


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
    assert snap["renderer"] == "hrtf" and snap["renderer_requested"] == "flow"
    assert "corrupt.safetensors" in snap["fallback_reason"]
    assert any("using the hrtf renderer" in r.getMessage() for r in caplog.records)


def test_input_device_to_output_device(pulse, tmp_path):
    """A live input (a second null sink's monitor, fed by pacat) rendered to dd_out: both sides real PortAudio."""
    import os
    import subprocess

    from engine.audio.inputs import DeviceInput, make_input

    pulse.pactl("load-module", "module-null-sink", "sink_name=dd_in", "rate=48000", "channels=1")
    np.tile(sine(1.0, 750.0, 0.3), 10).tofile(tmp_path / "tone.raw")
    feed = subprocess.Popen(["pacat", "--playback", "--device=dd_in", "--raw", "--format=float32le", "--rate=48000",
                             "--channels=1", "--latency-msec=20", str(tmp_path / "tone.raw")], env=dict(os.environ, **pulse.env))
    wait_for(lambda: "protocol-native" in pulse.pactl("list", "short", "sink-inputs").stdout, what="pacat to play")
    pulse.settle("dd_in")
    inp = make_input("dd_in.monitor")
    assert isinstance(inp, DeviceInput)
    eng = AudioEngine(None, inp, "dd_out", renderer_factory=pan_factory())
    rec = pulse.record(str(tmp_path / "out.raw"))
    eng.start()
    try:
        wait_for(lambda: eng.snapshot()["seconds_rendered"] > 1.5, what=lambda: f"1.5 s rendered: {eng.snapshot()}")
    finally:
        eng.stop()
        y = rec.stop()
        feed.kill()
        feed.wait()
    assert eng.snapshot()["input"] == "device:pulse:dd_in.monitor"
    spec = np.abs(np.fft.rfft(y[:, 0]))
    freqs = np.fft.rfftfreq(len(y), 1 / SAMPLE_RATE)
    assert abs(freqs[np.argmax(spec)] - 750.0) < 5 and np.abs(y).max() > 0.05  # the input's tone came out
