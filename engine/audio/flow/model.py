"""The flow model: a causal U-Net predicting the velocity from the HRTF spectrum to the binaural one.

Spectra are complex (ears, bins, frames); the network sees real and imaginary parts
as channels, [x_t (4), condition (4)], over the first ``n_fft // 2`` bins (the
Nyquist bin passes through from the prior).  Levels: every frame is divided by
``g``, the RMS of the condition over the last ``level_frames`` frames (causal), and
the network's output is multiplied back, so one set of weights serves quiet and loud
sources alike and the reverberant tail a little past the sound.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .solver import solve
from .unet import Cache, CacheBank, CausalUNet

FORMAT = "dreamdeck-binauralflow"
FORMAT_VERSION = "1"


class FlowWeightsError(RuntimeError):
    """The flow renderer's weights are missing, unreadable or for another model."""


@dataclass(frozen=True)
class FlowConfig:
    n_fft: int = 512
    hop: int = 256
    widths: tuple[int, ...] = (16, 32, 48)
    mid_dilations: tuple[int, ...] = (1, 2, 4, 8)
    emb: int = 64
    level_frames: int = 64
    level_floor: float = 0.02  # STFT units; speech at 1.4 m is about 0.3
    sigma: float = 0.05  # prior noise, relative to the frame level (training only)
    nfe: int = 3  # the early-skip Euler step + one midpoint step: RTF about 0.2 at 2048-sample blocks (5: 0.25-0.29)
    t_skip: float = 0.5
    t_end: float = 1.0  # where the flow stops (chosen on validation data after training)
    room_descriptor: bool = True  # the room's geometry is part of the conditioning (see room_features)
    prior_order: int = 1  # image-source order of the prior's reflections with the room on (0: anechoic prior)

    @staticmethod
    def from_json(text: str) -> "FlowConfig":
        d = json.loads(text)
        for k in ("widths", "mid_dilations"):
            if k in d:
                d[k] = tuple(d[k])
        if "room_descriptor" not in d:  # a file from before room conditioning: pose only
            d["room_descriptor"] = False
        known = set(FlowConfig.__dataclass_fields__)
        return FlowConfig(**{k: v for k, v in d.items() if k in known})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def pose_features(az_deg: torch.Tensor, el_deg: torch.Tensor, dist: torch.Tensor, room: torch.Tensor) -> torch.Tensor:
    """(B,) each -> (B, 20): Fourier features of the direction, log distance and room amount."""
    az, el = torch.deg2rad(az_deg), torch.deg2rad(el_deg)
    m = torch.arange(1, 5, dtype=torch.float32)
    a = az[:, None] * m
    u = torch.log2(dist.clamp(min=0.1))[:, None] / 4.0  # about -1 .. 1 over 0.1 .. 16 m
    k = torch.tensor([1.0, 2.0, 4.0]) * math.pi / 2
    e = el[:, None] * torch.tensor([1.0, 2.0])
    return torch.cat([a.sin(), a.cos(), e.sin(), e.cos(), (u * k).sin(), (u * k).cos(), u, room[:, None]], dim=1)


ROOM_FEATURES = 9


def room_features(rooms) -> torch.Tensor:
    """A room descriptor per example, (B, 9): log room dimensions relative to the venue family's
    middle, RT60, the listener's position in the room (normalised by the dimensions), ear height,
    and the listener's yaw in the room as sin/cos; all zeros for ``None`` (anechoic; the pose
    features' room flag says which).  Each feature is scaled to about -1 .. 1 over the family."""
    from ..rooms import BASE_DIMS

    rows = []
    for r in rooms:
        if r is None:
            rows.append([0.0] * ROOM_FEATURES)
            continue
        dims = r.dims
        yaw = math.radians(r.listener_yaw)
        rows.append([5.0 * math.log(dims[0] / BASE_DIMS[0]), 5.0 * math.log(dims[1] / BASE_DIMS[1]),
                     5.0 * math.log(dims[2] / BASE_DIMS[2]), (r.rt60 - 0.45) / 0.15,
                     2.0 * (r.listener[0] / dims[0] - 0.5), 2.0 * (r.listener[1] / dims[1] - 0.5),
                     (r.listener[2] - 1.6) / 0.1, math.sin(yaw), math.cos(yaw)])
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, ROOM_FEATURES)


def time_features(t: torch.Tensor) -> torch.Tensor:
    """(B,) -> (B, 9)."""
    k = torch.tensor([1.0, 2.0, 4.0, 8.0]) * math.pi
    return torch.cat([(t[:, None] * k).sin(), (t[:, None] * k).cos(), t[:, None]], dim=1)


class FlowModel(nn.Module):
    def __init__(self, config: FlowConfig = FlowConfig()):
        super().__init__()
        self.config = config
        self.embed = nn.Sequential(nn.Linear(self.cond_dim + 9, config.emb), nn.SiLU(), nn.Linear(config.emb, config.emb), nn.SiLU())
        self.unet = CausalUNet(8, 8, config.widths, config.emb, config.mid_dilations, config.n_fft // 2)

    @property
    def cond_dim(self) -> int:
        """Width of the conditioning vector: pose features (20), plus the room descriptor when configured."""
        return 20 + (ROOM_FEATURES if self.config.room_descriptor else 0)

    @property
    def bins(self) -> int:
        return self.config.n_fft // 2

    # -- levels and packing ----------------------------------------------------------------
    def level(self, cond: torch.Tensor, cache: Cache | None = None) -> torch.Tensor:
        """cond complex (B, 2, F, T) -> g (B, T, 1, 1): RMS over the last level_frames frames."""
        e = (cond.real.square() + cond.imag.square()).mean(dim=(1, 2))[:, None, :]  # (B, 1, T)
        past = self.config.level_frames - 1
        if cache is None:
            e = F.pad(e, (past, 0))
        else:
            prev = cache.get("level")
            if prev is None:
                prev = e.new_zeros(*e.shape[:-1], past)
            e = torch.cat([prev, e], dim=-1)
            cache["level"] = e[..., -past:]
        g = F.avg_pool1d(e, self.config.level_frames, stride=1).sqrt() + self.config.level_floor
        return g[:, 0, :, None, None]

    def pack(self, spec: torch.Tensor) -> torch.Tensor:
        """complex (B, 2, F, T) -> real (B, T, F - 1, 4): the network's layout."""
        s = spec[:, :, : self.bins]
        return torch.cat([s.real, s.imag], dim=1).permute(0, 3, 2, 1).contiguous()

    def unpack(self, x: torch.Tensor, nyquist: torch.Tensor) -> torch.Tensor:
        """real (B, T, F - 1, 4) and the Nyquist bins (B, 2, 1, T) -> complex (B, 2, F, T)."""
        x = x.permute(0, 3, 2, 1)
        return torch.cat([torch.complex(x[:, :2], x[:, 2:]), nyquist], dim=2)

    def embedding(self, pose: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.embed(torch.cat([pose, time_features(t)], dim=1))

    # -- the velocity and the flow ---------------------------------------------------------
    def velocity(self, x: torch.Tensor, c: torch.Tensor, shifts: list[torch.Tensor], cache: Cache | None = None) -> torch.Tensor:
        """x, c: packed and divided by the level; returns the velocity in the same units.

        The network gives a complex gain ``a`` per bin and ear and a complex residual ``b``:
        v = a * c + b.  A room (or a change of distance) acts on the spectrum mostly as a
        per-bin complex gain, which the multiplicative path expresses directly."""
        o = self.unet(torch.cat([x, c], dim=-1), shifts, cache)
        a_re, a_im, b = o[..., 0:2], o[..., 2:4], o[..., 4:8]
        c_re, c_im = c[..., 0:2], c[..., 2:4]
        return torch.cat([a_re * c_re - a_im * c_im, a_re * c_im + a_im * c_re], dim=-1) + b

    def flow(self, cond: torch.Tensor, pose: torch.Tensor, nfe: int | None = None, bank: CacheBank | None = None,
             level_cache: Cache | None = None) -> torch.Tensor:
        """The binaural spectrum for the HRTF spectrum ``cond`` (B, 2, F, T), complex in and out.

        Offline when ``bank`` is None (the whole sequence, zero past); streaming otherwise."""
        nfe = self.config.nfe if nfe is None else nfe
        if self.config.t_end == 0.0:  # calibrated to the prior itself: no network evaluation at all
            return cond
        g = self.level(cond, level_cache)
        c = self.pack(cond) / g
        b = cond.shape[0]
        ts = sorted({0.0, *(t for t in _eval_times(nfe, self.config.t_skip, self.config.t_end))})
        shifts = {t: self.unet.shifts(self.embedding(pose, torch.full((b,), t))) for t in ts}

        def v(x: torch.Tensor, t: float, k: int) -> torch.Tensor:
            return self.velocity(x, c, shifts[t], None if bank is None else bank[k])

        x1 = solve(v, c, nfe, self.config.t_skip, self.config.t_end)
        return self.unpack(x1 * g, cond[:, :, self.bins :])

    def loss(self, cond: torch.Tensor, target: torch.Tensor, pose: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Conditional flow matching loss on a batch of whole sequences (velocity in level units, errors weighted by level)."""
        g = self.level(cond)
        c = self.pack(cond) / g
        x1 = self.pack(target) / g
        b = cond.shape[0]
        x0 = c + self.config.sigma * torch.randn(c.shape, generator=generator)
        t = torch.rand(b, generator=generator)
        t = torch.where(torch.rand(b, generator=generator) < 0.25, torch.zeros_like(t), t)  # t = 0 often: the skip step
        tt = t[:, None, None, None]
        xt = (1 - tt) * x0 + tt * x1
        pred = self.velocity(xt, c, self.unet.shifts(self.embedding(pose, t)))
        # Errors weighted by the frame level squared: the loss is then the waveform L2 of the
        # one-step render (the STFT is a tight frame), not a relative error that quiet frames dominate.
        w = g.square() / g.square().mean()
        return ((pred - (x1 - x0)).square() * w).mean()


def _eval_times(nfe: int, t_skip: float, t_end: float = 1.0) -> list[float]:
    from .solver import schedule

    out = []
    for kind, a, b in schedule(nfe, t_skip, t_end):
        out.append(a)
        if kind == "midpoint":
            out.append(a + 0.5 * (b - a))
    return out


# -- weights ---------------------------------------------------------------------------------
def save_weights(model: FlowModel, path: str | Path, recipe: dict | None = None) -> None:
    """Write the weights (safetensors) with the config and recipe in its metadata, atomically."""
    from safetensors.torch import save

    meta = {"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_json(), "recipe": json.dumps(recipe or {}, sort_keys=True)}
    data = save({k: v.detach().contiguous().float() for k, v in model.state_dict().items()}, metadata=meta)
    from ...atomic_file import write_bytes_atomic

    write_bytes_atomic(Path(path), data)


def read_metadata(path: str | Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def load_weights(path: str | Path) -> FlowModel:
    """The model stored at ``path``; any problem is a :class:`FlowWeightsError` saying what to do."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    hint = "run 'dreamdeck train-binaural' to make new weights, or use the HRTF renderer"
    if not p.is_file():
        raise FlowWeightsError(f"flow renderer weights not found at {p}: {hint}")
    try:
        meta = read_metadata(p)
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise FlowWeightsError(f"flow renderer weights at {p} are unreadable ({str(e).splitlines()[0][:80]}): {hint}") from None
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise FlowWeightsError(f"{p} is not a DreamDeck BinauralFlow v{FORMAT_VERSION} weights file: {hint}")
    try:
        model = FlowModel(FlowConfig.from_json(meta["config"]))
        model.load_state_dict(tensors, strict=True)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise FlowWeightsError(f"flow renderer weights at {p} do not fit the model ({str(e).splitlines()[0][:80]}): {hint}") from None
    model.eval()
    return model
