"""torch's intra-op thread count for a stretch of code on the calling thread.

torch's CPU thread count is an OpenMP setting of the thread that sets it: the
threads of the show that already run torch (capture, output, the audio render
thread) keep theirs, and the count is put back on the way out, even on an
exception.  One thing does leak: ``torch.set_num_threads`` also sets the count
that a thread copies at its *first* torch call, so a thread that starts using
torch inside the block starts with its count; the show's long-lived torch
threads therefore set their own count when they start (:func:`pinned`).
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch threads on this thread; None: leave it as set."""
    if not n:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pinned(target, n: int | None = None):
    """``target``, to run on a new thread with ``n`` torch threads (default: the
    creating thread's count now).

    A thread's first torch call copies the process-wide count that the last
    ``torch.set_num_threads`` anywhere left behind -- the audio render thread's
    1, or 1 from inside :func:`torch_threads` -- so the show's long-lived torch
    threads set theirs explicitly when they start.
    """
    import torch  # here, not at the top: importing the live pipeline does not load torch

    n = n or torch.get_num_threads()

    def run(*args, **kwargs):
        torch.set_num_threads(n)
        return target(*args, **kwargs)

    return run
