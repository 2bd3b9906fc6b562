"""OSC for ``dreamdeck live``: the command-line options and one object that starts and
stops the server and the feedback sender with the pipeline.

``app/live.py`` needs two calls: ``add_osc_arguments(parser)`` and
``osc = osc_from_args(args, store, actions)`` (checks the options, binds nothing), then
``osc.start()`` / ``osc.stop()`` next to the pipeline's.
"""

from __future__ import annotations

import argparse
import sys

from engine.params.registry import ParamStore

from ..errors import UserError
from ..show_actions import ShowActions
from .feedback import OscFeedback, parse_target
from .addresses import OscConfigError, is_loopback
from .server import DEFAULT_HOST, DEFAULT_PORT, OscServer


def add_osc_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("OSC (see docs/osc.md)")
    g.add_argument("--osc-port", type=int, default=None, metavar="PORT",
                   help=f"UDP port to listen for OSC on (default {DEFAULT_PORT}; 0 turns the OSC server off)")
    g.add_argument("--osc-host", default=DEFAULT_HOST, metavar="ADDR",
                   help="address to listen on (default %(default)s, this computer only); 0.0.0.0 or a LAN address "
                        "listens on the network and needs --osc-allow")
    g.add_argument("--osc-feedback", default=None, metavar="HOST:PORT",
                   help="send every parameter change there (e.g. the tablet running TouchOSC); never echoed to its sender")
    g.add_argument("--osc-allow", default=None, metavar="ADDR,...",
                   help="sender addresses or networks allowed to control DreamDeck (e.g. 192.168.1.20,192.168.1.0/24)")


class OscService:
    """The OSC server and the feedback sender of one live run; either may be absent."""

    def __init__(self, server: OscServer | None, feedback: OscFeedback | None, port_was_default: bool = False):
        self.server = server
        self.feedback = feedback
        self.port_was_default = port_was_default

    def start(self) -> str:
        """Start both; returns one line for the console.  A busy default port is not fatal
        (OSC is off, the show goes on); a busy port the user chose is a UserError."""
        notes = []
        if self.server is not None:
            try:
                self.server.start()
                host, port = self.server.address
                notes.append(f"listening on {host}:{port}" + ("" if is_loopback(host) else " (allow-list on)"))
            except OscConfigError as e:
                if not self.port_was_default:
                    raise UserError(str(e)) from None
                print(f"dreamdeck: warning: OSC is off: {e}", file=sys.stderr, flush=True)
                self.server = None
        if self.feedback is not None:
            self.feedback.start()
            notes.append(f"feedback to {self.feedback.target[0]}:{self.feedback.target[1]}")
        return "osc: " + ("; ".join(notes) if notes else "off")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.feedback is not None:
            self.feedback.stop()

    @property
    def stats(self) -> dict[str, int]:
        out = dict(self.server.stats) if self.server else {}
        if self.feedback:
            out.update({f"feedback_{k}": v for k, v in self.feedback.stats.items()})
        return out


def osc_from_args(a: argparse.Namespace, store: ParamStore, actions: ShowActions | None = None) -> OscService:
    """Check the --osc-* options (one-line UserError when wrong); binds nothing yet."""
    port = DEFAULT_PORT if a.osc_port is None else a.osc_port
    allow = [x for x in (a.osc_allow or "").split(",") if x.strip()]
    try:
        if not 0 <= port <= 65535:
            raise OscConfigError(f"--osc-port must be 0..65535 (0 turns OSC off); got {port}")
        server = None
        if port:
            server = OscServer(store, actions, host=a.osc_host, port=port, allow=allow)
        feedback = None
        if a.osc_feedback:
            host, fport = parse_target(a.osc_feedback)
            feedback = OscFeedback(store, host, fport)
    except OscConfigError as e:
        raise UserError(str(e)) from None
    return OscService(server, feedback, port_was_default=a.osc_port is None)
