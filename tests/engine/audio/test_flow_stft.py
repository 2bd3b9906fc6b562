"""The flow renderer's streaming STFT / ISTFT pair: exact streaming, perfect reconstruction, causality."""

import numpy as np
import pytest
import torch

from engine.audio.flow.stft import StreamingIstft, StreamingStft, istft, stft, stft_latency


@pytest.mark.parametrize("n_fft", [64, 512])
def test_streaming_stft_and_istft_equal_offline_for_random_blocks(n_fft):
    hop = n_fft // 2
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((2, 9000)).astype(np.float32))
    spec = stft(x, n_fft, hop)
    assert spec.shape == (2, n_fft // 2 + 1, 9000 // hop)
    s, inv = StreamingStft(n_fft, hop), StreamingIstft(n_fft, hop)
    frames, outs, i = [], [], 0
    while i < x.shape[1]:
        b = int(rng.integers(1, 700))
        f = s.push(x[:, i : i + b])
        frames.append(f)
        outs.append(inv.push(f, min(b, x.shape[1] - i)))
        i += b
    assert torch.allclose(torch.cat(frames, dim=-1), spec, atol=1e-5)
    assert torch.allclose(torch.cat(outs, dim=-1), istft(spec, x.shape[1], n_fft, hop), atol=1e-5)


def test_reconstruction_is_the_input_delayed_by_the_latency():
    n_fft, hop = 512, 256
    lat = stft_latency(n_fft, hop)
    assert lat == n_fft - 1
    x = torch.randn(2, 6000)
    y = istft(stft(x, n_fft, hop), 6000, n_fft, hop)
    assert torch.allclose(y[:, lat:], x[:, : 6000 - lat], atol=1e-5)
    assert torch.count_nonzero(y[:, : lat - (n_fft - hop)]) == 0


def test_stft_is_causal():
    x = torch.randn(1, 4000)
    x2 = x.clone()
    x2[:, 2500:] = torch.randn(1, 1500)
    a, b = stft(x, 512, 256), stft(x2, 512, 256)
    done = 2500 // 256  # frames ending at or before sample 2500
    assert torch.equal(a[..., :done], b[..., :done])


pytestmark = pytest.mark.usefixtures("one_torch_thread")
