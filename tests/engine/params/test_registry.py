import math
import threading

import pytest
from waiting import wait_for

from engine.params import ENGINE_PARAMS, Apply, Kind, Param, ParamError, ParamStore, engine_store


def test_every_engine_param_is_declared_once_with_an_address():
    names = [p.name for p in ENGINE_PARAMS]
    assert len(names) == len(set(names))
    addrs = [p.osc_address for p in ENGINE_PARAMS]
    assert len(addrs) == len(set(addrs))
    assert all(a.startswith("/dreamdeck/") for a in addrs)
    store = engine_store()
    for p in ENGINE_PARAMS:
        assert store.get(p.name) == p.default
        assert isinstance(p.apply, Apply) and isinstance(p.kind, Kind)


@pytest.mark.parametrize(
    "name,bad",
    [("strength", math.nan), ("strength", math.inf), ("strength", 1.5), ("strength", "loud"), ("steps", 2.5),
     ("guidance", "sometimes"), ("similarity_filter", "maybe"), ("prompt.1.text", 3), ("prompt.1.text", "x" * 5000),
     ("seed.1.value", -1), ("size", 5000), ("size", "64x"), ("strength", True)],
)
def test_bad_values_are_refused_with_a_message_and_leave_the_store_alone(name, bad):
    store = engine_store()
    before = store.snapshot()
    with pytest.raises(ParamError) as e:
        store.set(name, bad)
    assert name in str(e.value)
    assert store.snapshot() is before


def test_update_is_all_or_nothing_and_one_version():
    store = engine_store()
    v = store.version
    with pytest.raises(ParamError):
        store.update({"strength": 0.7, "steps": 99})
    assert store.get("strength") == 0.5 and store.version == v
    store.update({"strength": 0.7, "steps": 3})
    assert store.version == v + 1
    snap = store.snapshot()
    assert snap["strength"] == 0.7 and snap["steps"] == 3
    with pytest.raises(TypeError):
        snap.values["strength"] = 0.1  # snapshots are read-only


def test_coercion_and_listeners():
    store = engine_store()
    seen = []
    unsubscribe = store.subscribe(lambda n, v, src: seen.append((n, v, src)))
    assert store.set("steps", 3.0) == 3 and isinstance(store.get("steps"), int)
    assert store.set("similarity_filter", "on") is True
    store.set("strength", 0.5)  # unchanged: no event
    unsubscribe()
    store.set("steps", 4)
    assert seen == [("steps", 3, None), ("similarity_filter", True, None)]


def test_unknown_parameter_and_duplicate_declaration():
    store = engine_store()
    with pytest.raises(ParamError, match="no parameter named"):
        store.set("volume", 1)
    p = Param("x", Kind.INT, 0, "x", 0, 1)
    with pytest.raises(ValueError):
        ParamStore([p, p])


def test_concurrent_writers_never_tear_a_snapshot():
    store = engine_store()
    stop = threading.Event()
    bad = []

    def writer(k):
        i = 0
        while not stop.is_set():
            i += 1
            v = (i % 50) / 100 + 0.05
            store.update({"strength": v, "delta": v})

    reads = [0]

    def reader():
        while not stop.is_set():
            s = store.snapshot()
            reads[0] += 1
            if s["strength"] != s["delta"] and s.version > 0:
                bad.append((s["strength"], s["delta"]))

    store.update({"strength": 0.5, "delta": 0.5})
    start = store.version
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    try:  # a number of reads and writes side by side, however long that takes
        wait_for(lambda: reads[0] >= 60_000 and store.version >= start + 60_000, timeout=60, what="reads and writes")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not bad


def test_batch_listeners_get_one_call_per_update_with_its_source():
    store = engine_store()
    batches = []
    store.subscribe_batch(lambda changes, source, version: batches.append((changes, source, version)))
    store.update({"strength": 0.7, "delta": 0.3, "steps": 2}, source="preset")  # steps unchanged: not listed
    store.set("tap", 1, source=("127.0.0.1", 9000))  # triggers always notify
    assert batches[0] == ({"strength": 0.7, "delta": 0.3}, "preset", store.version - 1)
    assert batches[1][0] == {"tap": True} and batches[1][1] == ("127.0.0.1", 9000)
