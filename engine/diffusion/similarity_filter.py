"""Stochastic similarity filter: skip the model when the input barely changes.

The input is compared (cosine similarity) with the last frame that was actually
processed.  Below ``threshold`` the frame is always processed.  Above it, the
frame is skipped with probability ``(sim - threshold) / (1 - threshold)``, so
near-identical input is almost always skipped and borderline input rarely, with
no hard edge that would make the output stutter.  After ``max_skip_frame``
consecutive skips the next frame is processed regardless (a forced refresh), and
any processed frame resets the run.  Comparing against the last processed frame
(not the previous input) means slow drift still adds up to a refresh.

A skipped frame costs one dot product: the caller hands back its previous output
without VAE or UNet work.  The random draws come from a seeded generator, so runs
repeat exactly.
"""

from __future__ import annotations

import random

import torch


class SimilarityFilter:
    def __init__(self, threshold: float = 0.98, max_skip_frame: int = 10, seed: int = 0):
        self.threshold = threshold
        self.max_skip_frame = max_skip_frame
        self._rng = random.Random(seed)
        self._reference: torch.Tensor | None = None
        self.consecutive_skips = 0
        self.processed = 0
        self.skipped = 0
        self.last_similarity: float | None = None

    def configure(self, threshold: float, max_skip_frame: int) -> None:
        self.threshold = threshold
        self.max_skip_frame = max_skip_frame

    def reset(self) -> None:
        self._reference = None
        self.consecutive_skips = 0

    @property
    def skip_rate(self) -> float:
        total = self.processed + self.skipped
        return self.skipped / total if total else 0.0

    def skip_probability(self, similarity: float) -> float:
        if similarity < self.threshold:
            return 0.0
        if self.threshold >= 1.0:
            return 1.0
        return min(1.0, (similarity - self.threshold) / (1.0 - self.threshold))

    def should_skip(self, frame: torch.Tensor) -> bool:
        """Decide for ``frame`` (any shape); True means: reuse the previous output."""
        flat = frame.detach().reshape(-1).double()
        ref = self._reference
        if ref is None or ref.shape != flat.shape:
            return self._process(flat)
        sim = float(torch.nn.functional.cosine_similarity(flat, ref, dim=0))
        self.last_similarity = sim
        if self.consecutive_skips >= self.max_skip_frame:
            return self._process(flat)
        p = self.skip_probability(sim)
        if p > 0.0 and self._rng.random() < p:
            self.consecutive_skips += 1
            self.skipped += 1
            return True
        return self._process(flat)

    def mark_processed(self, frame: torch.Tensor) -> None:
        """Record ``frame`` as processed without a decision (e.g. while the pipeline fills)."""
        self._process(frame.detach().reshape(-1).double())

    def _process(self, flat: torch.Tensor) -> bool:
        self._reference = flat
        self.consecutive_skips = 0
        self.processed += 1
        return False
