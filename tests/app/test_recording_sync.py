"""Show recordings with the show's sound, in sync with the pictures, through the show session.

The acceptance test plays a clip of flashes and clicks (its own sound through the audio engine and a
PulseAudio null sink) for 60 s and records it to H.264 + AAC; every click must be within one frame of its
flash in the file. ``python tests/app/recording_sync.py --minutes 10`` measures longer recordings."""

import os
import subprocess
import sys

import numpy as np
import pytest
from system_deps import skip_unless_required
from waiting import wait_for

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "engine", "audio"))
from recording_sync import FPS, make_clip, record_show  # noqa: E402

from av_marks import measure  # noqa: E402
from pulse import pulse  # noqa: E402,F401  (the fixture)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "flashes.mp4"
    make_clip(path, seconds=20.0)
    return path


def session_on(store_values, source, sinks=(), audio_in=None, audio_out=None):
    from app.session import SessionConfig, ShowSession
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"output_size": "640x360", "output_fps": FPS, **store_values})
    config = SessionConfig(source=source, sinks=tuple(sinks), audio_in=audio_in, audio_out=audio_out, fresh=True)
    return ShowSession(store, config, generator=IdentityStage(128))


def test_a_minute_of_show_recording_keeps_every_click_within_a_frame_of_its_flash(clip, pulse, tmp_path):
    """Acceptance (issue 17): 60 s, the file's sound through the audio engine (hrtf) into the null sink."""
    out = tmp_path / "show.mp4"
    result = record_show(clip, out, 60.0, say=print)
    report = measure(out)
    print(result)
    print("60 s:", report.line())
    assert result["sinks"] == {"recorder:show.mp4": "ok"}
    assert report.video_s >= 59.0
    assert len(report.offsets_ms) >= 0.9 * report.flashes > 80  # (a flash the output's tick missed has no picture)
    assert report.max_abs_ms < 1000.0 / FPS
    assert abs(report.audio_end - report.video_end) < 0.05
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", str(out)],
                       capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["h264", "aac"]


def test_without_the_audio_engine_the_recording_has_the_files_own_sound_in_sync(clip, tmp_path):
    out = tmp_path / "own.mp4"
    session = session_on({}, f"file:{clip}", sinks=(f"record:{out}",))
    session.start(load_model=False)
    try:
        wait_for(lambda: session.status().pipeline.frames_out > 8 * FPS, timeout=30, what="8 s of show")
    finally:
        session.stop()
    report = measure(out)
    print("the file's own sound:", report.line())
    assert len(report.offsets_ms) >= 0.8 * report.flashes > 8
    assert report.max_abs_ms < 1000.0 / FPS


def loudness(path, hop=0.25):
    """RMS of the sound in ``hop``-second windows (from the sound's own timestamps), and the 1 kHz vs 440 Hz share."""
    import av

    with av.open(str(path)) as c:
        frames = [(float(f.time), f.to_ndarray()[0]) for f in c.decode(audio=0)]
    t0 = frames[0][0]
    x = np.concatenate([a for _, a in frames])
    n = int(hop * 48000)
    windows = [x[i:i + n] for i in range(0, len(x) - n, n)]
    return t0, np.array([np.sqrt(np.mean(w ** 2)) for w in windows])


def test_audio_started_stopped_and_restarted_mid_recording_is_followed(pulse, tmp_path):
    import soundfile

    tone = tmp_path / "tone.wav"
    t = np.arange(48000) / 48000
    soundfile.write(tone, (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000)
    out = tmp_path / "mid.mp4"
    session = session_on({}, "pattern:static", audio_in=str(tone), audio_out="dd_out")
    session.start(load_model=False)
    try:
        name = session.add_sink(f"record:{out}")
        wait_for(lambda: session.sink(name).frames > 3 * FPS, what="3 s recorded")
        session.stop_audio()
        marks = [session.sink(name).frames / FPS]
        wait_for(lambda: session.sink(name).frames > (marks[0] + 2) * FPS, what="2 s more without audio")
        session.start_audio(str(tone), "dd_out")
        marks.append(session.sink(name).frames / FPS)
        wait_for(lambda: session.sink(name).frames > (marks[1] + 3) * FPS, what="3 s more with audio")
        session.remove_sink(name)
    finally:
        session.stop()
    t0, rms = loudness(out)
    at = lambda s: rms[int((s - t0) / 0.25)]  # noqa: E731
    print(f"engine stopped at {marks[0]:.2f} s, started at {marks[1]:.2f} s; rms per 0.25 s: {np.round(rms, 2)}")
    assert all(at(s) > 0.05 for s in np.arange(0.5, marks[0] - 0.3, 0.25))  # the tone while the engine ran
    assert all(at(s) < 1e-3 for s in np.arange(marks[0] + 0.3, marks[1] - 0.3, 0.25))  # silence while it was off
    assert all(at(s) > 0.05 for s in np.arange(marks[1] + 0.6, marks[1] + 2.5, 0.25))  # the new engine's tone


def test_the_av_delay_parameter_delays_the_recorded_sound(clip, pulse, tmp_path):
    out = tmp_path / "delayed.mp4"
    session = session_on({"av_delay": 100.0}, f"file:{clip}", audio_in="source", audio_out="dd_out")
    session.start(load_model=False)
    try:
        name = session.add_sink(f"record:{out}")
        wait_for(lambda: session.sink(name).frames > 6 * FPS, timeout=30, what="6 s recorded")
    finally:
        session.stop()
    report = measure(out)
    print("av_delay 100 ms:", report.line())
    assert len(report.offsets_ms) > 5
    assert abs(np.median(report.offsets_ms) - 100.0) < 1000.0 / FPS


@pytest.fixture
def read_only_folder(tmp_path):
    if os.geteuid() != 0:  # a user's folder without write permission
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    folder = tmp_path / "ro"  # root writes anywhere: a read-only file system is what stops it
    folder.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    if r.returncode != 0:
        skip_unless_required(f"cannot mount a read-only tmpfs here ({r.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_recording_that_cannot_be_written_is_refused_in_one_line_when_added(read_only_folder, tmp_path):
    from app.session import SessionError
    from engine.params.registry import ParamError
    from engine.sinks.recorder import RecorderSink

    session = session_on({"record_codec": "hap"}, "pattern:static")
    try:
        with pytest.raises(SessionError) as e:
            session.add_sink(f"record:{tmp_path / 'show.mp4'}")  # the registry's codec, at add time
        assert "HAP does not fit in .mp4" in str(e.value) and "\n" not in str(e.value)
        session.store.set("record_codec", "h264")
        with pytest.raises(SessionError, match="not writable") as e:
            session.add_sink(f"record:{read_only_folder / 'show.mp4'}")
        assert "\n" not in str(e.value)
        with pytest.raises(ParamError):
            session.store.set("record_codec", "divx")  # the registry takes only codecs the writer knows...
        problem = RecorderSink(tmp_path / "show.mp4", codec="divx").availability()  # ...and a sink built by hand
        assert problem.startswith("unknown codec 'divx'") and "\n" not in problem
        assert session.status().sinks == ()
        name = session.add_sink(f"record:{tmp_path / 'show.mov'}")  # and a good one is taken
        assert session.sink(name).codec == "h264"
    finally:
        session.stop()
    assert not os.listdir(read_only_folder)


def test_audio_started_after_the_recording_is_in_it(tmp_path, pulse):
    """What a VJ does: record first, then start the sound. The recording has a sound track from its start
    (silence), and the sound from when it began."""
    import time

    import av
    import soundfile

    wav = tmp_path / "tone.wav"
    t = np.arange(3 * 48_000) / 48_000
    soundfile.write(wav, (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48_000)
    session = session_on({}, "pattern")
    out = tmp_path / "take.mp4"
    try:
        session.start(load_model=False)
        session.add_sink(f"record:{out}")
        time.sleep(1.0)
        session.start_audio(str(wav), "dd_out")
        time.sleep(2.0)
    finally:
        session.stop()
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    half = len(sound) // 3
    assert np.abs(sound[: half // 2]).max() < 0.01 and np.abs(sound[-half:]).max() > 0.05
