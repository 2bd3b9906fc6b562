"""Real UDP on loopback; the peers that send run in their own processes (osc_peer.py)."""

from __future__ import annotations

import pytest
from osc_helpers import Listener, Peer

from app.osc import OscServer


@pytest.fixture
def server(store):
    srv = OscServer(store, port=0).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def peer():
    p = Peer("127.0.0.1")
    yield p
    p.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()
