"""Form fields from the option tables, and form values to configs."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio", reason="the web UI needs facetwin[ui] (pip install 'facetwin[ui]')")

from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig  # noqa: E402
from facetwin.errors import InvalidOptionError  # noqa: E402
from facetwin.options import CONVERT_OPTIONS, EXTRACT_OPTIONS, TRAIN_OPTIONS  # noqa: E402
from facetwin.ui import forms  # noqa: E402


def _values(options, overrides):
    return tuple(overrides.get(o.field) for o in options)


def test_empty_form_gives_the_default_configs():
    assert forms.config_from_form(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {})) == TrainConfig()
    assert forms.config_from_form(ExtractConfig, EXTRACT_OPTIONS, _values(EXTRACT_OPTIONS, {})) == ExtractConfig()
    assert forms.config_from_form(ConvertConfig, CONVERT_OPTIONS, _values(CONVERT_OPTIONS, {})) == ConvertConfig()


def test_form_values_reach_the_config():
    values = {
        "model": "tiny64",
        "steps": "120",
        "time_limit": "1h30m",
        "batch_size": 4.0,
        "lr": 1e-4,
        "channels_last": True,  # the --no-channels-last box ticked
        "mask": "no",
        "freeze": ["encoder"],
        "tensorboard": False,
    }
    config = forms.config_from_form(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, values))
    assert (config.model, config.steps, config.time_limit, config.batch_size) == ("tiny64", 120, 5400.0, 4)
    assert config.lr == 1e-4 and config.channels_last is False and config.mask is False
    assert config.freeze == ("encoder",)
    keep = forms.config_from_form(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {"mask": "the model's choice"}))
    assert keep.mask is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("steps", "many", "--steps.*a number"),
        ("time_limit", "soon", "--time.*not a duration"),
        ("batch_size", 0, "--batch-size"),
    ],
)
def test_bad_form_values_name_the_option(field, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        forms.config_from_form(TrainConfig, TRAIN_OPTIONS, _values(TRAIN_OPTIONS, {field: value}))


def test_every_form_field_has_help_and_its_default(tmp_path):
    import gradio as gr

    with gr.Blocks():
        components = forms.form(TRAIN_OPTIONS, TrainConfig())
    assert len(components) == len(TRAIN_OPTIONS)
    for option, component in zip(TRAIN_OPTIONS, components):
        assert component.info and len(component.info) > 15, option.field
        assert component.info.endswith(f"({option.flag})")  # what the command line calls it
        assert component.elem_id == "opt-" + option.field.replace("_", "-")
    steps = components[[o.field for o in TRAIN_OPTIONS].index("steps")]
    assert steps.value == ""  # empty: train until stopped, not 0 steps


@pytest.mark.parametrize(
    "options", [EXTRACT_OPTIONS, TRAIN_OPTIONS, CONVERT_OPTIONS], ids=["extract", "train", "convert"]
)
def test_labels_are_words_not_flags(options):
    labels = [forms.label(o) for o in options]
    for option, words in zip(options, labels):
        # No flag spelling: no leading dashes, no "no-...", no underscores; a capital first.
        assert words[0].isupper() and "--" not in words and "no-" not in words.lower(), (option.flag, words)
        assert "_" not in words, (option.field, words)
    assert forms.label(next(o for o in TRAIN_OPTIONS if o.field == "channels_last")) == "Keep tensors channels-first"
    assert forms.label(next(o for o in TRAIN_OPTIONS if o.field == "lr")) == "Learning rate"
