"""Form fields built from the option tables, and the configs their values describe.

The same ``facetwin.options`` tables build ``--help``: a field has the flag's name, its
help text with the default, and the widget its type calls for.
"""

from __future__ import annotations

import argparse
from typing import Any

import gradio as gr

from facetwin.errors import InvalidOptionError
from facetwin.options import FLAGS, Option, duration, help_text

__all__ = ["component", "config_from_form", "form"]


def component(option: Option, defaults: object, value: Any = None) -> gr.components.Component:
    kwargs, label = option.kwargs, option.flag.lstrip("-")
    info = help_text(option, defaults)
    default = getattr(defaults, option.field) if value is None else value
    elem_id = f"opt-{option.field.replace('_', '-')}"
    common = {"label": label, "info": info, "elem_id": elem_id, "min_width": 200}
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
