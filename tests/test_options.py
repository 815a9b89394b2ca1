"""Every setting a user can give, on the command line or in the web UI, is a config field.

Each flag of every command is either a field of that command's configs (facetwin.config),
with the config's default, or one of the command's own arguments listed below (what to
read, where to write, which device, how to print): never a setting with a default of its
own that could drift from the library's. The UI's fields come from the same option tables;
each is a config field and starts at the config's default.
"""

from __future__ import annotations

import argparse
import inspect

import pytest

from facetwin.cli import build_parser
from facetwin.config import (
    ConvertConfig,
    DatasetConfig,
    DetectConfig,
    EvaluateConfig,
    ExtractConfig,
    TrainConfig,
)
from facetwin.options import CONVERT_OPTIONS, DETECT_OPTIONS, EXTRACT_OPTIONS, TRAIN_OPTIONS


def _evaluate_detector_defaults():
    from facetwin.detection import evaluate_detector

    return _Signature(evaluate_detector)


def _verify_defaults():
    from facetwin.forensics import verify

    return _Signature(verify)


class _Signature:
    """A function's keyword defaults, read like a config's fields."""

    def __init__(self, function) -> None:
        self.values = {
            name: p.default for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty
        }

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def __getitem__(self, name: str):
        return self.values[name]


class _Config:
    def __init__(self, config) -> None:
        self.config = config

    def __contains__(self, name: str) -> bool:
        return name in self.config.__dataclass_fields__

    def __getitem__(self, name: str):
        return getattr(self.config, name)


# command -> (where its settings live, its own arguments: inputs, outputs, how to run)
# How a run talks and where its settings come from: every command has them.
COMMON = {"help", "device", "quiet", "verbose", "log_file", "config", "print_config", "json"}
COMMANDS = {
    "extract": ([ExtractConfig()], {"inputs", "output", "overwrite"}),
    "train": ([TrainConfig()], {"faces_a", "faces_b", "model_dir", "resume", "init_from", "from_scratch"}),
    "pretrain": ([TrainConfig()], {"sources", "model_dir", "resume", "per_person"}),
    "convert": (
        [ConvertConfig(), ExtractConfig()],
        {"input", "legacy_model", "model_dir", "output", "alignments", "key_dir"},
    ),
    "demo": ([ExtractConfig()], {"output", "steps", "key_dir"}),
    "verify": ([_verify_defaults], {"files", "json"}),
    "dataset": (
        [DatasetConfig(), DatasetConfig().train],
        {"pairs", "output", "videos", "init_from", "from_scratch", "ray", "key_dir", "check"},
    ),
    "evaluate": (
        [EvaluateConfig()],
        {
            "model",
            "video_a",
            "video_b",
            "a_old",
            "b_old",
            "pairs",
            "videos",
            "gallery",
            "gallery_frames",
            "output",
            "json",
        },
    ),
    "detect train": ([DetectConfig()], {"dataset", "output", "resume"}),
    "detect eval": ([_evaluate_detector_defaults], {"detector", "dataset", "legacy_dataset", "output", "json"}),
    "ui": ([], {"project", "host", "port", "max_upload", "key_dir", "allow", "shared", "auth", "auth_file"}),
    "completion": ([], {"shell"}),
}
# Where the CLI's text form differs from the config's value.
AS_TEXT = {
    ("dataset", "ladder"): lambda ladder: ",".join(f"{k}={v}" for k, v in ladder.items()),
    ("dataset", "variants"): list,
}


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found.update(_subparsers(sub, prefix + name + " "))
    return found


def settings_without_a_field(parser: argparse.ArgumentParser, commands=COMMANDS) -> list[str]:
    """Every flag that is neither a config field with the config's default nor a listed argument."""
    problems = []
    subparsers = _subparsers(parser)
    for name, sub in subparsers.items():
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue  # a group of commands (detect): its commands are checked
        if name not in commands:
            problems.append(f"{name}: a command without an entry in COMMANDS")
            continue
        sources, own = commands[name]
        configs = [s() if callable(s) and not hasattr(s, "__dataclass_fields__") else _Config(s) for s in sources]
        for action in sub._actions:
            dest = action.dest
            if dest in own or dest in COMMON or isinstance(action, argparse._HelpAction):
                continue
            home = next((c for c in configs if dest in c), None)
            flag = "/".join(action.option_strings) or dest
            if home is None:
                problems.append(f"{name} {flag}: no config field {dest!r}")
                continue
            if action.default is None and home[dest] is not None:
                continue  # from an option table: unset keeps the config's value, the help quotes it
            expected = AS_TEXT.get((name, dest), lambda v: v)(home[dest])
            if isinstance(action, argparse._StoreFalseAction):
                expected = home[dest]
            if action.default != expected:
                problems.append(f"{name} {flag}: default {action.default!r}, the config's {expected!r}")
    return problems


def test_every_flag_is_a_config_field_with_its_default():
    assert settings_without_a_field(build_parser()) == []


def test_the_check_catches_a_stray_flag_and_a_drifted_default():
    parser = build_parser()
    sub = _subparsers(parser)
    sub["evaluate"].add_argument("--frames-per-face", type=int, default=3)
    sub["dataset"].set_defaults(jobs=4)
    problems = settings_without_a_field(parser)
    assert len(problems) == 2
    assert "evaluate --frames-per-face: no config field 'frames_per_face'" in problems
    assert "dataset -j/--jobs: default 4, the config's 1" in problems


@pytest.mark.parametrize(
    "table, config",
    [
        (EXTRACT_OPTIONS, ExtractConfig()),
        (TRAIN_OPTIONS, TrainConfig()),
        (CONVERT_OPTIONS, ConvertConfig()),
        (DETECT_OPTIONS, DetectConfig()),
    ],
)
def test_option_tables_name_config_fields_and_quote_their_defaults(table, config):
    from facetwin.options import help_text

    fields = type(config).__dataclass_fields__
    assert [row.flag for row in table if row.field not in fields] == []
    for row in table:
        value = getattr(config, row.field)
        if row.kwargs.get("action") in ("store_true", "store_false") or value in (None, ()) or row.field == "ref_faces":
            continue
        quoted = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        assert help_text(row, config).endswith(f"Default: {quoted}"), row.flag


def test_ui_fields_are_config_fields_at_their_defaults():
    pytest.importorskip("gradio")
    from facetwin.ui import forms

    for table, config in (
        (EXTRACT_OPTIONS, ExtractConfig()),
        (TRAIN_OPTIONS, TrainConfig()),
        (CONVERT_OPTIONS, ConvertConfig()),
    ):
        fields = type(config).__dataclass_fields__
        for row in table:
            component = forms.component(row, config)
            field = component.elem_id.removeprefix("opt-").replace("-", "_")
            assert field in fields, component.elem_id
            # An untouched form gives back the config's own value.
            assert getattr(forms.config_from_form(type(config), [row], (component.value,)), field) == getattr(
                config, field
            ), row.flag


def test_choices_are_the_configs_literals():
    # One spelling of every set of choices: the config field's Literal. The checks,
    # --help's {a,b} and the UI's dropdowns all read it.
    from facetwin.config import literal_choices

    checked = 0
    for name, sub in _subparsers(build_parser()).items():
        sources = COMMANDS.get(name, ([], set()))[0]
        classes = [type(s) for s in sources if hasattr(s, "__dataclass_fields__")]
        for action in sub._actions:
            for cls in classes:
                choices = literal_choices(cls, action.dest)
                if choices is not None:
                    assert list(action.choices) == list(choices), f"{name} {action.option_strings}"
                    checked += 1
                    break
    assert checked >= 10  # detector, face, precision (x3), to, mask, colour, blend, ...
    with pytest.raises(ValueError, match="blend must be one of alpha, poisson"):
        ConvertConfig(blend="median")


def test_each_option_is_declared_on_its_field():
    # flag, group, help and range live on the field (config.option); the tables are read off them.
    from facetwin.config import option_spec

    for table, cls in (
        (EXTRACT_OPTIONS, ExtractConfig),
        (TRAIN_OPTIONS, TrainConfig),
        (CONVERT_OPTIONS, ConvertConfig),
        (DETECT_OPTIONS, DetectConfig),
    ):
        for row in table:
            spec = option_spec(cls, row.field)
            assert spec is not None and (spec.flag, spec.group, spec.help) == (row.flag, row.group, row.text)
    # A declared range is the config's check; ints are checked as ints.
    with pytest.raises(ValueError, match="hog_upsample must be >= 0 and <= 3, got 9"):
        ExtractConfig(hog_upsample=9)
    with pytest.raises(ValueError, match="crop_size must be an int"):
        DetectConfig(crop_size=96.5)
    with pytest.raises(ValueError, match="lr must be > 0"):
        TrainConfig(lr=0)
    assert TrainConfig(steps=None).steps is None  # unset stays allowed
