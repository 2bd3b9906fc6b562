"""Tests that need a system package (FUSE 3, Xvfb) skip on a machine without it, saying
what to install; CI sets DREAMDECK_REQUIRE_SYSTEM_TESTS=1 so that there they run or fail."""

import os

import pytest

REQUIRED = os.environ.get("DREAMDECK_REQUIRE_SYSTEM_TESTS") == "1"


def skip_unless_required(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (CI must install it: see .ci/run)")
    pytest.skip(reason)
