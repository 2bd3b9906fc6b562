"""Is this PySide6 safe for a night's show? A start-up check of one known defect.

PySide6 6.12.0 returns ``None`` (and ``True``/``False``) from its bindings without a
reference of its own. Python 3.12 and later make those objects immortal, so nothing
happens there; on Python 3.11 every call that returns nothing (``setText``,
``update``, ...) takes one reference from ``None``, and a console making hundreds of
such calls a second aborts with ``none_dealloc`` after a few minutes. The check
makes a few hundred such calls and counts.
"""

from __future__ import annotations

import sys


def drops_none_references(calls: int = 400) -> bool:
    """True where each binding call that returns nothing takes a reference from ``None``."""
    if sys.version_info >= (3, 12):
        return False  # None is immortal: its count cannot reach zero
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("dreamdeck")
    # other threads move the count too, but not by hundreds in a few microseconds
    return before - sys.getrefcount(None) > calls // 2


def problem() -> str | None:
    """One line for the user when this PySide6 would abort the show; None when it is fine."""
    if not drops_none_references():
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} loses a reference to None on every call under Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, so the console would abort within minutes: "
            "install another version (pip install 'PySide6-Essentials<6.12') or use Python 3.12 or newer")
