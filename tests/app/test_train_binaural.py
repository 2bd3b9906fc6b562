"""``dreamdeck train-binaural``: a short run writes a checkpoint, --resume continues it exactly."""

import json

import pytest
import torch
from safetensors.torch import load_file

from app.cli import main

ARGS = ["--examples", "4", "--val-examples", "2", "--seconds", "0.25", "--batch", "2", "--max-steps", "2", "--quiet"]


def run(out, epochs, *extra):
    return main(["train-binaural", "--out", str(out), "--epochs", str(epochs), *ARGS, *extra])


def test_two_step_run_writes_a_checkpoint_and_resume_continues_it(tmp_path, capsys, monkeypatch):
    a = tmp_path / "a"
    assert run(a, 1) == 0
    state = json.loads((a / "checkpoint.json").read_text())
    assert state["epoch"] == 1 and state["step"] == 2
    assert {"val_flow_l2", "val_hrtf_l2", "val_flow_mag", "val_flow_phase"} <= state["history"][0].keys()
    assert (a / "checkpoint.safetensors").is_file() and (a / "binauralflow.safetensors").is_file()
    assert any(k.endswith("exp_avg_sq") for k in load_file(str(a / "checkpoint.safetensors")))

    assert run(a, 1) == 2  # an existing run is not overwritten without --resume
    assert "--resume" in capsys.readouterr().err

    assert run(a, 2, "--resume") == 0
    state = json.loads((a / "checkpoint.json").read_text())
    assert state["epoch"] == 2 and state["step"] == 4 and len(state["history"]) == 2

    b = tmp_path / "b"  # two epochs in one go ...
    assert run(b, 2) == 0
    c = tmp_path / "c"  # ... and the same run stopped during epoch 2, then resumed: bit for bit the same weights
    import engine.audio.flow.train as train_mod

    real, calls = train_mod.evaluate, []

    def stop_in_second_epoch(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "evaluate", stop_in_second_epoch)
    assert run(c, 2) == 130
    assert json.loads((c / "checkpoint.json").read_text())["epoch"] == 1
    monkeypatch.setattr(train_mod, "evaluate", real)
    assert run(c, 2, "--resume") == 0
    wa, wb = load_file(str(c / "binauralflow.safetensors")), load_file(str(b / "binauralflow.safetensors"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

    from engine.audio.flow import load_weights
    from engine.audio.flow.model import read_metadata

    load_weights(b / "binauralflow.safetensors")
    recipe = json.loads(read_metadata(b / "binauralflow.safetensors")["recipe"])
    assert recipe["epochs_done"] == 2 and recipe["command"].startswith("dreamdeck train-binaural")
    assert "--prior-order 1" in recipe["command"] and load_weights(b / "binauralflow.safetensors").config.room_descriptor


def test_prior_order_and_room_descriptor_options_reach_the_model(tmp_path):
    from engine.audio.flow import load_weights

    assert run(tmp_path / "p", 1, "--prior-order", "0", "--no-room-descriptor") == 0
    cfg = load_weights(tmp_path / "p" / "binauralflow.safetensors").config
    assert cfg.prior_order == 0 and not cfg.room_descriptor


def test_resume_without_a_run_is_a_one_line_error(tmp_path, capsys):
    assert run(tmp_path / "none", 1, "--resume") == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to resume" in err and "\n" not in err


@pytest.mark.parametrize("flag", ["--epochs", "--examples"])
def test_bad_counts_are_user_errors(tmp_path, flag, capsys):
    args = ["train-binaural", "--out", str(tmp_path / "x"), *ARGS, flag, "0"]
    assert main(args) == 2
    assert "at least 1" in capsys.readouterr().err


def test_training_works_when_the_caller_has_gradients_off(tmp_path):
    """The engine (and the test session's tiny-model fixture) turn autograd off process-wide."""
    before = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        assert run(tmp_path / "g", 1) == 0
    finally:
        torch.set_grad_enabled(before)
