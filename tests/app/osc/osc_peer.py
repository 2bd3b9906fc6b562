"""An OSC peer in its own process (a same-process busy sender would starve the server of the GIL).

Usage: ``python osc_peer.py BIND_IP``.  It binds one UDP socket on BIND_IP (any port;
it sends from it and receives answers and feedback on it), prints ``{"port": N}`` and
then answers JSON-line commands on stdin with one JSON line each on stdout:

  {"op": "send", "to": [h, p], "address": a, "args": [...]}           -> {"ok": true}
  {"op": "bundle", "to": .., "messages": [[a, [..]], ..], "future": s}  -> {"ok": true}
  {"op": "recv", "timeout": s}                -> {"messages": [[a, [..]], ..]} | {"timeout": true}
  {"op": "fader", "to": .., "address": a, "n": N, "rate": Hz}          -> {"last": v, "t_last": monotonic}
  {"op": "fuzz", "to": .., "n": N, "seed": s}                          -> {"sent": N, "kinds": {...}}
  {"op": "quit"}

Arguments are JSON values: floats go as OSC f, ints as i, booleans as T/F, strings as s.
It uses python-osc only (no DreamDeck code), like a real control surface would.
"""

from __future__ import annotations

import json
import math
import random
import socket
import struct
import sys
import time

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

SYNC = "/dreamdeck/strength/get"


def message(address: str, args=(), types=None):
    b = OscMessageBuilder(address=address)
    for i, a in enumerate(args):
        b.add_arg(a, types[i] if types else None)
    return b.build()


def padded(text: str) -> bytes:
    data = text.encode() + b"\0"
    return data + b"\0" * (-len(data) % 4)


def bundle(messages, future: float = 0.0):
    b = OscBundleBuilder(time.time() + future if future else IMMEDIATELY)
    for m in messages:
        b.add_content(m)
    return b.build()


def decode(dgram: bytes):
    try:
        return [[tm.message.address, tm.message.params] for tm in OscPacket(dgram).messages]
    except Exception as e:  # the tests decide what an undecodable answer means
        return [["<undecodable>", [repr(e)]]]


def recv(sock, timeout: float):
    sock.settimeout(timeout)
    try:
        return decode(sock.recv(65535))
    except socket.timeout:
        return None


def fader(sock, to, address: str, n: int, rate: float):
    """n values from 0.02 up towards 1.0 at ``rate`` messages a second; the last one is exact in float32."""
    t0 = time.perf_counter()
    value = 0.0
    for i in range(n):
        due = t0 + i / rate
        while (wait := due - time.perf_counter()) > 0:
            time.sleep(wait if wait > 0.002 else 0)
        value = struct.unpack("f", struct.pack("f", 0.02 + 0.9 * (i + 1) / n))[0]
        sock.sendto(message(address, [value]).dgram, to)
    return {"last": value, "t_last": time.monotonic(), "seconds": time.perf_counter() - t0}


# -- fuzz -------------------------------------------------------------------------------
FLOATS = ["/dreamdeck/strength", "/dreamdeck/delta", "/dreamdeck/bpm", "/dreamdeck/prompt/2/weight", "/dreamdeck/fade_time"]
INTS = ["/dreamdeck/steps", "/dreamdeck/size", "/dreamdeck/seed/1/value", "/dreamdeck/max_skip_frame"]
BOOLS = ["/dreamdeck/blackout", "/dreamdeck/freeze", "/dreamdeck/similarity_filter"]
STRS = ["/dreamdeck/prompt/1/text", "/dreamdeck/negative_prompt", "/dreamdeck/model"]
CHOICES = ["/dreamdeck/guidance", "/dreamdeck/output_size", "/dreamdeck/fit_mode"]
ALL = FLOATS + INTS + BOOLS + STRS + CHOICES + ["/dreamdeck/tap"]


def fuzz_packet(r: random.Random) -> tuple[str, bytes]:
    kind = r.choice(["random", "truncated", "wrong_type", "bad_tags", "huge_string", "nan", "out_of_range",
                     "unknown", "future_bundle", "bad_bundle", "pattern"])
    if kind == "random":
        data = r.randbytes(r.randint(0, 300))
        if r.random() < 0.3:
            data = b"/" + data  # looks like a message
        elif r.random() < 0.2:
            data = b"#bundle\0" + data
        return kind, data
    if kind == "truncated":
        full = message(r.choice(ALL), [r.choice([0.5, 1, "x" * r.randint(1, 40)])]).dgram
        return kind, full[: r.randint(1, len(full) - 1)]
    if kind == "wrong_type":
        addr = r.choice(ALL + [a + "/norm" for a in FLOATS + INTS + BOOLS + CHOICES])
        args, types = r.choice([
            (["text"], None), ([b"\x00\x01blob"], None), ([None], None), ([2**40], "h"), ([0.5], "d"),
            ([(1, 2, 3, 4)], None), ([[1.0, 2.0]], None), ("timetag", None), ([1, 2], None), ([], None),
            ([0.5, "x", 3], None), ([r.random()], "f"),
        ])
        if args == "timetag":
            return kind, padded(addr) + padded(",t") + b"\0\0\0\0\0\0\0\1"
        return kind, message(addr, args, [types] * len(args) if types else None).dgram
    if kind == "bad_tags":
        tags = "," + "".join(r.choice("ifsXYZ@[]]Iqc") for _ in range(r.randint(1, 6)))
        return kind, padded(r.choice(ALL)) + padded(tags) + r.randbytes(4 * r.randint(0, 4))
    if kind == "huge_string":
        s = r.choice("ab\u00e9\u6f22") * r.randint(1001, 15000)
        return kind, message(r.choice(STRS + CHOICES + ["/dreamdeck/" + "x" * r.randint(100, 5000)]), [s]).dgram
    if kind == "nan":
        v = r.choice([math.nan, math.inf, -math.inf])
        addr = r.choice(FLOATS + INTS + [a + "/norm" for a in FLOATS + INTS + CHOICES])
        return kind, message(addr, [v], [r.choice(["f", "d"])]).dgram
    if kind == "out_of_range":
        addr, v = r.choice([
            ("/dreamdeck/strength", 5.0), ("/dreamdeck/strength", -1.0), ("/dreamdeck/steps", 100),
            ("/dreamdeck/size", 65), ("/dreamdeck/size", 4096), ("/dreamdeck/guidance", 99), ("/dreamdeck/blackout", 7),
            ("/dreamdeck/strength/norm", 1.5), ("/dreamdeck/steps/norm", -0.1), ("/dreamdeck/tap", 3),
            ("/dreamdeck/guidance", "loud"), ("/dreamdeck/seed/1/value", 2**33),
        ])
        return kind, message(addr, [v]).dgram
    if kind == "unknown":
        addr = "/" + "/".join("".join(r.choice("abcxyz_0123") for _ in range(r.randint(1, 12))) for _ in range(r.randint(1, 5)))
        return kind, message(r.choice([addr, "/dreamdeck" + addr]), [r.random()]).dgram
    if kind == "future_bundle":  # strict_timing=False: applied at once, never put on a timer
        msgs = [message(r.choice(FLOATS), [r.choice([math.nan, 7.5, -2.0])]) for _ in range(r.randint(1, 4))]
        return kind, bundle(msgs, future=r.choice([3600.0, 86400.0 * 365])).dgram
    if kind == "bad_bundle":
        inner = message("/dreamdeck/strength", [9.0]).dgram
        choice = r.randint(0, 2)
        if choice == 0:  # nested far too deep
            data = inner
            for _ in range(r.randint(9, 40)):
                data = b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", len(data)) + data
            return kind, data
        if choice == 1:  # element size past the end
            return kind, b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", 10_000) + inner
        return kind, b"#bundle\0" + b"\0" * 7 + b"\1" + struct.pack(">i", -4) + inner
    # pattern: hostile OSC wildcards
    addr = "/dreamdeck/" + "".join(r.choice(["*", "?", "*?", "[a-z]", "{a,b}", "s", "e"]) for _ in range(r.randint(4, 30)))
    return "pattern", message(addr, [float("nan")]).dgram


def fuzz(sock, to, n: int, seed: int):
    """n hostile packets; every ~50 packets (or ~100 kB) a query whose answer proves the
    server has read everything before it, so no burst overflows its receive buffer."""
    r = random.Random(seed)
    kinds: dict[str, int] = {}
    batch_bytes = batch = synced = 0
    for i in range(n):
        kind, data = fuzz_packet(r)
        kinds[kind] = kinds.get(kind, 0) + 1
        sock.sendto(data[:65000], to)
        batch += 1
        batch_bytes += len(data) + 1024
        if batch >= 50 or batch_bytes > 100_000 or i == n - 1:
            sock.sendto(message(SYNC).dgram, to)
            deadline = time.monotonic() + 10
            while True:
                got = recv(sock, max(0.01, deadline - time.monotonic()))
                if got is None:
                    return {"error": f"no answer to the sync query after packet {i}", "kinds": kinds}
                if any(m[0] == "/dreamdeck/strength" for m in got):
                    break
            synced += 1
            batch = batch_bytes = 0
    return {"sent": n, "synced": synced, "kinds": kinds}


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[1], 0))
    out = sys.stdout

    def reply(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    reply({"port": sock.getsockname()[1]})
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        to = tuple(cmd.get("to") or ()) or None
        if op == "quit":
            break
        if op == "send":
            sock.sendto(message(cmd["address"], cmd.get("args", [])).dgram, to)
            reply({"ok": True})
        elif op == "bundle":
            msgs = [message(a, args) for a, args in cmd["messages"]]
            sock.sendto(bundle(msgs, cmd.get("future", 0.0)).dgram, to)
            reply({"ok": True})
        elif op == "recv":
            got = recv(sock, cmd.get("timeout", 2.0))
            reply({"timeout": True} if got is None else {"messages": got})
        elif op == "fader":
            reply(fader(sock, to, cmd["address"], cmd["n"], cmd["rate"]))
        elif op == "fuzz":
            reply(fuzz(sock, to, cmd["n"], cmd["seed"]))
        else:
            reply({"error": f"unknown op {op}"})
    sock.close()


if __name__ == "__main__":
    main()
