"""Where a model's weights come from, and whether DreamDeck will read them.

The model loader (:mod:`engine.diffusion.model_loader`) builds a bundle; this
module answers the questions before that: what kind of name the user gave
(:func:`describe_source`), how to get a Hugging Face repository onto disk under
the cache-first / offline rules (:func:`fetch_from_hub`), and whether a file or
folder holds safe, intact, Stable Diffusion weights.  Every refusal is a
:class:`ModelLoadError` whose text is one line that names the fix.

Pickled weights (``.ckpt``, ``.bin``, ...) are never unpickled: loading them
runs arbitrary code from the file.  Only ``.safetensors`` are read.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
SAFE_SUFFIX = ".safetensors"
FAMILY_LABELS = {"sd15": "SD 1.5", "sd21": "SD 2.x", "sdxl": "SDXL"}
PICKLE_FIX = "pickled checkpoints are never loaded; convert it to .safetensors"


class ModelLoadError(Exception):
    """A model could not be loaded; ``str(e)`` is one line that says what to do about it."""

    def __init__(self, message: str):
        super().__init__(one_line(message, limit=600))


def one_line(text: object, limit: int = 200) -> str:
    """``text`` (or an exception's message) squeezed onto one line, at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class MissingWeights(ModelLoadError):
    """A diffusers folder lacks a component's weights (told apart so a hub id can say it better)."""


class NotFetched(ModelLoadError):
    """A Hugging Face repository could not be had; ``reason`` says why in a clause naming it
    ("'org/name' is not in the local Hugging Face cache and offline mode is on"), for callers
    that go on without it and say so in their own words."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = one_line(reason, limit=300)


class Cancelled(ModelLoadError):
    def __init__(self):
        super().__init__("Model load cancelled")


# -- what kind of name ----------------------------------------------------------

def looks_like_hub_id(name: str) -> bool:
    if name.count("/") != 1 or name.startswith((".", "/", "~")) or "\\" in name:
        return False
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except Exception:  # HFValidationError: not a valid id, so not a hub id
        return False
    return True


def describe_source(name: str) -> str:
    """'built-in', 'folder', 'single file' or 'hub id'; anything else is a ModelLoadError."""
    if name == "tiny":
        return "built-in"
    path = Path(name).expanduser()
    if path.is_dir():
        return "folder"
    if path.is_file() or path.suffix.lower() in (SAFE_SUFFIX, *PICKLE_SUFFIXES):
        return "single file"
    if looks_like_hub_id(name):
        return "hub id"
    raise ModelLoadError(
        f"No model folder or file at '{name}': check the path, or give a Hugging Face id such as "
        "'stabilityai/sd-turbo', 'styles' for the built-in style network, or 'tiny' for the built-in test model."
    )


def refuse_pickle(path: Path, what: str = "Model file") -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelLoadError(f"{what} '{path}' is a pickled checkpoint ({path.suffix}): {PICKLE_FIX}.")


# -- the Hugging Face cache --------------------------------------------------------

def hub_offline() -> bool:
    """Offline mode, read now: the environment (set after import too) or huggingface_hub's constant."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return env in ("1", "ON", "YES", "TRUE") or bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir() -> str:
    """The hub cache folder, read now (huggingface_hub reads its environment only once, at import)."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return constants.HF_HUB_CACHE


class _NullWriter:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def download_bar_class(report: Callable[[float, str], None], label: str, cancel: threading.Event | None):
    """A tqdm class for ``snapshot_download``: prints nothing, reports bytes, and stops on cancel."""
    from tqdm.std import tqdm

    class DownloadBar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.update(disable=False, file=_NullWriter(), mininterval=0.0)
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()  # raised inside the download; partial files are resumed next time
            result = super().update(n)
            if self.unit == "B" and self.total:
                done = min(self.n / self.total, 1.0)
                report(done, f"Downloading {label}: {self.n / 1e6:.0f} of {self.total / 1e6:.0f} MB")
            return result

    return DownloadBar


def _mid_sentence(what: str) -> str:
    """'Model x' -> 'model x' for use inside a sentence; names such as 'LoRA' keep their case."""
    first = what.split(" ", 1)[0]
    return what[0].lower() + what[1:] if first[1:].islower() else what


def fetch_from_hub(
    repo_id: str,
    allow_patterns: Sequence[str],
    *,
    what: str,
    fix: str,
    must_have: Iterable[str] = (),
    report: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The local folder of ``repo_id`` holding ``allow_patterns``: from the cache, else downloaded.

    ``what`` names the thing in messages ("Model 'x'", "The LCM-LoRA ..."); ``fix`` is
    the extra way out offered when it cannot be had offline.  ``must_have`` are glob
    patterns a cached snapshot must match to count as a hit (a cache filled by other
    tools may hold a repository with different files).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    cache_dir = hub_cache_dir()
    must_have = tuple(must_have)
    patterns = list(allow_patterns)

    def complete(folder: Path) -> bool:
        return all(any(folder.glob(p)) for p in must_have)

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache_dir, local_files_only=True))
        if complete(folder):
            return folder
    except OSError:  # LocalEntryNotFoundError, IncompleteSnapshotError: not (fully) cached
        pass
    if hub_offline():
        raise NotFetched(
            f"{what} is not in the local Hugging Face cache and offline mode is on: connect once to download it, "
            f"unset HF_HUB_OFFLINE, or {fix}.",
            reason=f"'{repo_id}' is not in the local Hugging Face cache and offline mode is on",
        )
    bar = download_bar_class(report or (lambda *_: None), repo_id, cancel)
    try:
        folder = Path(
            snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache_dir, tqdm_class=bar)
        )
    except ModelLoadError:
        raise
    except GatedRepoError as e:
        raise NotFetched(
            f"{what} is gated on the Hugging Face hub: accept its licence on huggingface.co/{repo_id} and log in "
            "with `hf auth login`, then try again.",
            reason=f"'{repo_id}' is gated on the Hugging Face hub",
        ) from e
    except RepositoryNotFoundError as e:
        raise NotFetched(
            f"{what} was not found on the Hugging Face hub: check the id '{repo_id}' (private repositories need "
            f"`hf auth login`), or {fix}.",
            reason=f"'{repo_id}' was not found on the Hugging Face hub",
        ) from e
    except LocalEntryNotFoundError as e:  # the hub could not be reached, and the files are not cached
        cause = e.__cause__ or e
        raise NotFetched(
            f"Could not reach the Hugging Face hub to download {_mid_sentence(what)} "
            f"({type(cause).__name__}: {one_line(cause, 100)}): check your internet connection, or {fix}.",
            reason=f"the Hugging Face hub could not be reached to download '{repo_id}' ({type(cause).__name__})",
        ) from e
    except MemoryError:
        raise
    except Exception as e:  # DNS, timeouts, proxy, hub errors, disk full, ...
        raise NotFetched(
            f"Could not download {_mid_sentence(what)} from the Hugging Face hub "
            f"({type(e).__name__}: {one_line(e, 120)}): check your internet connection and disk space, or {fix}.",
            reason=f"'{repo_id}' could not be downloaded ({type(e).__name__}: {one_line(e, 80)})",
        ) from e
    if not complete(folder):
        raise NotFetched(
            f"{what} on the Hugging Face hub has none of the files DreamDeck needs "
            f"({', '.join(must_have)}; only .safetensors weights are used): {fix}.",
            reason=f"'{repo_id}' on the Hugging Face hub has none of the files needed",
        )
    return folder


# -- single .safetensors checkpoints ----------------------------------------------------

def read_safetensors_header(path: Path, what: str = "Model file") -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes of a .safetensors file, read from its header only (no weights)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    except SafetensorError as e:
        raise ModelLoadError(
            f"{what} '{path}' is not a valid .safetensors file (truncated or corrupt: {one_line(e, 100)}): "
            "download it again."
        ) from e


_UNET = "model.diffusion_model."


def checkpoint_family(shapes: dict[str, tuple[int, ...]], path: Path) -> str:
    """'sd15', 'sd21' or 'sdxl' from an original-layout (A1111 / ComfyUI) checkpoint's tensor names."""
    keys = shapes.keys()

    def has(prefix: str) -> bool:
        return any(k.startswith(prefix) for k in keys)

    if not has(_UNET):
        raise ModelLoadError(
            f"'{path}' does not look like an SD 1.5, SD 2.x or SDXL checkpoint (it has no diffusion UNet weights; "
            "a LoRA, VAE or embedding file goes elsewhere): choose a full model checkpoint."
        )
    conv_in = shapes.get(_UNET + "input_blocks.0.0.weight", ())
    if len(conv_in) == 4 and conv_in[1] != 4:
        raise ModelLoadError(
            f"'{path}' is an inpainting or other special-purpose checkpoint ({conv_in[1]} input channels): "
            "choose a regular text-to-image checkpoint."
        )
    if has("conditioner.embedders.1."):
        return "sdxl"
    if has("conditioner.embedders.0.model."):
        raise ModelLoadError(f"'{path}' is an SDXL refiner, which cannot generate on its own: choose an SDXL base model.")
    if has("cond_stage_model.model."):  # OpenCLIP ViT-H text encoder
        return "sd21"
    if has("cond_stage_model.transformer."):  # OpenAI CLIP ViT-L text encoder
        return "sd15"
    raise ModelLoadError(
        f"'{path}' does not look like an SD 1.5, SD 2.x or SDXL checkpoint (no text encoder weights found): "
        "choose a full model checkpoint."
    )


# Diffusers-format repositories whose config files describe each family's components
# (only their small .json/.txt files are fetched, never their weights).
def single_file_config_repo(family: str, turbo: bool) -> str:
    if family == "sdxl":
        return "stabilityai/sdxl-turbo" if turbo else "stabilityai/stable-diffusion-xl-base-1.0"
    if family == "sd21":
        return "stabilityai/sd-turbo" if turbo else "stabilityai/stable-diffusion-2-1"
    return "stable-diffusion-v1-5/stable-diffusion-v1-5"


CONFIG_PATTERNS = ("model_index.json", "*/*.json", "*/*.txt")


# -- diffusers folders ----------------------------------------------------------------------

def family_from_unet_config(config: dict) -> str:
    """'sd15', 'sd21' or 'sdxl' from a UNet2DConditionModel config."""
    if config.get("addition_embed_type") == "text_time":
        return "sdxl"
    cross = config.get("cross_attention_dim")
    if isinstance(cross, (list, tuple)):
        cross = cross[0]
    # 768 is SD 1.5; any other single-CLIP width (e.g. the tiny test model's) runs the same way
    return "sd21" if cross == 1024 else "sd15"


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"'{path}' cannot be read ({one_line(e, 100)}): download or save the model again.") from e


_SHARD = re.compile(r"-\d{5}-of-\d{5}")


def weights_variant(folder: Path, component: str, stem: str) -> str | None:
    """The variant to load ``folder/component`` with (None or 'fp16'); refuses pickled-only weights.

    ``stem`` is the weights file name without extension: 'diffusion_pytorch_model'
    for diffusers models, 'model' for transformers text encoders.
    """
    sub = folder / component
    safes = [p.name for p in sub.glob("*.safetensors")] + [p.name for p in sub.glob("*.safetensors.index*.json")]
    names = {_SHARD.sub("", n) for n in safes}
    if f"{stem}.safetensors" in names or f"{stem}.safetensors.index.json" in names:
        return None
    if f"{stem}.fp16.safetensors" in names or f"{stem}.safetensors.index.fp16.json" in names:
        return "fp16"
    if any(sub.glob("*.bin")) or any(sub.glob("*.ckpt")) or any(sub.glob("*.pt")):
        raise ModelLoadError(
            f"The {component} of '{folder}' has only pickled .bin weights, and {PICKLE_FIX} "
            "(e.g. load it once in diffusers and save_pretrained(..., safe_serialization=True)) or get a "
            "safetensors copy."
        )
    raise MissingWeights(
        f"The {component} of '{folder}' has no .safetensors weights: the folder is incomplete; download or save "
        "the model again."
    )
