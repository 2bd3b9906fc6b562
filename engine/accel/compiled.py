"""torch.compile: the same modules, compiled by TorchInductor.

Modes: on the GPU ``reduce-overhead`` (Inductor kernels replayed through CUDA
graphs, which removes the per-kernel launch cost that dominates a 1-step UNet);
on the CPU ``max-autotune-no-cudagraphs`` (there are no CUDA graphs to use).

Shapes: static, compiled per shape, and only ever in the background.  We tried
marking batch and height/width dynamic (``torch._dynamo.mark_dynamic``) on
diffusers' UNet2DConditionModel here: the compile took about twice as long,
and a new batch/size still recompiled (diffusers' forward branches on sizes,
e.g. the upsample-size check, and batch 1 is always specialised), which on
the generate thread would be a stall of a minute on this CPU.  So
:meth:`CompiledBackend.prepare` compiles and warms exactly the shapes the
stream uses now (its Stream Batch size and frame count at its height x width),
and the :class:`~engine.accel.accelerated.Accelerated` it returns serves only those
shapes; any other shape (another guidance mode's batch, a new size) is served
by the eager module until the manager has prepared the new shapes.  A show
never waits for the compiler.

Compiled graphs hold the weights as they were: after a LoRA change, prepare
again (the stream's model reload does).
"""

from __future__ import annotations

import torch

from .accelerated import Accelerated
from .base import Backend
from .cache import AccelBuildError, Cancel, ProgressFn, cancel_check
from .eager import autoencoder_module, eager_decoder, eager_encoder, eager_unet
from .onnx_export import unet_example
from .spec import AccelSpec


def default_mode(device) -> str:
    return "reduce-overhead" if str(device).startswith("cuda") else "max-autotune-no-cudagraphs"


def _layout(t):
    """One memory layout for every call (a different stride would recompile)."""
    if not isinstance(t, torch.Tensor):
        return {k: _layout(v) for k, v in t.items()} if isinstance(t, dict) else t
    return t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 else t.contiguous()


def _fixed_layout(fn, cuda_graphs: bool = False):
    if not cuda_graphs:
        def run(*args):
            return fn(*(_layout(a) for a in args))

        return run

    def run_graphed(*args):
        # CUDA graphs replay into the same output buffers: mark a new step and
        # hand the stream a copy, so no later replay overwrites what it holds
        torch.compiler.cudagraph_mark_step_begin()
        return fn(*(_layout(a) for a in args)).clone()

    return run_graphed


class CompiledBackend(Backend):
    name = "compile"
    label = "torch.compile"

    def __init__(self, mode: str | None = None, backend: str = "inductor"):
        self.mode = mode
        self.backend = backend  # 'inductor'; tests may use 'aot_eager' (same Dynamo path, no code generation)

    def unavailable_reason(self) -> str | None:
        if not hasattr(torch, "compile"):
            return "this PyTorch has no torch.compile (PyTorch 2.0 or later needed)"
        if self.backend == "inductor" and not torch.cuda.is_available():
            import shutil

            if not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
                return "torch.compile on the CPU needs a C++ compiler (install g++ or clang)"
        return None

    def _compile(self, fn, device):
        mode = self.mode or default_mode(device)
        if self.backend != "inductor":
            return torch.compile(fn, backend=self.backend, dynamic=False)
        if mode == "reduce-overhead":
            # CUDA-graph trees keep their state per thread: graphs recorded on the preparation thread
            # fail an assertion when the generate thread replays them (pytorch/pytorch#123177). The
            # plain CUDA-graph wrapper has no such state.
            import torch._inductor.config as inductor_config

            inductor_config.triton.cudagraph_trees = False
        return torch.compile(fn, mode=mode, dynamic=False)

    def prepare(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None, cancel: Cancel | None = None) -> Accelerated:
        progress = progress or (lambda f, m: None)
        scale = bundle.vae_scale_factor
        device, dtype = bundle.device, bundle.dtype
        graphs = (self.mode or default_mode(device)) == "reduce-overhead" and self.backend == "inductor"
        unet_fn = _fixed_layout(self._compile(eager_unet(bundle.unet), device), graphs)
        jobs = [a for a in spec.autoencoders if autoencoder_module(bundle, a) is not None]
        total = 1 + 2 * len(jobs)
        height, width = spec.opt_hw

        def warm(fn, args, what, k):
            cancel_check(cancel, "torch.compile")
            progress(k / total, f"torch.compile: compiling the {what} (minutes on a CPU)")
            try:
                with torch.inference_mode():
                    for _ in range(3 if str(device).startswith("cuda") else 1):  # CUDA graphs record on a later call
                        fn(*args)
            except Exception as e:
                raise AccelBuildError(f"torch.compile could not compile the {what}: {type(e).__name__}: {e}") from e

        ex = unet_example(bundle.unet, spec, scale)
        ex = [ex[0].to(memory_format=torch.channels_last), ex[1].long(), ex[2]] + list(ex[3:])
        names = ["sample", "timestep", "encoder_hidden_states", "timestep_cond", "text_embeds", "time_ids"][: len(ex)]
        kw = dict(zip(names, ex))
        added = {"text_embeds": kw["text_embeds"], "time_ids": kw["time_ids"]} if "time_ids" in kw else None
        warm(unet_fn, (kw["sample"], kw["timestep"], kw["encoder_hidden_states"], kw.get("timestep_cond"), added), "UNet", 0)
        acc = Accelerated(self.name, spec, unet_fn, detail=f"{self.backend}, {self.mode or default_mode(device)}, static shapes",
                          unet_shapes={(spec.unet_batch_opt, height, width)},
                          image_shapes={(spec.image_batch_opt, height, width)})
        n = spec.image_batch_opt
        for i, which in enumerate(jobs):
            ae = autoencoder_module(bundle, which)
            enc = _fixed_layout(self._compile(eager_encoder(ae), device), graphs)
            dec = _fixed_layout(self._compile(eager_decoder(ae), device), graphs)
            images = torch.zeros(n, 3, height, width, device=device, dtype=dtype).to(memory_format=torch.channels_last)
            lat = torch.zeros(n, getattr(ae.config, "latent_channels", 4), height // scale, width // scale, device=device, dtype=dtype)
            warm(enc, (images,), f"{which} VAE encoder", 1 + 2 * i)
            warm(dec, (lat,), f"{which} VAE decoder", 2 + 2 * i)
            acc.encoders[which], acc.decoders[which] = enc, dec
        progress(1.0, "torch.compile: ready")
        return acc
