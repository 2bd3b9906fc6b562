"""The flow-matching binaural renderer (after BinauralFlow, Liang et al., ICML 2025), sized for a CPU.

Modules: ``stft`` (streaming STFT/ISTFT), ``unet`` (causal U-Net and its cache bank),
``solver`` (midpoint with an early skip), ``model`` (the flow model and its weights),
``renderer`` (:class:`FlowRenderer`), ``train`` (the ``dreamdeck train-binaural`` loop).
"""

from .model import FlowConfig, FlowModel, FlowWeightsError, load_weights, save_weights
from .renderer import DEFAULT_WEIGHTS, LIVE_BLOCK, FlowRenderer, render_spectral

__all__ = ["DEFAULT_WEIGHTS", "LIVE_BLOCK", "FlowConfig", "FlowModel", "FlowRenderer", "FlowWeightsError", "load_weights",
           "render_spectral", "save_weights"]
