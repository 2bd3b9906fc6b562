"""Live changes to a running stream: refused changes keep the show running; rebuilds never leak old frames."""

from dataclasses import replace

import pytest
from diffusers import LCMScheduler

from engine.diffusion.schedule import base_timesteps, t_index_for_strength
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.test_pattern import pattern_frame
from engine.params import engine_store


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
@pytest.mark.parametrize("strength", [0.1, 0.35, 0.5, 0.8, 1.0])
def test_strength_maps_to_diffusers_lcm_img2img_timesteps(steps, strength):
    """At strength s and n steps we denoise at the timesteps diffusers' LCM img2img uses."""
    cfg = LCMScheduler().config
    sched = LCMScheduler.from_config(cfg)
    sched.set_timesteps(steps, strength=strength)  # what LatentConsistencyModelImg2ImgPipeline does
    ours = [base_timesteps(cfg)[i] for i in t_index_for_strength(cfg, strength, steps)]
    assert ours == [int(t) for t in sched.timesteps]


def test_strength_below_the_floor_is_raised_not_refused():
    cfg = LCMScheduler().config
    assert t_index_for_strength(cfg, 0.0, 2) == t_index_for_strength(cfg, 2 / 50, 2)


def _running(bundle, **kw):
    s = DiffusionStream(bundle, StreamSettings(size=128, steps=2, prompts=(("neon", 1.0),), **kw))
    frame = pattern_frame(0.1, 128, 128)
    s.process_one(frame)
    assert s.process_one(frame) is not None
    return s, frame


def test_refused_change_keeps_the_stream_running(tiny_bundle):
    s, frame = _running(tiny_bundle)
    before = s.settings
    for bad in (dict(size=100), dict(t_index_list=(45, 30)), dict(t_index_list=(60,)), dict(guidance="sometimes"),
                dict(steps=3, t_index_list=(1, 2, 99))):
        with pytest.raises(ValueError):
            s.apply(replace(s.settings, **bad))
        assert s.settings is before
        assert s.process_one(frame) is not None, bad  # still producing frames, no refill


def test_sync_of_a_refused_snapshot_reports_and_keeps_running(tiny_bundle):
    s, frame = _running(tiny_bundle)
    store = engine_store()
    store.update({"size": 128, "steps": 2, "prompt.1.text": "neon"})
    assert s.sync(store.snapshot())
    s.process_one(frame)
    s.settings = replace(s.settings, t_index_list=(50,))  # a kept override that cannot apply
    store.set("strength", 0.9)
    assert s.sync(store.snapshot()) is False
    assert "outside" in s.last_error
    s.settings = s._applied
    assert s.process_one(frame) is not None


def test_size_change_never_hands_out_a_frame_of_the_old_size(tiny_bundle):
    s, frame = _running(tiny_bundle, similarity_filter=True)
    s.apply(replace(s.settings, size=192))
    big = pattern_frame(0.1, 192, 192)
    outs = [s.process_one(big) for _ in range(4)]
    assert outs[0] is None  # refilling
    assert all(o.shape == (192, 192, 3) for o in outs[1:] if o is not None)


def test_t_index_list_change_is_live(tiny_bundle):
    s, frame = _running(tiny_bundle)
    s.apply(replace(s.settings, t_index_list=(10, 40)))
    assert s.denoiser.plan.t_index == (10, 40)
    assert s.process_one(frame) is not None  # same step count: no refill


def test_apply_from_another_thread_while_frames_run(tiny_bundle):
    import threading

    s, frame = _running(tiny_bundle)
    stop, errors = threading.Event(), []
    changes = [dict(steps=3), dict(strength=0.8, seeds=((1, 0.3), (2, 0.7))), dict(steps=2, guidance="full"), dict(size=192)]

    def control():
        i = 0
        while not stop.is_set():
            try:
                s.apply(replace(s.settings, **changes[i % len(changes)]))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
            i += 1

    t = threading.Thread(target=control)
    t.start()
    try:
        for i in range(25):
            out = s.process_one(frame)
            assert out is None or out.ndim == 3
    except Exception as e:
        errors.append(e)
    finally:
        stop.set()
        t.join()
    assert not errors, errors
