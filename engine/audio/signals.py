"""Mono source material for the binaural training data and the audio bench.

Four kinds, each drawn from a seed so the same seed always gives the same signal:

* ``speech``: synthetic speech from ``espeak-ng`` (varied voices, variants, speeds and
  pitches), rendered once per utterance and cached as 48 kHz WAV under the user cache
  folder (``$DREAMDECK_CACHE_DIR`` overrides it);
* ``recorded``: the human speech recordings Debian's ``alsa-utils`` ships in
  ``/usr/share/sounds/alsa`` (``Front_Center.wav`` ...; 48 kHz mono);
* ``music``: harmonic notes with envelopes, chords, and drum hits (kick, snare, hat, clicks);
* ``noise``: white, pink or brown noise, band-passed, steady or in bursts.

Which sentences and which recordings a split may use is fixed (``SPLIT_TEXTS`` and
``SPLIT_RECORDINGS``), so the test split never hears material from the training split.
Where ``espeak-ng`` or the recordings are missing the other kinds stand in, with one
warning.  Every signal is float32, levelled to ``LEVEL_RMS`` (RMS over its active parts).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
from scipy import signal as sps

from .types import SAMPLE_RATE

LEVEL_RMS = 0.05  # about -26 dBFS: room for close sources and HRIR gain without clipping
KINDS = ("speech", "recorded", "music", "noise")
KIND_WEIGHTS = (0.35, 0.15, 0.3, 0.2)
CACHE_ENV = "DREAMDECK_CACHE_DIR"
ALSA_DIR = Path("/usr/share/sounds/alsa")

_SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Turn the lights down low and let the bass roll through the room.",
    "Every Friday night the club fills up before the headliner arrives.",
    "She placed the microphone in the middle of the stage and stepped back.",
    "Seven silver ships sailed slowly south across the shallow sea.",
    "Can you hear me on the left side, or only on the right?",
    "Please keep your tickets ready at the door, thank you.",
    "A gentle rain fell on the tin roof while the band tuned up.",
    "Numbers one, two, three, four, five, six, seven, eight, nine, ten.",
    "The projector hums softly as the visuals bloom across the wall.",
    "We are testing the sound system, check one, check two.",
    "Bright colours spin around the dancers in the smoky hall.",
    "Good evening everyone, welcome to the late show.",
    "Sound travels at about three hundred and forty metres per second.",
    "Hold the note, then let it fade into the echo of the hall.",
    "The drummer counted in and the whole crowd started to move.",
    "Where did you leave the cables after the sound check?",
    "Listen closely, the whisper comes from somewhere behind you.",
    "Midnight arrives, the strobe lights flicker, and the music swells.",
    "I will meet you by the bar when the set is over.",
    "Clouds drift over the mountains as the sun goes down.",
    "The announcer read the names of the winners one by one.",
    "Quiet please, the performance is about to begin.",
    "Every sound in the room reflects from the walls and the ceiling.",
    "My favourite song always plays just as I leave the party.",
    "A violin and a cello answered each other across the stage.",
    "The train to the city leaves from platform nine at seven.",
    "Jump to the left, then spin around and clap your hands.",
    "Warm air rises from the crowd towards the glowing ceiling.",
    "Thank you all for coming, drive home safely tonight.",
)
SPLIT_TEXTS = {"train": range(0, 20), "val": range(20, 24), "test": range(24, 30)}
_RECORDINGS = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
               "Rear_Right", "Side_Left", "Side_Right")
SPLIT_RECORDINGS = {"train": _RECORDINGS[:6], "val": _RECORDINGS[6:7], "test": _RECORDINGS[7:]}
_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2")


def cache_dir() -> Path:
    """Where rendered speech is kept: ``$DREAMDECK_CACHE_DIR`` or the platform's user cache."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("DreamDeck", appauthor=False))


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def recordings_available(split: str = "train") -> bool:
    return all((ALSA_DIR / f"{n}.wav").is_file() for n in SPLIT_RECORDINGS[split])


@functools.lru_cache(maxsize=1)
def _warn_missing() -> None:
    missing = [w for w, ok in (("espeak-ng (apt install espeak-ng)", espeak_available()),
                               (f"the alsa-utils recordings in {ALSA_DIR}", recordings_available())) if not ok]
    if missing:
        warnings.warn(f"binaural training data: {' and '.join(missing)} not found; using the other source kinds",
                      RuntimeWarning, stacklevel=3)


def level(x: np.ndarray, rms: float = LEVEL_RMS) -> np.ndarray:
    """Scale ``x`` so the RMS of its active part (frames within 30 dB of the loudest) is ``rms``."""
    x = np.asarray(x, dtype=np.float64)
    frame = 480
    n = len(x) // frame * frame
    if n == 0:
        p = float(np.mean(x**2)) if len(x) else 0.0
    else:
        e = np.mean(x[:n].reshape(-1, frame) ** 2, axis=1)
        p = float(np.mean(e[e > e.max() * 1e-3])) if e.max() > 0 else 0.0
    if p <= 1e-20:
        return x.astype(np.float32)
    return (x * (rms / np.sqrt(p))).astype(np.float32)


def _fit(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random n-sample stretch of ``x`` (zero-padded at a random place where ``x`` is shorter)."""
    if len(x) >= n:
        start = int(rng.integers(0, len(x) - n + 1))
        return x[start:start + n]
    out = np.zeros(n, dtype=x.dtype)
    start = int(rng.integers(0, n - len(x) + 1))
    out[start:start + len(x)] = x
    return out


# ---------------------------------------------------------------- speech


def _espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """One utterance at 48 kHz, from the cache or freshly rendered (levelled, float32)."""
    key = hashlib.sha1(f"{text}|{voice}|{speed}|{pitch}".encode()).hexdigest()[:16]
    path = cache_dir() / "speech" / f"{key}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="dd-espeak-") as tmp:
        wav = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                       check=True, capture_output=True, timeout=30)
        x, sr = sf.read(wav, dtype="float64", always_2d=True)
    x = x[:, 0]
    if sr != SAMPLE_RATE:
        g = np.gcd(sr, SAMPLE_RATE)
        x = sps.resample_poly(x, SAMPLE_RATE // g, sr // g)
    y = level(x)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(part, y)
        os.replace(part, path)
    except OSError:
        pass  # a read-only cache only costs time
    return y


def speech(rng: np.random.Generator, n: int, split: str) -> np.ndarray:
    texts = list(SPLIT_TEXTS[split])
    text = _SENTENCES[texts[int(rng.integers(len(texts)))]]
    voice = f"{_VOICES[int(rng.integers(len(_VOICES)))]}+{_VARIANTS[int(rng.integers(len(_VARIANTS)))]}"
    y = _espeak(text, voice, speed=int(rng.integers(120, 211)), pitch=int(rng.integers(20, 81)))
    return _fit(y, n, rng)


@functools.lru_cache(maxsize=16)
def _recording(name: str) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(ALSA_DIR / f"{name}.wav", dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if sr != SAMPLE_RATE:
        g = np.gcd(sr, SAMPLE_RATE)
        x = sps.resample_poly(x, SAMPLE_RATE // g, sr // g)
    return level(x)


def recorded(rng: np.random.Generator, n: int, split: str) -> np.ndarray:
    names = SPLIT_RECORDINGS[split]
    y = _recording(names[int(rng.integers(len(names)))])
    if rng.random() < 0.5:  # a little speed/pitch change (resampling) for variety
        up = int(rng.integers(90, 111))
        y = sps.resample_poly(y, up, 100).astype(np.float32)
    return _fit(y, n, rng)


# ---------------------------------------------------------------- music-like


def _envelope(n: int, attack: float, decay: float, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    a = np.minimum(1.0, t / max(attack, 1e-4))
    return a * np.exp(-t / max(decay, 1e-3))


def _note(f0: float, n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A harmonic tone (wavetable of up to 24 partials) with an attack/decay envelope and vibrato."""
    size = 4096
    theta = np.arange(size) / size
    bright = rng.uniform(0.6, 1.6)
    ks = np.arange(1, min(24, int(0.45 * sr / f0)) + 1)
    table = (np.sin(2 * np.pi * np.outer(ks, theta) + rng.uniform(0, 2 * np.pi, (len(ks), 1))) / ks[:, None] ** bright).sum(0)
    t = np.arange(n) / sr
    freq = f0 * (1 + rng.uniform(0, 0.004) * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
    phase = np.cumsum(freq) / sr
    out = table[((phase % 1.0) * size).astype(np.int64) % size]
    return out * _envelope(n, rng.uniform(0.002, 0.08), rng.uniform(0.1, 1.2), sr)


def _drum(kind: int, n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    if kind == 0:  # kick: falling sine
        f = rng.uniform(45, 70) + rng.uniform(80, 200) * np.exp(-t / 0.03)
        return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.08, 0.25))
    if kind == 1:  # snare: noise and a tone
        noise = rng.standard_normal(n) * np.exp(-t / rng.uniform(0.05, 0.15))
        return 0.6 * noise + 0.5 * np.sin(2 * np.pi * rng.uniform(160, 240) * t) * np.exp(-t / 0.05)
    if kind == 2:  # hat: high-passed short noise
        b, a = sps.butter(2, rng.uniform(5000, 9000) / (sr / 2), "high")
        return sps.lfilter(b, a, rng.standard_normal(n)) * np.exp(-t / rng.uniform(0.01, 0.06))
    click = np.zeros(n)  # click / rimshot
    click[: int(rng.integers(1, 24))] = rng.choice([-1.0, 1.0])
    return click


def music(rng: np.random.Generator, n: int, split: str = "train", sr: int = SAMPLE_RATE) -> np.ndarray:
    out = np.zeros(n)
    style = int(rng.integers(3))  # 0 melody, 1 chords, 2 drums (+ bass)
    bpm = rng.uniform(80, 160)
    beat = int(sr * 60 / bpm / (2 if style != 1 else 1))
    if style in (0, 1):
        root = rng.uniform(40, 76)
        scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16])
        pos = int(rng.integers(0, beat))
        while pos < n:
            length = min(n - pos, beat * int(rng.integers(1, 4)) + int(rng.integers(0, sr // 5)))
            degrees = [int(rng.integers(len(scale)))] if style == 0 else [0, 2, 4] + ([6] if rng.random() < 0.4 else [])
            base = int(rng.integers(0, 5))
            for d in degrees:
                midi = root + scale[(base + d) % len(scale)] + (12 if (base + d) >= len(scale) else 0)
                out[pos:pos + length] += _note(440 * 2 ** ((midi - 69) / 12), length, rng, sr) / len(degrees) ** 0.5
            pos += length if style == 1 else beat * int(rng.integers(1, 3))
    if style == 2 or rng.random() < 0.3:
        pattern = rng.integers(0, 4, size=16)
        hit = 0
        for pos in range(int(rng.integers(0, beat)), n, beat):
            k = int(pattern[hit % 16])
            hit += 1
            if rng.random() < 0.15:
                continue
            length = min(n - pos, sr // 2)
            out[pos:pos + length] += rng.uniform(0.4, 1.0) * _drum(k, length, rng, sr)
    return level(out)


# ---------------------------------------------------------------- noise


def noise(rng: np.random.Generator, n: int, split: str = "train", sr: int = SAMPLE_RATE) -> np.ndarray:
    colour = int(rng.integers(3))  # white, pink, brown
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    f[0] = f[1]
    spec *= f ** (-0.5 * colour)
    x = np.fft.irfft(spec, n)
    if rng.random() < 0.5:
        lo = rng.uniform(50, 2000)
        hi = min(lo * rng.uniform(2, 20), 0.45 * sr)
        x = sps.sosfilt(sps.butter(2, [lo, hi], "band", fs=sr, output="sos"), x)
    if rng.random() < 0.5:  # bursts
        gate = np.zeros(n)
        pos = int(rng.integers(0, sr // 10))
        while pos < n:
            length = int(rng.uniform(0.02, 0.3) * sr)
            gate[pos:pos + length] = np.hanning(min(length, n - pos) * 2 + 2)[1:-1][: min(length, n - pos)] ** 0.25
            pos += length + int(rng.uniform(0.02, 0.4) * sr)
        x *= gate
    return level(x)


_MAKERS = {"speech": speech, "recorded": recorded, "music": music, "noise": noise}


def available_kinds(split: str = "train") -> tuple[str, ...]:
    kinds = [k for k in KINDS if (k != "speech" or espeak_available()) and (k != "recorded" or recordings_available(split))]
    return tuple(kinds)


def source_signal(seed: int, seconds: float, split: str = "train", kind: str | None = None,
                  sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, str]:
    """``(mono, kind)``: ``seconds`` of float32 source material drawn from ``seed``.

    ``kind`` picks one of ``KINDS``; None draws one (weights ``KIND_WEIGHTS``) among those
    available here.  ``split`` chooses which sentences/recordings speech may use.
    """
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"source material is made at {SAMPLE_RATE} Hz")
    rng = np.random.default_rng([seed, 0x5EED])
    n = int(round(seconds * sample_rate))
    kinds = available_kinds(split)
    if len(kinds) < len(KINDS):
        _warn_missing()
    if kind is None:
        w = np.array([KIND_WEIGHTS[KINDS.index(k)] for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    elif kind not in kinds:
        raise ValueError(f"source kind {kind!r} is not available here (have {', '.join(kinds)})")
    x = _MAKERS[kind](rng, n, split)
    return np.ascontiguousarray(x, dtype=np.float32), kind
