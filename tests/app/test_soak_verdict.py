"""The soak's verdict on thread and descriptor counts: a source that brings its own threads while it is on
is not growth; a count that keeps what it took is."""

from app.soak_report import Sample, evaluate


def run(threads_at):
    return [Sample(t=float(t), rss_mb=500.0, none_refs=100_000, threads=threads_at(t), py_threads=12, fds=20,
                   out_fps=30.0, gen_fps=15.0, dropped=0, repeated=0, faults=0, model="styles") for t in range(600)]


def test_threads_that_come_and_go_with_the_source_are_not_growth():
    video_on = lambda t: (t // 11) % 5 == 3  # noqa: E731 - one source of five brings a decoder's three threads
    result = evaluate(run(lambda t: 22 if video_on(t) else 19), [], 600.0)
    assert result["passed"], result["problems"]


def test_threads_that_stay_are_growth():
    result = evaluate(run(lambda t: 19 + t // 200), [], 600.0)
    assert not result["passed"] and any("threads grew" in p for p in result["problems"])
