"""``dreamdeck bench --audio --json`` on a tiny configuration (app/bench_audio.py)."""

from __future__ import annotations

import json

from app.cli import main

KEYS = ("hrtf_rtf", "flow_rtf", "hrtf_l2", "flow_l2", "hrtf_mag", "flow_mag", "hrtf_phase", "flow_phase",
        "head_rtf", "head_l2", "head_mag", "head_phase", "hrtf_room_l2", "flow_prior_l2", "flow_prior_mag")


def test_bench_audio_json_has_the_required_keys(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMDECK_CACHE_DIR", str(tmp_path / "cache"))
    rc = main(["bench", "--audio", "--json", "--audio-examples", "3", "--audio-seconds", "0.3",
               "--audio-example-seconds", "0.2"])
    assert rc == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    for k in KEYS:
        assert k in report, k
    assert 0 < report["hrtf_rtf"] < 10 and report["hrtf_l2"] >= 0 and report["hrtf_mag"] >= 0
    assert 0 <= report["hrtf_phase"] <= 3.1416
    if report["flow_rtf"] is None:  # no trained weights here: said so on stderr
        assert "flow: unavailable" in err
        assert report["flow_l2"] is None
    else:
        assert report["flow_l2"] >= 0
    assert "L2 x1e3" in err


def test_bench_audio_excludes_other_modes(capsys):
    assert main(["bench", "--audio", "--power"]) != 0
    assert "choose one of" in capsys.readouterr().err
