"""MIDI mapping files are read with the presets' limits (app.json_file): regular files only,
at most 1 MB, JSON nested at most 64 levels; every refusal is one line that says what to do."""

from __future__ import annotations

import os
import threading

import pytest

from app.midi import MappingFileError, read_mappings
from app.midi.mapping_file import parse_mappings

ONE_MAPPING = '{"schema_version": 1, "mappings": [{"type": "cc", "channel": 1, "control": 7, "param": "strength"}]}'


def refusal(store, path) -> str:
    with pytest.raises(MappingFileError) as e:
        read_mappings(path, store)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


def test_a_deeply_nested_file_is_one_line_not_a_recursion_error(store, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert "nested more than 64 levels" in refusal(store, path)
    modest = tmp_path / "modest.json"  # within the recursion limit but past the depth limit
    modest.write_text('{"schema_version": 1, "mappings": ' + "[" * 100 + "]" * 100 + "}")
    assert "nested more than 64 levels" in refusal(store, modest)
    with pytest.raises(MappingFileError, match="nested more than 64 levels"):
        parse_mappings("[" * 200_000, store, origin="pasted text")


def test_a_device_is_refused_without_reading_it(store):
    msg = refusal(store, "/dev/zero")
    assert "is a device, not a file" in msg and "MIDI mappings JSON file" in msg, msg


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(store, tmp_path):
    fifo = tmp_path / "mappings.json"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            read_mappings(fifo, store)
        except MappingFileError as e:
            outcome.append(str(e))

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(10)  # generous: the refusal needs no writer at all
    if reader.is_alive():  # blocked on the pipe: open it for writing once so the reader ends
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        reader.join(5)
        pytest.fail("reading MIDI mappings from a named pipe waited for a writer")
    assert outcome and "named pipe" in outcome[0] and "\n" not in outcome[0], outcome


def test_a_folder_is_refused(store, tmp_path):
    assert "is a folder, not a file" in refusal(store, tmp_path)


def test_a_file_over_a_megabyte_is_refused_by_its_size(store, tmp_path):
    path = tmp_path / "big.json"
    path.write_text(ONE_MAPPING + " " * 1_000_000)
    msg = refusal(store, path)
    assert "the most DreamDeck reads is 1000000 bytes" in msg and "right file" in msg, msg
    path.write_text(ONE_MAPPING + " " * (1_000_000 - len(ONE_MAPPING)))  # at the limit: read
    assert [m.param for m in read_mappings(path, store)] == ["strength"]


def test_midi_load_prints_one_line_for_a_device(tmp_path, monkeypatch, capsys):
    from app.cli import main

    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path / "data"))
    assert main(["midi", "load", "/dev/zero"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "/dev/zero is a device" in err, err
    assert not (tmp_path / "data" / "midi_mappings.json").exists()
