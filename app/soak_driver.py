"""The soak run's control surface: another process sending OSC the way a tablet does.

``python -m app.soak_driver --port P --seconds S`` moves faders (strength, prompt and seed
weights) about 20 times a second, asks for values and the preset list now and then, runs
actions of the action table (next preset, freeze on and off) as a tablet's buttons do, and
counts what comes back on its own socket (answers) and on ``--listen`` (feedback).
It stops by itself after ``--seconds`` and prints one JSON line of counts. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import math
import select
import socket
import time

from pythonosc.osc_message_builder import OscMessageBuilder

RATE_HZ = 20.0
FADERS = ("/dreamdeck/strength", "/dreamdeck/prompt/1/weight", "/dreamdeck/prompt/2/weight", "/dreamdeck/seed/2/weight")


def message(address: str, *args) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def _drain(sock: socket.socket) -> int:
    n = 0
    while select.select([sock], [], [], 0)[0]:
        try:
            sock.recv(65535)
        except OSError:
            break
        n += 1
    return n


def run(port: int, seconds: float, listen: socket.socket | None = None, host: str = "127.0.0.1") -> dict:
    send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    send.bind(("127.0.0.1", 0))
    counts = {"sent": 0, "answers": 0, "feedback": 0}
    t0 = time.monotonic()
    k = 0
    try:
        while time.monotonic() - t0 < seconds:
            t = time.monotonic() - t0
            address = FADERS[k % len(FADERS)]
            low = 0.05 if address.endswith("strength") else 0.0
            value = low + (1.0 - low) * (0.5 + 0.5 * math.sin(t * 0.7 + k * 0.1))
            dgrams = [message(address, float(value))]
            if k % 20 == 0:
                dgrams.append(message("/dreamdeck/strength", "?"))
            if k % 100 == 0:
                dgrams.append(message("/dreamdeck/preset/list"))
            if k % 140 == 70:  # actions of the table, as a tablet's buttons send them
                dgrams.append(message("/dreamdeck/preset/next"))
            if k % 60 in (10, 15):  # on, then off a quarter of a second later
                dgrams.append(message("/dreamdeck/freeze/toggle"))
            for d in dgrams:
                send.sendto(d, (host, port))
                counts["sent"] += 1
            counts["answers"] += _drain(send)
            if listen is not None:
                counts["feedback"] += _drain(listen)
            k += 1
            time.sleep(max(0.0, t0 + k / RATE_HZ - time.monotonic()))
    finally:
        send.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.soak_driver")
    p.add_argument("--port", type=int, required=True, help="the show's OSC port on 127.0.0.1")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--listen", type=int, default=None, help="a port on 127.0.0.1 to receive feedback on")
    a = p.parse_args(argv)
    listen = None
    if a.listen is not None:
        listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listen.bind(("127.0.0.1", a.listen))
    try:
        print(json.dumps(run(a.port, a.seconds, listen)), flush=True)
    finally:
        if listen is not None:
            listen.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
