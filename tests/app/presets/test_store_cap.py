"""The presets folder holds at most MAX_PRESETS user presets, and its listing is cached."""

from __future__ import annotations

import os
import socket

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from app.presets import PresetError, PresetStore
from app.presets import store as store_module

SETTLED = 1_600_000_000  # a folder mtime long past (2020): the cache may trust it


def write_presets(folder, names) -> None:
    """Preset files as another program (or an older session) left them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.json").write_text('{"schema_version": 2, "name": "x", "values": {}}')


def test_the_folder_takes_at_most_a_thousand_user_presets(presets):
    assert store_module.MAX_PRESETS == 1000
    write_presets(presets.directory, [f"look {i:04d}" for i in range(1000)])
    with pytest.raises(PresetError) as e:
        presets.save("one too many", {"strength": 0.3})
    msg = str(e.value)
    assert "\n" not in msg and "1000 presets" in msg and "delete some" in msg, msg
    assert not (presets.directory / "one too many.json").exists()
    presets.save("look 0001", {"strength": 0.3})  # saving over an existing one still works
    assert presets.load("look 0001").values == {"strength": 0.3}


def test_a_deleted_preset_makes_room_again(tmp_path, store):
    presets = PresetStore(tmp_path / "presets", shipped_directory=None, params=store.params, max_presets=2)
    presets.save("a", {"strength": 0.3})
    presets.save("b", {"strength": 0.4})
    with pytest.raises(PresetError, match="at most 2"):
        presets.save("c", {"strength": 0.5})
    presets.rename("b", "bb")  # a rename adds nothing
    presets.delete("a")
    presets.save("c", {"strength": 0.5})
    assert presets.names() == ["bb", "c"]


def test_saves_over_osc_stop_at_the_cap_and_are_counted(store, tmp_path):
    from app.osc import OscServer
    from app.show_control import ShowControl

    folder = tmp_path / "presets"
    show = ShowControl(store, presets=PresetStore(folder, shipped_directory=None, params=store.params, max_presets=3))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        with OscServer(store, show, port=0) as srv:
            for i in range(5):
                b = OscMessageBuilder(address="/dreamdeck/preset/save")
                b.add_arg(f"look {i}")
                sock.sendto(b.build().dgram, srv.address)
            sock.sendto(OscMessageBuilder(address="/dreamdeck/strength/get").build().dgram, srv.address)
            sock.settimeout(10)
            sock.recv(65535)  # answered after the five saves: they are all handled
            assert srv.stats["actions"] == 3 and srv.stats["action_refused"] == 2, srv.stats
        assert sorted(p.name for p in folder.iterdir()) == ["look 0.json", "look 1.json", "look 2.json"]
    finally:
        sock.close()


def test_the_listing_is_read_once_while_the_folder_does_not_change(presets, monkeypatch):
    write_presets(presets.directory, ["a", "b"])
    os.utime(presets.directory, ns=(SETTLED * 10**9, SETTLED * 10**9))
    scans = []
    real = os.scandir
    monkeypatch.setattr(store_module.os, "scandir", lambda p: scans.append(p) or real(p))
    presets.names().append("intruder")  # a listing handed out is the caller's own copy
    assert presets.names() == ["a", "b"] and [i.name for i in presets.list()] == ["a", "b"]
    assert len(scans) == 1, scans  # the second and third listings cost a stat, not a scan

    presets.save("c", {"strength": 0.3})  # this store wrote: read again
    assert presets.names() == ["a", "b", "c"]
    presets.delete("a")
    assert presets.names() == ["b", "c"]

    write_presets(presets.directory, ["d"])  # another program wrote: the folder's mtime moved
    assert presets.names() == ["b", "c", "d"]
    (presets.directory / "b.json").unlink()
    assert presets.names() == ["c", "d"]

