"""Binaural room impulse responses and the training data made from them, in the rooms
of :mod:`.rooms` (one kind of venue: a mid-size club room, its listener and sources).

The binaural room impulse response (:func:`brir`) is the sum of

* the direct path, exactly the anechoic HRTF renderer's (``HrtfRenderer(room=False)``'s
  response: KEMAR HRIR of the direction, ``distance_gain(r)``, ``propagation_delay_samples(r)``);
* image sources of a shoebox (Allen & Berkley) up to ``MAX_ORDER`` (3) reflections, each
  with the reflection coefficients sqrt(1 - absorption) of the walls it bounced on,
  ``distance_gain`` of its path, the KEMAR HRIR of the direction it arrives from as the
  listener's head is turned, placed at its propagation delay with band-limited
  fractional-delay accuracy;
* a diffuse tail: noise per ear decaying with the room's RT60, coloured by the
  diffuse-field KEMAR response with a gentle air-absorption roll-off, interaurally
  coherent only at low frequency (sin(kd)/kd, d = 0.18 m), faded in between the first
  reflection and the time the image set stops being complete, its level the statistical
  reverberant energy (4 pi c r_ref^2 / V per second, exp(-13.8 t / RT60)) minus what the
  image sources already bring.

Dataset API (the flow model trains on this; keep it stable)::

    Room                                   # dims, absorption (6 walls), rt60, listener, listener_yaw, id
    sample_room(rng, split) -> Room
    brir(room, source, listener, sample_rate=48000) -> (2, L) float32
    early_reflections(room, source, listener, max_order=1) -> (2, L) float64   # image sources only, no tail
    DEFAULT_VENUE                          # a Room near the middle of the family (live use of room-aware renderers)
    anechoic(mono, source, listener) -> (n, 2) float32   # == HrtfRenderer(room=False).process
    Example                                # mono, target, anechoic, source, listener, room_amount, room_id,
                                           # material_seed, kind (speech/recorded/music/noise), room (Room or None)
    example(split, index, seconds=1.0, seed=0) -> Example        # random access, deterministic
    make_split(split, count, seconds=1.0, seed=0) -> list[Example]
    split_arrays(split, count, seconds=1.0, seed=0) -> dict[str, np.ndarray]   # stacked, for training

Poses of an :class:`Example` are the renderers' own: the listener at the origin facing +x
(``Pose()``), the source relative to it.  :func:`brir` places that frame in the room: a
point p of the renderer's frame sits at ``room.listener + Rz(room.listener_yaw) @ p``.
``room_amount`` is 1.0 for a room example and 0.0 for an anechoic one (about
``ANECHOIC_FRACTION`` of every split), where ``target`` equals ``anechoic``.  Every
signal is aligned the same way: sample i of ``target`` and ``anechoic`` answers sample i
of ``mono`` (no renderer latency; the direct path includes its propagation delay).

Splits are deterministic in (split, seed, index).  Rooms, poses and source material are
drawn from generators seeded with the split's own number, so no two splits share a room;
``material_seed`` is ``split_number * 2**40 + seed * 2**20 + index``, disjoint between
splits by construction, and speech uses sentence / recording sets reserved per split
(``signals.SPLIT_TEXTS`` / ``SPLIT_RECORDINGS``).  The test split is for evaluation only.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sp_fft
from scipy import signal as sps

from .hrir import HrirSet, distance_gain, fractional_shift, propagation_delay_samples
from .hrir import PRE_ROLL, REFERENCE_DISTANCE
from .rooms import DEFAULT_VENUE, SPLITS, Room, sample_room, sample_source  # noqa: F401  (DEFAULT_VENUE: part of the dataset API)
from .signals import source_signal
from .types import LISTENER, SAMPLE_RATE, SPEED_OF_SOUND, Pose, relative_direction

MAX_ORDER = 3
ANECHOIC_FRACTION = 0.2
EAR_SPACING = 0.18  # m, for the diffuse field's interaural coherence
AIR_ROLLOFF_HZ = 9000.0  # the tail's first-order high-frequency roll-off (air and surfaces)


# ---------------------------------------------------------------- image sources


@functools.lru_cache(maxsize=4)
def _image_table(max_order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n (K,3), q (K,3), wall hit counts (K,6), order (K,)) for all images up to ``max_order``, direct excluded."""
    axis = []  # per axis: (n, q, hits on the low wall, hits on the high wall)
    for n in range(-max_order, max_order + 1):
        for q in (0, 1):
            low, high = abs(n - q), abs(n)
            if low + high <= max_order:
                axis.append((n, q, low, high))
    rows = []
    for ax in axis:
        for ay in axis:
            for az in axis:
                hits = (ax[2], ax[3], ay[2], ay[3], az[2], az[3])
                order = sum(hits)
                if 0 < order <= max_order:
                    rows.append(((ax[0], ay[0], az[0]), (ax[1], ay[1], az[1]), hits, order))
    n = np.array([r[0] for r in rows], dtype=np.float64)
    q = np.array([r[1] for r in rows], dtype=np.float64)
    hits = np.array([r[2] for r in rows], dtype=np.float64)
    order = np.array([r[3] for r in rows], dtype=np.int64)
    return n, q, hits, order


def image_sources(room: Room, source_room: np.ndarray, max_order: int = MAX_ORDER) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions (K,3) in room coordinates, pressure gains from reflections (K,), order (K,))."""
    n, q, hits, order = _image_table(max_order)
    dims = np.asarray(room.dims)
    pos = (1.0 - 2.0 * q) * np.asarray(source_room) + 2.0 * n * dims
    gains = np.prod(np.asarray(room.reflection) ** hits, axis=1)
    return pos, gains, order


def _directions(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dist = np.linalg.norm(vectors, axis=1)
    az = np.degrees(np.arctan2(vectors[:, 1], vectors[:, 0]))
    el = np.degrees(np.arcsin(np.clip(vectors[:, 2] / np.maximum(dist, 1e-9), -1.0, 1.0)))
    return az, el, dist


def _aligned_batch(hset: HrirSet, az: np.ndarray, el: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset-aligned HRIRs (K, 2, La) and onsets (K, 2) for many directions at once."""
    picks = [hset.weights(float(a), float(e)) for a, e in zip(az, el)]  # same blend as interpolate_aligned
    idx = np.stack([p[0] for p in picks])  # (K, 3)
    wf = np.stack([p[1] for p in picks])  # (K, 3)
    irs = np.einsum("kv,kvel->kel", wf.astype(np.float32), hset.irs[idx])
    onsets = np.einsum("kv,kve->ke", wf, hset.onsets[idx].astype(np.float64))
    return irs, onsets


@functools.lru_cache(maxsize=2)
def _diffuse_filter(hset: HrirSet, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Centred FIRs (2 parts, 2 ears, 256 taps) for the diffuse tail: part 0 filters the noise
    both ears share, part 1 each ear's own.  Their magnitude is the diffuse-field KEMAR response
    of the ear with the air roll-off, split by the diffuse-field coherence sin(kd)/kd; the
    energy of both parts together is the mean energy of that ear's HRIRs."""
    nfft, taps = 512, 256
    spec = np.fft.rfft(hset.irs.astype(np.float64), nfft, axis=-1)
    power = np.mean(np.abs(spec) ** 2, axis=0)  # (2, bins)
    f = np.fft.rfftfreq(nfft, 1 / sample_rate)
    mag = np.sqrt(power) / np.sqrt(1.0 + (f / AIR_ROLLOFF_HZ) ** 2)
    coh = np.clip(np.sinc(2 * f * EAR_SPACING / SPEED_OF_SOUND), 0.0, 1.0)  # np.sinc(x) = sin(pi x)/(pi x)
    parts = np.stack([mag * np.sqrt(coh), mag * np.sqrt(1.0 - coh)])  # (2, 2, bins)
    h = np.fft.fftshift(np.fft.irfft(parts, nfft, axis=-1), axes=-1)[..., nfft // 2 - taps // 2: nfft // 2 + taps // 2]
    h *= np.hanning(taps + 2)[1:-1]
    ear_energy = np.mean(np.sum(hset.irs.astype(np.float64) ** 2, axis=-1), axis=0)  # (2,)
    h *= np.sqrt(ear_energy / np.sum(h**2, axis=(0, 2)))[None, :, None]
    return h


_local = threading.local()


def _hrtf_renderer():
    """This thread's anechoic HrtfRenderer, or None where engine.audio.hrtf is missing."""
    r = getattr(_local, "hrtf", False)
    if r is False:
        try:
            from .hrtf import HrtfRenderer

            r = HrtfRenderer(room=False)
        except ImportError:
            r = None
        _local.hrtf = r
    return r


def _direct_render(mono: np.ndarray, source: Pose, listener: Pose) -> np.ndarray:
    """(n, 2) float64: the anechoic HRTF renderer's output for a static source, from a fresh state."""
    r = _hrtf_renderer()
    if r is None:
        return _convolve(mono, _sinc_direct_filter(source, listener))
    r.reset()
    out = np.asarray(r.process(np.asarray(mono, dtype=np.float32), source, listener), dtype=np.float64)
    r.reset()
    return out


def _sinc_direct_filter(source: Pose, listener: Pose = LISTENER, hset: HrirSet | None = None) -> np.ndarray:
    """Band-limited stand-in for the direct path (only where engine.audio.hrtf is missing)."""
    hset = hset or HrirSet.load_default()
    az, el, r = relative_direction(source, listener)
    ir, onsets = hset.interpolate_aligned(az, el)
    total = onsets + float(propagation_delay_samples(r))
    base = int(math.floor(total.min()))
    out = np.zeros((2, hset.length + base + 2), dtype=np.float64)
    out[:, base:] = fractional_shift(ir.astype(np.float64), total - base, hset.length + 2)
    return out * float(distance_gain(r))


def direct_filter(source: Pose, listener: Pose = LISTENER, hset: HrirSet | None = None) -> np.ndarray:
    """The anechoic HRTF renderer's impulse response for a static source, propagation delay
    included: (2, L) float64 (its response to a unit impulse)."""
    hset = hset or HrirSet.load_default()
    r = relative_direction(source, listener)[2]
    n = hset.length + int(math.ceil(float(propagation_delay_samples(r)))) + 16
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return _direct_render(impulse, source, listener).T


def brir(room: Room, source: Pose, listener: Pose = LISTENER, sample_rate: int = SAMPLE_RATE,
         length: int | None = None, max_order: int = MAX_ORDER, hset: HrirSet | None = None) -> np.ndarray:
    """The binaural room impulse response (2, L) float32 for ``source`` heard by ``listener``
    (both in the renderer's frame, placed in ``room``; see the module docstring).

    ``length`` defaults to 1.05 x RT60.  The direct path equals :func:`direct_filter`.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"the KEMAR set is at {SAMPLE_RATE} Hz")
    hset = hset or HrirSet.load_default()
    length = int(length or math.ceil(1.05 * room.rt60 * sample_rate))
    out = np.zeros((2, length), dtype=np.float64)
    d = direct_filter(source, listener, hset)
    out[:, : min(length, d.shape[1])] = d[:, :length]
    out += reverb(room, source, listener, length, max_order, hset)
    return out.astype(np.float32)


def reverb(room: Room, source: Pose, listener: Pose, length: int, max_order: int = MAX_ORDER,
           hset: HrirSet | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Everything of the BRIR but the direct path: image sources and the diffuse tail, (2, length) float64."""
    out, all_delays, all_gains, complete = _image_response(room, source, listener, length, max_order, hset, sample_rate)
    hset = hset or HrirSet.load_default()
    out += _tail(room, length, all_delays, all_gains, complete, hset, sample_rate, first=float(all_delays.min()) + PRE_ROLL)
    return out


def early_reflections(room: Room, source: Pose, listener: Pose = LISTENER, max_order: int = 1, length: int | None = None,
                      hset: HrirSet | None = None, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The image sources alone up to ``max_order`` (no direct path, no tail): (2, length) float64.

    Exactly the image-source part of :func:`reverb` (the same code); ``length`` defaults to
    the last image's arrival plus one HRIR, so nothing of the response is cut."""
    hset = hset or HrirSet.load_default()
    if length is None:
        src, lis = room.to_room(source.position), room.to_room(listener.position)
        pos, _, order = image_sources(room, src, max_order)
        far = float(np.linalg.norm(pos[order <= max_order] - lis, axis=1).max())
        length = int(math.ceil(float(propagation_delay_samples(far)))) + 2 * hset.length + 4
    return _image_response(room, source, listener, length, max_order, hset, sample_rate)[0]


def _image_response(room: Room, source: Pose, listener: Pose, length: int, max_order: int, hset: HrirSet | None,
                    sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The image sources up to ``max_order`` (2, length), with the delays and gains of all of them
    and the time the image set of that order stops being complete (what the tail needs)."""
    hset = hset or HrirSet.load_default()
    src = room.to_room(source.position)
    lis = room.to_room(listener.position)
    # the listener's head orientation in the room
    c, s = math.cos(math.radians(room.listener_yaw)), math.sin(math.radians(room.listener_yaw))
    head = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ listener.rotation()
    pos, refl, order = image_sources(room, src, max_order + 1)
    dist_all = np.linalg.norm(pos - lis, axis=1)
    complete = float(dist_all[order == max_order + 1].min()) / SPEED_OF_SOUND * sample_rate
    keep = order <= max_order
    pos, refl, dist = pos[keep], refl[keep], dist_all[keep]
    all_delays = propagation_delay_samples(dist)
    all_gains = refl * distance_gain(dist)
    keep = all_delays < length
    pos, delay, gains = pos[keep], all_delays[keep], all_gains[keep]
    out = np.zeros((2, length), dtype=np.float64)
    if len(pos):
        az, el, _ = _directions((pos - lis) @ head)
        irs, onsets = _aligned_batch(hset, az, el)
        total = onsets + delay[:, None]
        base = np.floor(total.min(axis=1)).astype(np.int64)
        seg_len = hset.length + 2
        seg = fractional_shift(irs.astype(np.float64), total - base[:, None], seg_len) * gains[:, None, None]
        idx = base[:, None] + np.arange(seg_len)[None, :]  # (K, seg_len)
        ok = idx < length
        for e in range(2):
            out[e] = np.bincount(idx[ok], weights=seg[:, e][ok], minlength=length)[:length]
    return out, all_delays, all_gains, complete


def _tail(room: Room, length: int, delays: np.ndarray, gains: np.ndarray, complete: float, hset: HrirSet,
          sample_rate: int, first: float) -> np.ndarray:
    """The diffuse tail (2, length): statistical reverberant energy minus the image sources' own."""
    filt = _diffuse_filter(hset, sample_rate)  # (part, ear, taps)
    half = filt.shape[-1] // 2  # the filter is centred: its output is read ``half`` samples late
    m = length + half  # noise samples that reach the first ``length`` outputs
    bin_len = sample_rate // 1000  # 1 ms
    nb = m // bin_len + 8  # margin: the smoothing below must not see the end
    t = (np.arange(nb) + 0.5) * bin_len / sample_rate
    rate = 4 * math.pi * SPEED_OF_SOUND * REFERENCE_DISTANCE**2 / room.volume  # squared gain per second
    theory = rate * np.exp(-6 * math.log(10) * t / room.rt60) * bin_len / sample_rate
    inside = delays < nb * bin_len
    imgs = np.bincount((delays[inside] / bin_len).astype(np.int64), weights=gains[inside] ** 2, minlength=nb)[:nb]
    imgs = np.convolve(imgs, np.ones(11) / 11, mode="same")
    var = np.maximum(theory - imgs, 0.0) / bin_len  # per-sample variance (omni, before the ear filter)
    tb = np.arange(nb) * bin_len
    ramp = np.clip((tb - first) / max(complete - first, 1.0), 0.0, 1.0)
    var *= 0.5 - 0.5 * np.cos(np.pi * ramp)
    env = np.sqrt(np.interp(np.arange(m), tb + bin_len / 2, var))
    n_fft = sp_fft.next_fast_len(m + filt.shape[-1])
    # common, left, right; each its own stream so that a longer response only adds samples at the end
    noise = np.stack([np.random.default_rng([room.tail_seed, k]).standard_normal(m) for k in range(3)]) * env
    spec = sp_fft.rfft(noise, n_fft, axis=-1)
    hf = sp_fft.rfft(filt, n_fft, axis=-1)
    ears = hf[0] * spec[0] + hf[1] * spec[1:]
    tail = sp_fft.irfft(ears, n_fft, axis=-1)[:, half: half + length]
    return tail


# ---------------------------------------------------------------- rendering and examples


def _convolve(mono: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(n, 2): the first n samples of mono convolved with each row of h."""
    n = len(mono)
    h = h[:, :n]
    y = sps.oaconvolve(np.asarray(mono, dtype=np.float64)[None, :], h, axes=1)[:, :n] if h.shape[1] > 256 else \
        np.stack([np.convolve(mono, h[e])[:n] for e in range(2)])
    return np.ascontiguousarray(y.T)


def anechoic(mono: np.ndarray, source: Pose, listener: Pose = LISTENER) -> np.ndarray:
    """The anechoic HRTF render (n, 2) float32 of a static source (== HrtfRenderer(room=False).process)."""
    return _direct_render(np.asarray(mono, dtype=np.float32), source, listener).astype(np.float32)


def render_room(mono: np.ndarray, room: Room, source: Pose, listener: Pose = LISTENER) -> tuple[np.ndarray, np.ndarray]:
    """(target, anechoic), both (n, 2) float32: ``mono`` in ``room`` and its direct path alone."""
    mono = np.asarray(mono, dtype=np.float64)
    n = len(mono)
    length = min(n, int(math.ceil(1.05 * room.rt60 * SAMPLE_RATE)))
    direct = _direct_render(mono, source, listener)
    wet = _convolve(mono, reverb(room, source, listener, length))
    return (direct + wet).astype(np.float32), direct.astype(np.float32)


@dataclass
class Example:
    """One training pair: ``mono`` (n,), ``target`` and ``anechoic`` (n, 2) float32 (column 0 left)."""

    mono: np.ndarray
    target: np.ndarray
    anechoic: np.ndarray
    source: Pose
    listener: Pose = field(default_factory=Pose)
    room_amount: float = 1.0
    room_id: str = "anechoic"
    material_seed: int = 0
    kind: str = ""
    room: Room | None = None


def material_seed(split: str, index: int, seed: int = 0) -> int:
    if not 0 <= index < 2**20 or not 0 <= seed < 2**20:
        raise ValueError("index and seed must lie in [0, 2**20)")
    return SPLITS[split] * 2**40 + seed * 2**20 + index


def example(split: str, index: int, seconds: float = 1.0, seed: int = 0) -> Example:
    """Example ``index`` of ``split`` (deterministic in split, seed, index)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    rng = np.random.default_rng([SPLITS[split], seed, index])
    mseed = material_seed(split, index, seed)
    mono, kind = source_signal(mseed, seconds, split)
    if rng.random() < ANECHOIC_FRACTION:
        src = sample_source(rng)
        dry = anechoic(mono, src)
        return Example(mono, dry, dry.copy(), src, Pose(), 0.0, "anechoic", mseed, kind)
    room = sample_room(rng, split, room_id=f"{split}-{seed}-{index}")
    src = sample_source(rng, room)
    target, dry = render_room(mono, room, src)
    return Example(mono, target, dry, src, Pose(), 1.0, room.id, mseed, kind, room)


def make_split(split: str, count: int, seconds: float = 1.0, seed: int = 0) -> list[Example]:
    """``count`` examples of ``split`` ("train", "val" or "test"), deterministic from ``seed``."""
    return [example(split, i, seconds, seed) for i in range(count)]


def split_arrays(split: str, count: int, seconds: float = 1.0, seed: int = 0, start: int = 0) -> dict[str, np.ndarray]:
    """Examples ``start .. start+count`` stacked: mono (B, n), target / anechoic (B, n, 2), azimuth /
    elevation (degrees) / distance (m) of the source relative to the listener, room_amount (B,)."""
    exs = [example(split, start + i, seconds, seed) for i in range(count)]
    dirs = np.array([relative_direction(e.source, e.listener) for e in exs], dtype=np.float32).reshape(-1, 3)
    return {
        "mono": np.stack([e.mono for e in exs]),
        "target": np.stack([e.target for e in exs]),
        "anechoic": np.stack([e.anechoic for e in exs]),
        "azimuth": dirs[:, 0], "elevation": dirs[:, 1], "distance": dirs[:, 2],
        "room_amount": np.array([e.room_amount for e in exs], dtype=np.float32),
    }
