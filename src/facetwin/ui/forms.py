"""Form fields built from the option tables, and the configs their values describe.

The same ``facetwin.options`` tables build ``--help``: a field has its help text with the
default and the flag, and the widget its type calls for. Its label is in words
(``label``): a flag such as ``--no-channels-last`` means little to someone who never
used the command line.
"""

from __future__ import annotations

import argparse
from typing import Any

import gradio as gr

from facetwin.errors import InvalidOptionError
from facetwin.options import FLAGS, Option, duration, help_text

__all__ = ["component", "config_from_form", "form", "label"]

#: Labels in words for fields whose name alone would not say it (a flag's "no-" turned
#: round, an abbreviation, a unit); the others are their field's name as words.
_LABELS = {
    "hog_upsample": "HOG detector: upsampling",
    "yunet_threshold": "YuNet detector: confidence",
    "min_size": "Smallest face (px)",
    "crop_size": "Crop size (px)",
    "coverage": "Face coverage of the crop",
    "ref_threshold": "Reference face: how alike (identity distance)",
    "identity": "Store identity vectors",
    "redetect_every": "Search the whole frame every N frames",
    "smooth": "Do not smooth landmarks",
    "smooth_min_cutoff": "Smoothing at rest",
    "smooth_beta": "Smoothing of fast moves",
    "every": "Keep every Nth frame",
    "held_out": "Held-out end of the video (fraction)",
    "model": "Architecture",
    "face": "Face area",
    "mask": "Mask",
    "batch_size": "Batch size",
    "png_compression": "PNG compression",
    "ref_faces": "Reference faces",
    "lr": "Learning rate",
    "beta1": "Adam beta1",
    "beta2": "Adam beta2",
    "precision": "Precision",
    "channels_last": "Keep tensors channels-first",
    "compile": "Compile the model (torch.compile)",
    "threads": "CPU threads",
    "freeze": "Keep these parts fixed",
    "l1_weight": "L1 loss weight",
    "ssim_weight": "DSSIM loss weight",
    "eyes_mouth_weight": "Extra weight of eyes and mouth",
    "mask_weight": "Mask loss weight",
    "match_colour": "Do not match A's colour to B's",
    "rotation": "Rotation (degrees)",
    "warp_sigma": "Warp",
    "colour_jitter": "Colour jitter",
    "steps": "Train until step",
    "time_limit": "Time limit",
    "preview_every": "Preview every N steps",
    "save_every": "Save every N steps",
    "log_every": "Log losses every N steps",
    "tensorboard": "Also log to TensorBoard",
    "to": "Whose face",
    "forehead": "Forehead extension",
    "erode": "Erode the mask",
    "feather": "Feather the mask edge",
    "colour": "Colour correction",
    "colour_smoothing": "Colour smoothing over frames",
    "blend": "Blending",
    "crf": "Video quality (CRF)",
    "preset": "Encoder speed preset",
    "side_by_side": "Side by side with the input and mask",
    "gap_seconds": "Gap before the test part (s)",
    "max_frames": "Test frames per video",
}


def label(option: Option) -> str:
    """The form label of ``option``: in words, never its flag (the help text gives that)."""
    words = _LABELS.get(option.field)
    if words is None:
        words = option.field.replace("_", " ")
        words = words[:1].upper() + words[1:]
    return words


def component(option: Option, defaults: object, value: Any = None) -> gr.components.Component:
    kwargs = option.kwargs
    # The flag ends the help: what the command line calls the same setting.
    info = f"{help_text(option, defaults)} ({option.flag})"
    default = getattr(defaults, option.field) if value is None else value
    elem_id = f"opt-{option.field.replace('_', '-')}"
    common = {"label": label(option), "info": info, "elem_id": elem_id, "min_width": 200}
    if "choices" in kwargs and kwargs.get("nargs") == "+":
        return gr.CheckboxGroup(list(kwargs["choices"]), value=list(default), **common)
    if "choices" in kwargs:
        return gr.Dropdown(list(kwargs["choices"]), value=default, **common)
    action = kwargs.get("action")
    if action == "store_true":
        return gr.Checkbox(value=bool(default), **common)
    if action == "store_false":  # a --no-... flag: ticked means the flag is given
        return gr.Checkbox(value=not default, **common)
    if action is argparse.BooleanOptionalAction:
        return gr.Dropdown(
            ["the model's choice", "yes", "no"],
            value={None: "the model's choice", True: "yes", False: "no"}[default],
            **common,
        )
    if kwargs.get("type") is duration:
        return gr.Textbox(value="", placeholder="90s, 30m, 2h (empty: no limit)", **common)
    if option.field == "model":
        from facetwin.models import list_models

        return gr.Dropdown(list_models(), value=default, **common)
    if default is None:  # a number that may be left out (--steps): a Number box cannot be empty
        return gr.Textbox(value="", placeholder="empty: none", **common)
    if kwargs.get("type") is int:
        return gr.Number(value=default, precision=0, **common)
    return gr.Number(value=default, **common)


def config_from_form(cls: type, options: list[Option], values: tuple) -> Any:
    """The config the form's values describe (empty fields keep the config's default)."""
    given: dict[str, Any] = {}
    for option, value in zip(options, values):
        kwargs = option.kwargs
        if value is None or value == "":
            continue
        if kwargs.get("action") == "store_false":
            value = not value
        elif kwargs.get("action") is argparse.BooleanOptionalAction:
            value = {"yes": True, "no": False}.get(value)
            if value is None:
                continue
        elif kwargs.get("type") is duration:
            try:
                value = duration(value)
            except argparse.ArgumentTypeError as exc:
                raise InvalidOptionError(option.flag, value, str(exc)) from None
        elif kwargs.get("nargs") == "+":
            value = tuple(value)
        elif kwargs.get("type") in (int, float):
            try:
                value = kwargs["type"](value)
            except (TypeError, ValueError):
                raise InvalidOptionError(option.flag, value, f"a number ({kwargs['type'].__name__})") from None
        given[option.field] = value
    try:
        return cls(**given)
    except InvalidOptionError as exc:
        raise InvalidOptionError(FLAGS.get(exc.name, exc.name), exc.value, exc.expected) from None


def form(options: list[Option], defaults: object, overrides: dict[str, Any] | None = None) -> list:
    """One component per option, grouped under the option's help group."""
    overrides = overrides or {}
    components, groups = [], {}
    for option in options:
        groups.setdefault(option.group, []).append(option)
    for group, members in groups.items():
        gr.Markdown(f"**{group}**")
        with gr.Row():
            for option in members:
                components.append(component(option, defaults, overrides.get(option.field)))
    return components
