"""FlowRenderer: the HRTF render refined by the flow model, block by block.

mono -> prior (HrtfRenderer, anechoic, zero latency, plus with the room on the first-order
image sources of the room the renderer is told, ``room_geometry``; see :mod:`.prior`) ->
streaming STFT -> flow (one network
call per solver evaluation per block, each evaluation with its own cache) ->
streaming ISTFT.  Latency: the STFT pair's ``n_fft - 1`` samples.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from ..types import LISTENER, BinauralRenderer, Pose, relative_direction
from .model import FlowModel, load_weights, pose_features, room_features
from .stft import StreamingIstft, StreamingStft, istft, stft, stft_latency
from .unet import CacheBank

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "data" / "binauralflow.safetensors"
from ..types import LIVE_BLOCK  # noqa: E402  (the live engine's block size: 2048 samples, 42.7 ms)

_tuned = threading.local()  # threads whose torch intra-op count this module set to 1


def pose_vector(source: Pose, listener: Pose, room: float, geometry=None, descriptor: bool = True) -> torch.Tensor:
    """The conditioning vector (1, 20 or 29): pose features, and (``descriptor``) the room
    descriptor of ``geometry`` (zeros when the room is off or no geometry is given)."""
    az, el, dist = relative_direction(source, listener)
    if dist < 1e-9:
        az, el, dist = 0.0, 0.0, 0.1
    p = pose_features(torch.tensor([az]), torch.tensor([el]), torch.tensor([dist]), torch.tensor([float(room)]))
    if not descriptor:
        return p
    return torch.cat([p, room_features([geometry if room else None])], dim=1)


class FlowRenderer(BinauralRenderer):
    name = "flow"

    def __init__(self, room: bool = True, weights: str | Path | FlowModel | None = None, nfe: int | None = None,
                 hrtf: BinauralRenderer | None = None, room_geometry=None):
        """``room``: render the room (toggled live through the attribute); ``room_geometry``: the
        :class:`engine.audio.rooms.Room` the listener stands in (default
        :data:`engine.audio.rooms.DEFAULT_VENUE`); with ``room`` off the render is anechoic."""
        self.model = weights if isinstance(weights, FlowModel) else load_weights(DEFAULT_WEIGHTS if weights is None else weights)
        self.model.eval()
        cfg = self.model.config
        self.nfe = cfg.nfe if nfe is None else int(nfe)
        self.room = bool(room)
        from .prior import PriorRenderer

        from ..rooms import DEFAULT_VENUE

        self.prior = PriorRenderer(cfg.prior_order, DEFAULT_VENUE if room_geometry is None else room_geometry, direct=hrtf)
        self._stft = StreamingStft(cfg.n_fft, cfg.hop)
        self._istft = StreamingIstft(cfg.n_fft, cfg.hop)
        self.bank = CacheBank()
        self._level: dict = {}
        self._pose_key = None
        self._pose = None

    @property
    def room_geometry(self):
        return self.prior.geometry

    @room_geometry.setter
    def room_geometry(self, room) -> None:
        """Another room (takes effect from the next block; call ``reset`` for a fresh start)."""
        from ..rooms import DEFAULT_VENUE

        self.prior.geometry = DEFAULT_VENUE if room is None else room
        self._pose_key = None

    @property
    def latency_samples(self) -> int:
        return int(self.prior.latency_samples) + stft_latency(self.model.config.n_fft, self.model.config.hop)

    def reset(self) -> None:
        self.prior.reset()
        self._stft.reset()
        self._istft.reset()
        self.bank.reset()
        self._level = {}

    def _pose_for(self, source: Pose, listener: Pose) -> torch.Tensor:
        key = (source, listener, self.room, self.prior.geometry)
        if key != self._pose_key:
            self._pose_key, self._pose = key, pose_vector(source, listener, 1.0 if self.room else 0.0, self.prior.geometry,
                                                          self.model.config.room_descriptor)
        return self._pose

    def process(self, mono: np.ndarray, source: Pose, listener: Pose = LISTENER) -> np.ndarray:
        if _tuned.__dict__.get("done") is None:
            # The network's ops are small: a second intra-op thread only adds waiting, and on a machine
            # busy with the video engine one block took 70x longer with two. torch's thread count is
            # per calling thread (OpenMP), so this pins the audio render thread only.
            torch.set_num_threads(1)
            _tuned.done = True
        mono = np.asarray(mono, dtype=np.float32).reshape(-1)
        n = mono.shape[0]
        anech = self.prior.process(mono, source, listener, self.room)
        with torch.inference_mode():
            spec = self._stft.push(torch.from_numpy(np.ascontiguousarray(anech.T, dtype=np.float32)))
            if spec.shape[-1]:
                spec = self.model.flow(spec[None], self._pose_for(source, listener), self.nfe, self.bank, self._level)[0]
            out = self._istft.push(spec, n)
        return out.numpy().T.astype(np.float32, copy=False)


def render_spectral(model: FlowModel, anechoic: np.ndarray, source: Pose, listener: Pose = LISTENER, room: float = 1.0,
                    nfe: int | None = None, aligned: bool = True, geometry=None) -> np.ndarray:
    """Offline (whole-signal) flow render of a prior render (n, 2) (see :mod:`.prior`).

    ``aligned``: shift out the STFT latency (feeding that many zeros after the signal)
    so the result lines up with ``anechoic`` sample for sample."""
    cfg = model.config
    n = anechoic.shape[0]
    lat = stft_latency(cfg.n_fft, cfg.hop) if aligned else 0
    x = torch.from_numpy(np.ascontiguousarray(anechoic.T, dtype=np.float32))
    if lat:
        x = torch.cat([x, torch.zeros(2, lat)], dim=-1)
    with torch.inference_mode():
        spec = model.flow(stft(x, cfg.n_fft, cfg.hop)[None], pose_vector(source, listener, room, geometry, cfg.room_descriptor), nfe)[0]
        y = istft(spec, x.shape[-1], cfg.n_fft, cfg.hop)
    return y[:, lat : lat + n].numpy().T.astype(np.float32, copy=False)


__all__ = ["FlowRenderer", "render_spectral", "DEFAULT_WEIGHTS", "LIVE_BLOCK"]
