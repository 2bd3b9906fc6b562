"""The environment for a console started in its own process by a test.

The MIDI tests run a private JACK server (tests/app/midi/conftest.py) and point JACK clients at it through
JACK_DEFAULT_SERVER.  A console process must never join it: PortAudio's and rtmidi's JACK clients would, and a
console killed on purpose (SIGKILL) would leave a dead client that a synchronous JACK server waits for, so the
next console hangs at start.  Consoles here take MIDI from ALSA only and no JACK server is started for them.
"""

import os


def console_env(**extra: str) -> dict:
    env = dict(os.environ, JACK_NO_START_SERVER="1", DREAMDECK_MIDI_API="LINUX_ALSA", HF_HUB_OFFLINE="1")
    env.pop("JACK_DEFAULT_SERVER", None)
    env.update(extra)
    return env
