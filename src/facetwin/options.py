"""The command-line options of each config, read from its fields.

Each option is declared once, on its config field (``facetwin.config.option``: flag,
help group, help text, range); the argparse type, choices and on/off flags come from
the field's annotation. One table per config is built from them here, and read by the
command line (argparse) and the web UI (form fields with the same help), so the two
cannot drift apart. The default each help text ends with is read from the config.
"""

from __future__ import annotations

import argparse
import types
import typing
from typing import Literal, NamedTuple

from facetwin.config import (
    ConvertConfig,
    DatasetConfig,
    DetectConfig,
    EvaluateConfig,
    ExtractConfig,
    TrainConfig,
    architectures,
    duration,
)

__all__ = [
    "Option",
    "EXTRACT_OPTIONS",
    "TRAIN_OPTIONS",
    "CONVERT_OPTIONS",
    "FIND_OPTIONS",
    "FLAGS",
    "DETECT_OPTIONS",
    "DETECT_FLAGS",
    "EVALUATE_OPTIONS",
    "DATASET_OPTIONS",
    "options_of",
    "architectures",
    "duration",
    "help_text",
]


class Option(NamedTuple):
    """One option: its help group, command-line flag, config field, argparse keywords, help."""

    group: str
    flag: str
    field: str
    kwargs: dict
    text: str


def help_text(option: Option, defaults: object) -> str:
    """The option's help, ending with the default read from ``defaults`` (a config)."""
    default = getattr(defaults, option.field)
    if option.kwargs.get("action") in ("store_true", "store_false") or default is None or option.field == "ref_faces":
        suffix = ". Default: keep everyone" if option.field == "ref_faces" else ""
    elif isinstance(default, tuple):
        suffix = f". Default: {' '.join(map(str, default))}" if default else ". Default: none"
    else:
        suffix = f". Default: {default}"
    text = option.text
    if "{models}" in text:
        text = text.replace("{models}", _model_choices())
    if text.endswith("\n"):  # a list: the default on a line of its own
        suffix = suffix.removeprefix(". ")
    return text + suffix


def _model_choices() -> str:
    # One line each (the command line's help formatter keeps these line breaks).
    return "".join(f"\n  {name}: {doc.rstrip('.')}" for name, doc in architectures().items())


def options_of(cls: type) -> list[Option]:
    """A config's options, from the options declared on its fields, in field order within groups."""
    hints = typing.get_type_hints(cls)
    rows = []
    for name, found in cls.__dataclass_fields__.items():
        spec = found.metadata.get("option")
        if spec is None:
            continue
        hint = hints[name]
        kinds = (
            [t for t in typing.get_args(hint) if t is not type(None)]
            if typing.get_origin(hint) in (typing.Union, types.UnionType)
            else [hint]
        )
        base = kinds[0] if len(kinds) == 1 else hint
        kwargs = dict(spec.kwargs)
        if "{models}" in spec.help:  # an architecture: the registry's names are its choices
            kwargs.setdefault("choices", list(architectures()))
        if typing.get_origin(base) is Literal:
            kwargs.setdefault("choices", list(typing.get_args(base)))
        elif base is bool:
            optional = len(kinds) == 1 and base is not hint  # bool | None: yes, no, or the default's choice
            kwargs.setdefault(
                "action",
                argparse.BooleanOptionalAction if optional else "store_false" if found.default else "store_true",
            )
        elif typing.get_origin(base) is tuple:
            kwargs.setdefault("nargs", "+")
        elif base in (int, float):
            kwargs.setdefault("type", base)
        rows.append(Option(spec.group, spec.flag, name, kwargs, spec.help))
    # Grouped, groups in the order they first appear (--help and the UI's forms show them so).
    first = {row.group: i for i, row in reversed(list(enumerate(rows)))}
    return sorted(rows, key=lambda row: first[row.group])


EXTRACT_OPTIONS = options_of(ExtractConfig)
TRAIN_OPTIONS = options_of(TrainConfig)
CONVERT_OPTIONS = options_of(ConvertConfig)
DETECT_OPTIONS = options_of(DetectConfig)
EVALUATE_OPTIONS = options_of(EvaluateConfig)
DATASET_OPTIONS = options_of(DatasetConfig)
FLAGS = {field: flag for table in (EXTRACT_OPTIONS, TRAIN_OPTIONS, CONVERT_OPTIONS) for _, flag, field, _, _ in table}

#: The extraction options that say how faces are found (convert finds them the same way).
FIND_OPTIONS = [
    row
    for row in EXTRACT_OPTIONS
    if row.group in ("detection", "whose faces", "video") and row.field not in ("identity", "every", "held_out")
]

DETECT_FLAGS = {row.field: row.flag for row in DETECT_OPTIONS}
