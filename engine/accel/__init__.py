"""Acceleration back ends for the UNet and the autoencoders.

* :mod:`.spec` -- what a back end must serve: the call signatures, :class:`AccelSpec`;
* :mod:`.accelerated` -- what it hands back: :class:`Accelerated`, the callables;
* :mod:`.base` -- the back-end interface (:class:`Backend`) and the registry
  (:func:`get_backend`, :func:`available`), named after the ``accel`` parameter's choices;
* :mod:`.eager` (the modules themselves, written once), :mod:`.compiled` (torch.compile),
  :mod:`.onnxruntime_backend`, :mod:`.tensorrt_backend` (TensorRT and TensorRT for RTX,
  running engines) -- the back ends;
* :mod:`.tensorrt_build` -- building TensorRT engines from the export, both flavours;
* :mod:`.onnx_export` -- the ONNX graphs ONNX Runtime and TensorRT share;
* :mod:`.cache` -- the engine cache (exports, engines), atomic builds;
* :mod:`.manager` -- switching during a show: background preparation, swap
  between frames, failures reported while the current back end serves on;
  :class:`AccelStatus`, what the GUI and CLI show;
* :mod:`.routing` -- :class:`StageRouter`, the stream's one door: which callable
  serves the UNet, the encoder and the decoder in this frame, eager as the fallback.
"""

from .accelerated import Accelerated
from .base import Backend, available, backend_names, get_backend, register
from .manager import AccelStatus
from .spec import AccelSpec

__all__ = ["AccelSpec", "AccelStatus", "Accelerated", "Backend", "available", "backend_names", "get_backend", "register"]
