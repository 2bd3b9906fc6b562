"""The HRTF renderer: measured MIT KEMAR filters, interpolated between directions.

Streaming, zero-latency overlap-save convolution with the onset-aligned KEMAR HRIRs
(barycentric interpolation over the triangulated measurement sphere), interaural and
propagation delays through gliding fractional delay lines, crossfaded filter updates,
1/r distance gain, and an optional room (``room`` attribute, toggled live). The shared
machinery lives in ``spatializer``; the live block size is ``LIVE_BLOCK`` (2048, engine.audio.types).
"""

from __future__ import annotations

from .hrir import HrirSet
from .room import ShoeboxRoom
from .spatializer import LIVE_BLOCK, SpatialRenderer

__all__ = ["HrtfRenderer", "LIVE_BLOCK"]


class HrtfRenderer(SpatialRenderer):
    name = "hrtf"

    def __init__(self, room: bool = False, hrirs: HrirSet | None = None, shoebox: ShoeboxRoom | None = None):
        super().__init__(hrirs or HrirSet.load_default(), room=room, shoebox=shoebox)


def main() -> None:
    """Print the real-time factors of the hrtf and head renderers (``python -m engine.audio.hrtf``)."""
    from .head import SphericalHeadRenderer
    from .spatializer import measure_rtf

    for cls in (HrtfRenderer, SphericalHeadRenderer):
        for room in (False, True):
            for orbit in (0.0, 30.0):
                m = measure_rtf(cls(room=room), orbit_deg_s=orbit)
                print(f"{cls.name:5s} room={room!s:5s} orbit={orbit:4.0f} deg/s  block {m['block']}  "
                      f"RTF wall {m['rtf_wall']:.4f}  cpu {m['rtf_cpu']:.4f}")


if __name__ == "__main__":
    main()
