import math

import numpy as np
import torch

from engine.diffusion.similarity_filter import SimilarityFilter
from engine.diffusion.stream import DiffusionStream, StreamSettings


def _runs(flags):
    longest = cur = 0
    for f in flags:
        cur = cur + 1 if f else 0
        longest = max(longest, cur)
    return longest


def test_identical_frames_skip_at_expected_rate_and_refresh():
    for m in (0, 1, 4, 10):
        f = SimilarityFilter(threshold=0.98, max_skip_frame=m, seed=1)
        x = torch.rand(3, 32, 32)
        flags = [f.should_skip(x) for _ in range(220)]
        assert flags[0] is False  # the first frame is always processed
        assert _runs(flags) == m  # never more than max_skip_frame in a row
        # steady state: m skips then one forced refresh
        assert abs(f.skip_rate - m / (m + 1)) < 0.01


def test_changed_frame_is_processed():
    f = SimilarityFilter(threshold=0.9, max_skip_frame=50, seed=1)
    x = torch.rand(3, 32, 32)
    for _ in range(5):
        f.should_skip(x)
    assert f.consecutive_skips > 0
    y = torch.rand(3, 32, 32) - 0.5  # a very different picture
    assert f.should_skip(y) is False
    assert f.consecutive_skips == 0  # a pass resets the run


def test_skip_probability_grows_with_similarity():
    # two unit vectors with a chosen cosine similarity
    def pair(sim):
        a = torch.tensor([1.0, 0.0])
        return a, torch.tensor([sim, math.sqrt(1 - sim * sim)])

    for sim, expected in ((0.95, 0.5), (0.99, 0.9), (0.89, 0.0)):
        f = SimilarityFilter(threshold=0.9, max_skip_frame=10**6, seed=3)
        a, b = pair(sim)
        skips = 0
        for _ in range(2000):
            f.reset()
            f.should_skip(a)  # reference
            skips += f.should_skip(b)
        assert abs(skips / 2000 - expected) < 0.04, (sim, skips / 2000)


def test_seeded_and_repeatable():
    xs = [torch.rand(8) * 0.01 + 1 for _ in range(200)]
    runs = []
    for _ in range(2):
        f = SimilarityFilter(threshold=0.999, max_skip_frame=5, seed=42)
        runs.append([f.should_skip(x) for x in xs])
    assert runs[0] == runs[1]


def test_skipped_frames_do_no_model_work(tiny_bundle, tiny):
    calls = {"unet": 0, "vae": 0}
    h1 = tiny["unet"].register_forward_hook(lambda *a: calls.__setitem__("unet", calls["unet"] + 1))
    h2 = tiny["tiny_vae"].register_forward_pre_hook(lambda *a: calls.__setitem__("vae", calls["vae"] + 1))
    enc = tiny["tiny_vae"].encoder.register_forward_hook(lambda *a: calls.__setitem__("vae", calls["vae"] + 1))
    try:
        s = DiffusionStream(tiny_bundle, StreamSettings(size=128, steps=1, similarity_filter=True, max_skip_frame=3, prompts=(("x", 1.0),)))
        frame = np.full((128, 128, 3), 120, np.uint8)
        outs = [s.process_one(frame) for _ in range(9)]
    finally:
        h1.remove(), h2.remove(), enc.remove()
    # frames 0, 4, 8 processed (refresh after 3 skips), the rest skipped
    assert calls["unet"] == 3
    assert calls["vae"] == 3
    assert s.metrics.summary()["skipped"] == 6
    assert all(o is outs[0] for o in outs[1:4])
