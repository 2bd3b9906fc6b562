"""Who may talk to DreamDeck: loopback detection, allow-lists, IP normalisation."""

from __future__ import annotations

import ipaddress
from typing import Iterable


class OscConfigError(ValueError):
    """A setting the user can fix (bad host, missing allow-list, port in use); one line."""


def normalise_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return normalise_ip(host).is_loopback
    except ValueError:
        return False  # a name or "" (all interfaces): treat as the LAN


def parse_allow(items: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise OscConfigError(f"OSC allow-list entry {item!r} is not an IP address or network (e.g. 192.168.1.20 or 192.168.1.0/24)") from None
    return tuple(out)
