"""DreamDeck's engine parameters, each declared once.

The GUI, OSC, presets and the OSC reference are all generated from this list, so
adding a parameter here is the only edit a new control needs.
"""

from __future__ import annotations

from ..frame_size import normalize_size
from .registry import Apply, Kind, Param, ParamStore

PROMPT_SLOTS = 4
SEED_SLOTS = 2
GUIDANCE_MODES = ("none", "self", "initialize", "full")
BLEND_MODES = ("linear", "slerp")
ACCEL_BACKENDS = ("eager", "compile", "onnxruntime", "tensorrt", "tensorrt-rtx")
AUDIO_RENDERERS = ("hrtf", "flow", "head")
FIT_MODES = ("fit", "fill", "stretch")  # how engine.live.output_stage places the model's frames on the output


def _prompt_params() -> list[Param]:
    out = []
    for i in range(1, PROMPT_SLOTS + 1):
        out.append(Param(f"prompt.{i}.text", Kind.STR, "", f"Text of prompt slot {i}", group="prompts"))
        out.append(
            Param(
                f"prompt.{i}.weight",
                Kind.FLOAT,
                1.0 if i == 1 else 0.0,
                f"Blend weight of prompt slot {i}",
                0.0,
                1.0,
                group="prompts",
            )
        )
    return out


def _seed_params() -> list[Param]:
    out = []
    for i in range(1, SEED_SLOTS + 1):
        out.append(Param(f"seed.{i}.value", Kind.INT, i, f"Noise seed of slot {i}", 0, 2**31 - 1, group="seeds"))
        out.append(
            Param(f"seed.{i}.weight", Kind.FLOAT, 1.0 if i == 1 else 0.0, f"Blend weight of seed slot {i}", 0.0, 1.0, group="seeds")
        )
    return out


ENGINE_PARAMS: tuple[Param, ...] = (
    Param("model", Kind.STR, "styles", "Model: 'styles' (the built-in style network), 'tiny' (the random test model), a Hugging Face id, a diffusers folder or a .safetensors file", apply=Apply.RELOAD, group="model"),
    Param("tiny_vae", Kind.BOOL, True, "Use the tiny autoencoder (TAESD) for speed", apply=Apply.RELOAD, group="model"),
    Param("size", Kind.STR, "512", "Model frame: the long side in px, the short side following the output's aspect (e.g. 512), or WIDTHxHEIGHT (e.g. 768x448)", apply=Apply.RELOAD, group="model", max_length=16, coerce=normalize_size),
    Param("steps", Kind.INT, 2, "Denoising steps per frame (Stream Batch size)", 1, 8, apply=Apply.RELOAD, group="diffusion"),
    Param("frame_buffer_size", Kind.INT, 1, "Frames denoised together per UNet call", 1, 8, apply=Apply.RELOAD, group="diffusion"),
    Param("strength", Kind.FLOAT, 0.5, "How far the model may move away from the input", 0.02, 1.0, group="diffusion"),
    Param("guidance", Kind.CHOICE, "self", "Residual CFG mode", choices=GUIDANCE_MODES, group="diffusion"),
    Param("guidance_scale", Kind.FLOAT, 1.2, "Classifier-free guidance scale (1 = no guidance)", 0.0, 10.0, group="diffusion"),
    Param("delta", Kind.FLOAT, 1.0, "Residual CFG delta: how strongly the virtual negative is used", 0.0, 2.0, group="diffusion"),
    Param("negative_prompt", Kind.STR, "", "What the picture should move away from", group="prompts"),
    Param("prompt_blend", Kind.CHOICE, "slerp", "How prompt embeddings are mixed", choices=BLEND_MODES, group="prompts"),
    *_prompt_params(),
    Param("seed_blend", Kind.CHOICE, "slerp", "How seed noises are mixed", choices=BLEND_MODES, group="seeds"),
    *_seed_params(),
    Param("similarity_filter", Kind.BOOL, False, "Skip work when the input barely changes", group="similarity"),
    Param("similarity_threshold", Kind.FLOAT, 0.98, "Similarity above which frames may be skipped", 0.0, 1.0, group="similarity"),
    Param("max_skip_frame", Kind.INT, 10, "Longest run of skipped frames before a forced refresh", 0, 600, unit="frames", group="similarity"),
    Param(
        "accel",
        Kind.CHOICE,
        "eager",
        "Acceleration back end serving the UNet and autoencoder; a switch happens between frames, and a back end that fails leaves the current one serving",
        choices=ACCEL_BACKENDS,
        group="acceleration",
    ),
)


RECORD_CODECS = ("auto", "h264", "hevc", "prores", "prores_lt", "hap", "hap_alpha", "hap_q", "dnxhr", "mp4v", "mjpeg")
OUTPUT_SIZES = ("1280x720", "1920x1080", "1024x576", "854x480", "640x360", "512x512")

LIVE_PARAMS: tuple[Param, ...] = (
    Param("output_size", Kind.CHOICE, "1280x720", "Output resolution (virtual camera, recorder)", choices=OUTPUT_SIZES, apply=Apply.RELOAD, group="output"),
    Param("output_fps", Kind.INT, 30, "Output frame rate", 1, 120, unit="fps", apply=Apply.RELOAD, group="output"),
    Param("record_codec", Kind.CHOICE, "auto", "Recording codec: auto picks by the file's extension (.mp4/.mkv H.264, .mov ProRes 422 HQ, .avi MJPEG); h264 or hevc to share, prores or prores_lt to edit, hap, hap_alpha or hap_q to replay in Resolume or TouchDesigner, dnxhr, mp4v (old MPEG-4)", choices=RECORD_CODECS, group="output"),
    Param("fit_mode", Kind.CHOICE, "fit", "Frames of another shape than the output: fit (letterbox), fill (crop) or stretch", choices=FIT_MODES, group="output"),
    Param("blackout", Kind.BOOL, False, "Black output (latched)", group="safety"),
    Param("blackout_momentary", Kind.BOOL, False, "Black output while held", group="safety"),
    Param("freeze", Kind.BOOL, False, "Hold the current output frame", group="safety"),
    Param("passthrough", Kind.BOOL, False, "Crossfade to the raw input", group="safety"),
    Param("passthrough_time", Kind.FLOAT, 1.0, "Crossfade time to and from the raw input", 0.0, 30.0, unit="s", group="safety"),
    Param("fade_to_black", Kind.BOOL, False, "Fade the output to black", group="safety"),
    Param("fade_time", Kind.FLOAT, 2.0, "Fade-to-black time", 0.0, 30.0, unit="s", group="safety"),
    Param("brightness", Kind.FLOAT, 1.0, "Master brightness", 0.0, 2.0, group="safety"),
    Param("watchdog", Kind.BOOL, True, "Cover a generation stall automatically", group="safety"),
    Param("watchdog_limit", Kind.FLOAT, 2.0, "Stall length before the watchdog steps in", 0.1, 60.0, unit="s", group="safety"),
    Param("watchdog_action", Kind.CHOICE, "freeze", "What the watchdog shows during a stall", choices=("freeze", "passthrough"), group="safety"),
)


SHOW_PARAMS: tuple[Param, ...] = (
    Param("bpm", Kind.FLOAT, 120.0, "Tempo", 20.0, 300.0, unit="BPM", group="tempo"),
    Param("tap", Kind.TRIGGER, False, "Tap tempo (fires on 1)", group="tempo"),
    Param("beats_per_bar", Kind.INT, 4, "Beats in a bar", 1, 16, group="tempo"),
    Param("preset_fade_time", Kind.FLOAT, 2.0, "Crossfade time of a preset recall", 0.0, 60.0, unit="s", group="presets"),
    Param("preset_quantize", Kind.CHOICE, "none", "Start a preset recall on the next beat or bar", choices=("none", "beat", "bar"), group="presets"),
    Param("latency_compensation", Kind.FLOAT, 0.0, "Start quantised recalls this much early, to cover the pipeline's latency", 0.0, 2000.0, unit="ms", group="presets"),
)


AUDIO_PARAMS: tuple[Param, ...] = (
    Param("audio_renderer", Kind.CHOICE, "hrtf", "Binaural renderer: hrtf (measured KEMAR filters), flow (learned room and distance cues, falls back to hrtf) or head (spherical-head model, needs no data)", choices=AUDIO_RENDERERS, group="audio"),
    Param("audio_azimuth", Kind.FLOAT, 0.0, "Source direction around the listener: 0 front, +90 left, -90 right, 180 behind", -180.0, 180.0, unit="deg", group="audio"),
    Param("audio_elevation", Kind.FLOAT, 0.0, "Source height angle: +90 above, -40 the lowest measured", -90.0, 90.0, unit="deg", group="audio"),
    Param("audio_distance", Kind.FLOAT, 1.4, "Source distance from the head's centre", 0.25, 20.0, unit="m", group="audio"),
    Param("audio_orbit", Kind.BOOL, False, "Move the source around the listener automatically", group="audio"),
    Param("audio_orbit_speed", Kind.FLOAT, 30.0, "Orbit speed, positive anticlockwise seen from above (towards the left)", -360.0, 360.0, unit="deg/s", group="audio"),
    Param("audio_room", Kind.BOOL, False, "Add a simple room (early reflections and a tail) to the hrtf and head renderers", group="audio"),
    Param("audio_gain", Kind.FLOAT, 0.0, "Output gain", -60.0, 12.0, unit="dB", group="audio"),
    Param("audio_mute", Kind.BOOL, False, "Silence the audio output", group="audio"),
    Param("av_delay", Kind.FLOAT, 0.0, "Delay the audio to meet the video, which the diffusion pipeline delays", 0.0, 2000.0, unit="ms", group="audio"),
)


def engine_store() -> ParamStore:
    return ParamStore(ENGINE_PARAMS + LIVE_PARAMS + SHOW_PARAMS + AUDIO_PARAMS)
