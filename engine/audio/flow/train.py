"""Training the flow model on simulated rooms (``dreamdeck train-binaural``).

Data: :func:`engine.audio.simulate.split_arrays` ("train" to learn, "val" to report;
the "test" split is never read here).  Each epoch: shuffled batches of whole
examples through the offline (whole-sequence) forward -- the streaming renderer
computes exactly the same thing block by block -- then the paper's metrics on the
validation examples next to the anechoic HRTF render, a resumable checkpoint
(``checkpoint.safetensors`` with the weights and Adam moments, ``checkpoint.json`` with
the counters, the history and the settings, both written atomically) and the weights
with their recipe (``binauralflow.safetensors``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...atomic_file import write_atomic as write_text_atomic, write_bytes_atomic
from .model import FlowConfig, FlowModel, pose_features, room_features, save_weights
from .stft import stft

CHECKPOINT = "checkpoint.safetensors"
STATE = "checkpoint.json"
WEIGHTS = "binauralflow.safetensors"


class TrainError(RuntimeError):
    """A training run cannot start or resume; the message says what to do."""


@dataclass
class TrainSettings:
    out: str = "binauralflow-run"
    epochs: int = 10
    examples: int = 800
    val_examples: int = 48
    seconds: float = 1.0
    batch: int = 8
    lr: float = 2e-3
    seed: int = 0
    data_seed: int = 0
    threads: int = 1
    max_steps: int = 0  # per epoch, 0 = all (short runs in tests)
    calibrate: bool = True  # choose NFE and stop time on the validation split after the last epoch
    config: dict = field(default_factory=dict)  # FlowConfig overrides
    command: str = ""


@dataclass
class Data:
    anechoic: torch.Tensor  # (B, 2, n): the HRTF renderer's output, the baseline
    target: torch.Tensor
    pose: torch.Tensor  # (B, 20 or 29): pose features and the room descriptor
    prior: torch.Tensor | None = None  # (B, 2, n): the flow's prior (anechoic + the room's image sources)

    def cond(self, idx) -> torch.Tensor:
        return (self.anechoic if self.prior is None else self.prior)[idx]


def load_split(split: str, count: int, seconds: float, seed: int, progress: Callable[[str, int, int], None] | None = None,
               chunk: int = 16, config: FlowConfig | None = None) -> Data:
    """Examples ``0 .. count`` of ``split`` with the model's conditioning (pose features, and the
    room descriptor of each example's room when the config asks) and its prior (anechoic render
    plus the room's image sources up to ``config.prior_order``)."""
    from ..simulate import example
    from ..types import relative_direction
    from .prior import prior_offline

    cfg = config or FlowConfig()
    exs = []
    for i in range(count):
        exs.append(example(split, i, seconds, seed))
        if progress and ((i + 1) % chunk == 0 or i + 1 == count):
            progress(f"simulate {split}", i + 1, count)
    dirs = np.array([relative_direction(e.source, e.listener) for e in exs], dtype=np.float32).reshape(-1, 3)
    flag = torch.tensor([e.room_amount for e in exs], dtype=torch.float32)
    pose = pose_features(*(torch.from_numpy(np.ascontiguousarray(dirs[:, k])) for k in range(3)), flag)
    if cfg.room_descriptor:
        pose = torch.cat([pose, room_features([e.room if e.room_amount > 0 else None for e in exs])], dim=1)
    prior = np.stack([prior_offline(e.mono, e.source, e.listener, e.room, cfg.prior_order) if e.room_amount > 0 else e.anechoic
                      for e in exs])

    def t(x):
        return torch.from_numpy(np.ascontiguousarray(x)).transpose(1, 2).contiguous()

    return Data(t(np.stack([e.anechoic for e in exs])), t(np.stack([e.target for e in exs])), pose, t(prior))


def evaluate(model: FlowModel, data: Data, nfe: int | None = None) -> dict[str, float]:
    """Mean L2 / magnitude / phase distance of the flow render (aligned offline) and of the anechoic render."""
    from ..metrics import binaural_metrics, mean_metrics
    from .stft import istft, stft_latency

    cfg = model.config
    lat = stft_latency(cfg.n_fft, cfg.hop)
    flow_rows, hrtf_rows = [], []
    model.eval()
    with torch.inference_mode():
        for i in range(data.anechoic.shape[0]):
            x = torch.cat([data.cond(i), torch.zeros(2, lat)], dim=-1)
            spec = model.flow(stft(x, cfg.n_fft, cfg.hop)[None], data.pose[i : i + 1], nfe)[0]
            y = istft(spec, x.shape[-1], cfg.n_fft, cfg.hop)[:, lat:].T.numpy()
            t = data.target[i].T.numpy()
            flow_rows.append(binaural_metrics(y, t))
            hrtf_rows.append(binaural_metrics(data.anechoic[i].T.numpy(), t))
    f, h = mean_metrics(flow_rows), mean_metrics(hrtf_rows)
    return {**{f"flow_{k}": v for k, v in f.items()}, **{f"hrtf_{k}": v for k, v in h.items()}}


def calibrate(model: FlowModel, data: Data, nfe: int = 3, t_ends=(0.1, 0.25, 0.5, 1.0),
              log: Callable[[str], None] = print) -> tuple[FlowModel, list[dict]]:
    """Choose where the flow stops (``t_end``) on validation data, at a fixed NFE.

    NFE 3 (early-skip Euler + one midpoint step) keeps the real-time factor near 0.2 at the
    live block (NFE 5 measures 0.25-0.29, too close to the 0.3 budget).  Score: flow
    L2 / HRTF L2 + flow magnitude / HRTF magnitude (lower is better).  The prior alone
    (t_end = 0, no network) is measured as a reference row, never chosen: the flow runs.
    Returns the model with the chosen settings in its config, and the table."""
    import dataclasses

    rows = []
    base = model.config
    for t_end in (0.0, *t_ends):
        model.config = dataclasses.replace(base, nfe=nfe, t_end=t_end)
        m = evaluate(model, data)
        score = m["flow_l2"] / m["hrtf_l2"] + m["flow_mag"] / m["hrtf_mag"]
        rows.append({"nfe": nfe, "t_end": t_end, "score": score, **m})
        log(f"calibrate: nfe {nfe} t_end {t_end:.2f}{' (prior alone)' if t_end == 0 else ''}: L2 x1e3 {m['flow_l2'] * 1e3:.4f} / "
            f"{m['hrtf_l2'] * 1e3:.4f}  mag {m['flow_mag']:.4f} / {m['hrtf_mag']:.4f}  score {score:.4f}")
    best = min((r for r in rows if r["t_end"] > 0), key=lambda r: r["score"])
    model.config = dataclasses.replace(base, nfe=nfe, t_end=best["t_end"])
    return model, rows


def _save_checkpoint(out: Path, model: FlowModel, opt: torch.optim.Optimizer, state: dict) -> None:
    from safetensors.torch import save

    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    tensors[f"opt.{names[id(p)]}.{key}"] = st[key].contiguous()
            if "step" in st:
                tensors[f"opt.{names[id(p)]}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    write_bytes_atomic(out / CHECKPOINT, save(tensors, metadata={"format": "dreamdeck-binauralflow-checkpoint"}))
    write_text_atomic(out / STATE, json.dumps(state, indent=1, sort_keys=True))  # written last: it names a whole checkpoint


def _load_checkpoint(out: Path, model: FlowModel, opt: torch.optim.Optimizer) -> dict:
    from safetensors.torch import load_file

    try:
        state = json.loads((out / STATE).read_text())
        tensors = load_file(str(out / CHECKPOINT))
    except (OSError, ValueError) as e:
        raise TrainError(f"cannot resume from {out}: {e}; start a new run without --resume") from None
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    params = dict(model.named_parameters())
    for name, p in params.items():
        if f"opt.{name}.exp_avg" in tensors:
            opt.state[p] = {"exp_avg": tensors[f"opt.{name}.exp_avg"].clone(), "exp_avg_sq": tensors[f"opt.{name}.exp_avg_sq"].clone(),
                            "step": tensors[f"opt.{name}.step"].reshape(()).clone()}
    return state


def train(s: TrainSettings, progress: Callable[[str, int, int], None] | None = None, log: Callable[[str], None] = print,
          cancel: threading.Event | None = None) -> dict:
    """Run (or resume) the training described by ``s``; returns the final state (history included)."""
    with torch.enable_grad():  # whatever the caller's grad mode (the engine runs with grad off)
        return _train(s, progress, log, cancel)


def _train(s: TrainSettings, progress, log, cancel) -> dict:
    torch.set_num_threads(max(1, s.threads))
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    resume = (out / STATE).is_file()
    if resume:
        saved = json.loads((out / STATE).read_text())
        keep = saved["settings"]
        for k in ("examples", "val_examples", "seconds", "batch", "lr", "seed", "data_seed", "config", "max_steps"):
            setattr(s, k, keep[k])  # a resumed run continues the same recipe; only --epochs / --threads change
    cfg = FlowConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in s.config.items()})
    torch.manual_seed(s.seed)
    model = FlowModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=1e-4)
    state = {"epoch": 0, "step": 0, "history": [], "seconds_trained": 0.0}
    if resume:
        state = _load_checkpoint(out, model, opt)
        log(f"resuming {out} after epoch {state['epoch']}")
    state["settings"] = asdict(s)

    t0 = time.perf_counter()
    train_data = load_split("train", s.examples, s.seconds, s.data_seed, progress, config=cfg)
    val_data = load_split("val", s.val_examples, s.seconds, s.data_seed, progress, config=cfg)
    log(f"data: {s.examples} train / {s.val_examples} val examples of {s.seconds:g} s in {time.perf_counter() - t0:.0f} s")

    n = train_data.anechoic.shape[0]
    per_epoch = math.ceil(n / s.batch)
    if s.max_steps:
        per_epoch = min(per_epoch, s.max_steps)
    total = per_epoch * s.epochs
    for epoch in range(state["epoch"], s.epochs):
        model.train()
        gen = torch.Generator().manual_seed(s.seed * 1000 + epoch)  # the epoch's order and noise: a resumed run repeats them
        order = torch.randperm(n, generator=gen)
        te = time.perf_counter()
        losses = []
        for i in range(per_epoch):
            if cancel is not None and cancel.is_set():
                log("cancelled; the last whole epoch is in the checkpoint")
                return state
            lr = s.lr * 0.5 * (1 + math.cos(math.pi * state["step"] / max(1, total)))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = order[i * s.batch : (i + 1) * s.batch]
            cond = stft(train_data.cond(idx), cfg.n_fft, cfg.hop)
            target = stft(train_data.target[idx], cfg.n_fft, cfg.hop)
            loss = model.loss(cond, target, train_data.pose[idx], gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state["step"] += 1
            losses.append(loss.item())
            if progress:
                progress(f"epoch {epoch + 1}/{s.epochs} loss {np.mean(losses[-20:]):.4f}", i + 1, per_epoch)
        state["seconds_trained"] += time.perf_counter() - te
        metrics = evaluate(model, val_data)
        state["epoch"] = epoch + 1
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)), **{f"val_{k}": v for k, v in metrics.items()}})
        log(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}  val L2 x1e3 flow {metrics['flow_l2'] * 1e3:.4f} / hrtf {metrics['hrtf_l2'] * 1e3:.4f}"
            f"  mag {metrics['flow_mag']:.4f} / {metrics['hrtf_mag']:.4f}  phase {metrics['flow_phase']:.3f} / {metrics['hrtf_phase']:.3f}"
            f"  ({time.perf_counter() - te:.0f} s)")
        _save_checkpoint(out, model, opt, state)
        recipe = {"command": s.command, "settings": asdict(s), "epochs_done": state["epoch"], "steps": state["step"],
                  "train_seconds": round(state["seconds_trained"], 1), "final_val": state["history"][-1]}
        save_weights(model, out / WEIGHTS, recipe)
    if state["epoch"] >= s.epochs and s.calibrate:
        model, table = calibrate(model, val_data, log=log)
        state["calibration"] = table
        recipe = {"command": s.command, "settings": asdict(s), "epochs_done": state["epoch"], "steps": state["step"],
                  "train_seconds": round(state["seconds_trained"], 1), "final_val": state["history"][-1],
                  "calibrated": {"nfe": model.config.nfe, "t_end": model.config.t_end}}
        save_weights(model, out / WEIGHTS, recipe)
        log(f"calibrated: nfe {model.config.nfe}, t_end {model.config.t_end}")
    return state
