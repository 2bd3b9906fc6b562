"""``dreamdeck train-binaural``: train the flow renderer's model on simulated rooms.

Progress on stderr (tqdm), one line of validation metrics per epoch, a resumable
checkpoint after every epoch in ``--out`` and the weights with their recipe
(``--out/binauralflow.safetensors``; copy it to ``engine/audio/data/`` to ship it).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from .errors import UserError


def add_train_binaural_parser(sub) -> None:
    t = sub.add_parser("train-binaural", help="train the flow (BinauralFlow-style) audio renderer on simulated rooms")
    t.add_argument("--out", default="binauralflow-run", help="folder for checkpoints and weights (default %(default)s)")
    t.add_argument("--epochs", type=int, default=6, help="total epochs (default %(default)s)")
    t.add_argument("--examples", type=int, default=800, help="training examples simulated (default %(default)s)")
    t.add_argument("--val-examples", type=int, default=48, help="validation examples (default %(default)s)")
    t.add_argument("--seconds", type=float, default=1.0, help="length of each example (default %(default)s)")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--seed", type=int, default=0, help="weights, order and noise seed (default %(default)s)")
    t.add_argument("--data-seed", type=int, default=0, help="simulation seed (default %(default)s)")
    t.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default %(default)s)")
    t.add_argument("--max-steps", type=int, default=0, help="cap on steps per epoch (0: whole epochs)")
    t.add_argument("--prior-order", type=int, default=1,
                   help="image-source order of the prior's room reflections (0: anechoic prior; default %(default)s)")
    t.add_argument("--no-room-descriptor", dest="room_descriptor", action="store_false",
                   help="condition on the pose only, not on the room's geometry")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--quiet", "-q", action="store_true")
    t.set_defaults(func=cmd_train_binaural)


def _command(a: argparse.Namespace) -> str:
    """The command line that reproduces this run (every recipe option spelled out)."""
    parts = ["dreamdeck", "train-binaural", "--out", a.out]
    for name in ("epochs", "examples", "val_examples", "seconds", "batch", "lr", "seed", "data_seed", "threads", "max_steps"):
        parts += [f"--{name.replace('_', '-')}", str(getattr(a, name))]
    parts += ["--prior-order", str(getattr(a, "prior_order", 1))]
    if not getattr(a, "room_descriptor", True):
        parts.append("--no-room-descriptor")
    return shlex.join(parts)


def cmd_train_binaural(a: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from engine.audio.flow.train import STATE, TrainError, TrainSettings, train

    for name in ("epochs", "examples", "val_examples", "batch", "threads"):
        if getattr(a, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1; got {getattr(a, name)}")
    if getattr(a, "prior_order", 1) < 0:
        raise UserError(f"--prior-order must be 0 or more; got {a.prior_order}")
    out = Path(a.out)
    if (out / STATE).is_file() and not a.resume:
        raise UserError(f"{out} already holds a training run: add --resume to continue it, or choose another --out")
    if a.resume and not (out / STATE).is_file():
        raise UserError(f"nothing to resume in {out} (no {STATE}); run without --resume to start")
    s = TrainSettings(out=str(out), epochs=a.epochs, examples=a.examples, val_examples=a.val_examples, seconds=a.seconds,
                      batch=a.batch, lr=a.lr, seed=a.seed, data_seed=a.data_seed, threads=a.threads, max_steps=a.max_steps,
                      config={"prior_order": int(getattr(a, "prior_order", 1)),
                              "room_descriptor": bool(getattr(a, "room_descriptor", True))},
                      command=_command(a))
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if a.quiet:
            return
        key = stage.split(" loss")[0]
        bar = bars.get(key)
        if bar is None:
            for old in bars.values():
                old.close()
            bars.clear()
            bar = bars[key] = tqdm(total=total, desc=key, file=sys.stderr, leave=False, disable=not sys.stderr.isatty())
        bar.set_description(stage, refresh=False)
        bar.update(done - bar.n)

    def log(line: str) -> None:
        if not a.quiet:
            tqdm.write(line, file=sys.stdout)

    try:
        state = train(s, progress, log)
    except TrainError as e:
        raise UserError(str(e)) from None
    finally:
        for bar in bars.values():
            bar.close()
    if not a.quiet:
        print(f"done: {state['epoch']} epochs; weights in {out / 'binauralflow.safetensors'}")
    return 0
