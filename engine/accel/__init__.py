"""Acceleration back ends for the UNet and the autoencoders.

* :mod:`.base` -- the interface (:class:`AccelSpec`, :class:`Backend`,
  :class:`Accelerated`), the registry (:func:`get_backend`, :func:`available`);
* :mod:`.eager`, :mod:`.compiled` (torch.compile), :mod:`.onnxruntime_backend`,
  :mod:`.tensorrt_backend` (TensorRT and TensorRT for RTX, running engines) -- the back ends;
* :mod:`.tensorrt_build` -- building TensorRT engines from the export, both flavours;
* :mod:`.onnx_export` -- the ONNX graphs ONNX Runtime and TensorRT share;
* :mod:`.cache` -- the engine cache (exports, engines), atomic builds;
* :mod:`.manager` -- switching during a show: background preparation, swap
  between frames, failures reported while the current back end serves on.
"""

from .base import AccelSpec, Accelerated, Backend, available, backend_names, get_backend, register

__all__ = ["AccelSpec", "Accelerated", "Backend", "available", "backend_names", "get_backend", "register"]
