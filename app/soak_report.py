"""What a soak run measures once a second, and whether the show would last the night.

The limits (ARCHITECTURE.md, "a show lasts all night"):

* resident memory grows under 5 % from the end of the warm-up (the first minute, or the
  first third of a shorter run) to the end;
* ``None``'s reference count has no steady fall: a fall that would reach zero within a
  day fails (on Python 3.11 zero aborts the process); nor a steady rise (references
  piling up somewhere);
* thread and descriptor counts are back to where they were after each model reload,
  and in the last minute of the run no higher than in the first minute after the warm-up
  (each the most seen over a minute: a source switch brings and takes its own).
"""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields

import numpy as np

RSS_GROWTH_LIMIT = 0.05
NONE_HORIZON_S = 24 * 3600.0  # a fall that would reach zero sooner than this is a leak
NONE_NOISE = 1000  # references: a smaller total change is the count wandering, not a trend
NONE_RISE_PER_S = 5.0  # a steady rise faster than this is references piling up (a leak of holders)


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the run started
    rss_mb: float
    none_refs: int
    threads: int  # the process's OS threads (Python's and native)
    py_threads: int
    fds: int
    out_fps: float
    gen_fps: float
    dropped: int
    repeated: int
    faults: int
    model: str


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux
        import psutil

        p = psutil.Process()
        return p.num_handles() if hasattr(p, "num_handles") else p.num_fds()


class Sampler:
    """Samples the process once a second on its own thread and appends each sample to a CSV file."""

    def __init__(self, csv_path: str, metrics, model_state, period: float = 1.0):
        import psutil

        self._proc = psutil.Process()
        self.csv_path = csv_path
        self.metrics = metrics  # () -> the pipeline's engine.live.status.LiveStatus
        self.model_state = model_state  # () -> engine.live.model_host.ModelState
        self.period = period
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dreamdeck-soak-sampler", daemon=True)
        self.t0 = time.monotonic()

    def sample(self) -> Sample:
        m = self.metrics()
        mem = self._proc.memory_info()
        return Sample(
            t=round(time.monotonic() - self.t0, 2), rss_mb=round(mem.rss / 2**20, 2), none_refs=sys.getrefcount(None),
            threads=self._proc.num_threads(), py_threads=threading.active_count(), fds=open_fds(),
            out_fps=round(m.output_fps, 2), gen_fps=round(m.generate_fps, 2), dropped=m.dropped_input,
            repeated=m.repeated_output, faults=m.faults_total, model=self.model_state().describe())

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        names = [f.name for f in fields(Sample)]
        with open(self.csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=names)
            w.writeheader()
            next_t = time.monotonic()
            while not self._stop.is_set():
                try:
                    s = self.sample()
                    self.samples.append(s)
                    w.writerow(asdict(s))
                    f.flush()
                except Exception as e:  # counted into the verdict, never a silent end of sampling
                    self.errors.append(f"{type(e).__name__}: {e}")
                next_t += self.period
                self._stop.wait(max(0.0, next_t - time.monotonic()))


CYCLE_S = 60.0  # longer than the scenario's round of sources (5 sources x 11 steps)


def warmup_s(seconds: float) -> float:
    """The first minute, or the first third of a shorter run: what is allocated once is not growth."""
    return min(60.0, seconds / 3.0)


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def evaluate(samples: list[Sample], reloads: list[dict], seconds: float) -> dict:
    """The run's growth figures and verdict, as one JSON-able dict."""
    warm = warmup_s(seconds)
    after = [s for s in samples if s.t >= warm] or samples
    if len(after) < 5:
        return {"passed": False, "problems": ["too few samples to judge (the run was too short)"], "samples": len(samples)}
    base, end = after[:5], after[-5:]
    if samples[-1].t < 0.9 * seconds:
        return {"passed": False, "problems": [f"sampling ended after {samples[-1].t:.0f} of {seconds:.0f} s"],
                "samples": len(samples)}
    rss0, rss1 = _median([s.rss_mb for s in base]), _median([s.rss_mb for s in end])
    t = np.array([s.t for s in after])
    n = np.array([s.none_refs for s in after], dtype=float)
    slope = float(np.polyfit(t, n, 1)[0])
    fall = float(n[0] - n[-1])
    problems = []
    growth = rss1 / rss0 - 1.0
    if growth >= RSS_GROWTH_LIMIT:
        problems.append(f"memory grew {growth * 100:.1f}% after the warm-up ({rss0:.0f} -> {rss1:.0f} MB)")
    if slope < 0 and fall > NONE_NOISE and n[-1] / -slope < NONE_HORIZON_S:
        problems.append(f"None's reference count falls {-slope:.0f} a second (zero in {n[-1] / -slope / 60:.0f} min)")
    if slope > NONE_RISE_PER_S and -fall > NONE_NOISE:  # references piling up: something keeps what it should drop
        problems.append(f"None's reference count rises {slope:.0f} a second")
    for r in reloads:
        for what in ("threads", "fds"):
            if r["after"][what] > r["before"][what]:
                problems.append(f"{what} not back after the model reload at {r['at']:.0f} s: "
                                f"{r['before'][what]} -> {r['after'][what]}")
    # the scenario switches sources (a video's decoder brings threads and a file with it), so a count is compared
    # as the most seen over a source cycle: the last minute's against the first minute's after the warm-up
    first = [s for s in after if s.t <= after[0].t + CYCLE_S]
    last = [s for s in after if s.t >= after[-1].t - CYCLE_S]
    for what in ("threads", "fds"):
        before, now = max(getattr(s, what) for s in first), max(getattr(s, what) for s in last)
        if now > before:
            problems.append(f"{what} grew during the run: at most {before} in the first minute, {now} in the last")
    out = [s.out_fps for s in after]
    return {
        "passed": not problems,
        "problems": problems,
        "seconds": round(samples[-1].t, 1),
        "samples": len(samples),
        "warmup_s": warm,
        "rss_mb": {"start": samples[0].rss_mb, "after_warmup": rss0, "end": rss1, "growth_percent": round(growth * 100, 2)},
        "none_refs": {"start": samples[0].none_refs, "after_warmup": int(n[0]), "end": int(n[-1]),
                      "slope_per_s": round(slope, 2)},
        "threads": {"start": samples[0].threads, "after_warmup": base[0].threads, "end": end[-1].threads,
                    "max": max(s.threads for s in samples)},
        "fds": {"start": samples[0].fds, "after_warmup": base[0].fds, "end": end[-1].fds, "max": max(s.fds for s in samples)},
        "out_fps": {"mean": round(float(np.mean(out)), 2), "min": round(min(out), 2)},
        "gen_fps_mean": round(float(np.mean([s.gen_fps for s in after])), 2),
        "dropped": samples[-1].dropped,
        "repeated": samples[-1].repeated,
        "faults": samples[-1].faults,
        "reloads": reloads,
    }


def summary_line(r: dict) -> str:
    if "rss_mb" not in r:
        return "soak: FAILED: " + "; ".join(r["problems"])
    m, n = r["rss_mb"], r["none_refs"]
    head = "soak: PASSED" if r["passed"] else "soak: FAILED (" + "; ".join(r["problems"]) + ")"
    return (f"{head}: {r['seconds']:.0f} s, RSS {m['after_warmup']:.0f} -> {m['end']:.0f} MB ({m['growth_percent']:+.1f}%), "
            f"None refs {n['after_warmup']} -> {n['end']} ({n['slope_per_s']:+.1f}/s), threads {r['threads']['after_warmup']}"
            f" -> {r['threads']['end']}, fds {r['fds']['after_warmup']} -> {r['fds']['end']}, out {r['out_fps']['mean']:.1f} fps"
            f" (min {r['out_fps']['min']:.1f}), gen {r['gen_fps_mean']:.1f} fps, dropped {r['dropped']}, "
            f"faults {r['faults']}, reloads {len(r['reloads'])}")
