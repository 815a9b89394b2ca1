"""The command line's naming convention (docs/cli.md), held for every command.

``problems`` walks every command's parser (``detect train`` and ``detect eval`` too) and
names each flag that breaks a rule; the real parser must have none, and parsers with one
planted fault each must be caught, so the check itself can fail.
"""

from __future__ import annotations

import argparse
import re

import pytest

from facetwin import cli

LONG = re.compile(r"--[a-z][a-z0-9]+(-[a-z0-9]+)*")
#: Options whose value's form follows what the command writes: a folder, a video, a file.
FORM_VARIES = {"--output"}
ON_OFF = (
    argparse._StoreTrueAction,
    argparse._StoreFalseAction,
    argparse.BooleanOptionalAction,
    argparse._CountAction,
    argparse._HelpAction,
    argparse._VersionAction,
)


def commands(parser: argparse.ArgumentParser, prefix: str = "facetwin") -> dict[str, argparse.ArgumentParser]:
    """Every runnable command's parser by name ("facetwin detect eval"), the top one included."""
    found = {prefix: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(commands(sub, f"{prefix} {name}"))
    return found


def problems(parser: argparse.ArgumentParser) -> list[str]:
    """Every break of the convention in ``parser`` and its commands, one line each."""
    found: list[str] = []
    meaning: dict[str, tuple[str, object, str]] = {}  # long flag -> (metavar, choices, first command)
    for name, command in commands(parser).items():
        runnable = not any(isinstance(a, argparse._SubParsersAction) for a in command._actions)
        flags = {flag for action in command._actions for flag in action.option_strings}
        talk = {"-h", "--help", "-v", "--verbose", "-q", "--quiet", "--log-file", "-c", "--config", "--print-config"}
        settings = ("-c", "--print-config") if flags - talk else ()  # a command with options of its own
        if runnable:
            for needed in ("-h", "-v", "-q", "--log-file", *settings):
                if needed not in flags:
                    found.append(f"{name}: no {needed}")
        for action in command._actions:
            hidden = action.help == argparse.SUPPRESS
            if hidden:
                if not isinstance(action, cli._Renamed) and action.option_strings:
                    found.append(f"{name}: {action.option_strings} hidden but not an old spelling")
                continue
            if not action.option_strings:  # a positional: what the command reads
                if isinstance(action, argparse._SubParsersAction):
                    continue
                if not (action.metavar and action.metavar.upper() == action.metavar):
                    found.append(f"{name}: positional {action.dest} has no upper-case METAVAR")
                if not action.help or len(action.help) < 10:
                    found.append(f"{name}: positional {action.metavar} has no help")
                continue
            longs = [f for f in action.option_strings if f.startswith("--")]
            shorts = [f for f in action.option_strings if not f.startswith("--")]
            if not longs:
                found.append(f"{name}: {action.option_strings} has no long flag")
                continue
            for flag in longs:
                if not LONG.fullmatch(flag):
                    found.append(f"{name}: {flag} is not lower-case words of two letters or more joined by dashes")
            long = longs[0]
            for short in shorts:
                if short == "-h" and long == "--help":
                    continue
                if cli.SHORT_FLAGS.get(long) != short:
                    found.append(f"{name}: {short} is not the short flag of {long} (cli.SHORT_FLAGS)")
            if long in cli.SHORT_FLAGS and cli.SHORT_FLAGS[long] not in shorts:
                found.append(f"{name}: {long} without its short flag {cli.SHORT_FLAGS[long]}")
            if not action.help or len(action.help) < 10:
                found.append(f"{name}: {long} has no help")
            if long == "--model" and (action.choices or action.metavar != "DIR" or "the trained" not in action.help):
                found.append(f"{name}: --model must name the trained model read (metavar DIR, 'the trained ...')")
            if long == "--arch" and not action.choices:
                found.append(f"{name}: --arch must list the architectures as its choices")
            if long == "--output" and "-o" not in shorts:
                found.append(f"{name}: --output without -o")
            if not isinstance(action, ON_OFF):
                default = getattr(action, "config_default", action.default)
                if default not in (None, argparse.SUPPRESS, (), []) and "Default" not in action.help:
                    found.append(f"{name}: {long} does not state its default ({default!r})")
            if long in FORM_VARIES or isinstance(action, ON_OFF):
                continue
            seen = (action.metavar, tuple(action.choices or ()), name)
            first = meaning.setdefault(long, seen)
            if first[:2] != seen[:2]:
                found.append(f"{name}: {long} {seen[:2]} differs from {first[2]}'s {first[:2]}")
        text = command.format_help()
        for action in command._actions:
            if action.help != argparse.SUPPRESS:
                for flag in action.option_strings:
                    if flag not in text:
                        found.append(f"{name}: {flag} missing from --help")
    return found


def test_every_command_keeps_the_convention():
    assert problems(cli.build_parser()) == []


def test_the_check_walks_every_command():
    names = set(commands(cli.build_parser()))
    expected = {"extract", "train", "pretrain", "convert", "demo", "verify", "dataset", "evaluate", "ui"}
    assert {f"facetwin {n}" for n in expected} | {"facetwin detect train", "facetwin detect eval"} <= names


def _planted(fault: str) -> argparse.ArgumentParser:
    """A small command line that keeps the convention but for ``fault``."""
    logs, settings = cli._logging_options(), cli._settings_options()
    parser = argparse.ArgumentParser(prog="facetwin")
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("one", parents=[logs, settings])
    two = sub.add_parser("two", parents=[logs, settings])
    one.add_argument("inputs", metavar="INPUT", help="the videos this command reads")
    one.add_argument("-o", "--output", metavar="DIR", help="the folder this command writes")
    one.add_argument("-s", "--steps", type=int, default=5, metavar="N", help="how many steps. Default: 5")
    two.add_argument("-m", "--model", metavar="DIR", help="the trained model: a folder")
    two.add_argument("-s", "--steps", type=int, metavar="N", help="how many steps to run")
    if fault == "single letter":
        two.add_argument("--a", metavar="VIDEO", help="person A's video, the old way")
    elif fault == "stray short":
        two.add_argument("-x", "--crop-size", metavar="PX", help="side of the crops in pixels")
    elif fault == "model as architecture":
        one.add_argument("--model", choices=["fast64", "fast128"], help="the architecture to train")
    elif fault == "other meaning":
        two.add_argument("-o", "--output", metavar="DIR", help="the folder this command writes")
        two.add_argument("--held-out", type=float, metavar="F", help="fraction of the video kept back")
        one.add_argument("--held-out", type=int, metavar="N", help="frames of the video kept back")
    elif fault == "no help":
        two.add_argument("--seed", type=int, metavar="N")
    elif fault == "silent default":
        two.add_argument("--crf", type=int, default=18, metavar="Q", help="H.264 quality, lower is better")
    elif fault == "no short for a long":
        two.add_argument("--batch-size", type=int, metavar="N", help="faces a step, more is faster")
    elif fault == "no verbose":
        sub.add_parser("three").add_argument("-o", "--output", metavar="DIR", help="the folder this writes")
    elif fault == "hidden":
        two.add_argument("--secret", help=argparse.SUPPRESS)
    return parser


@pytest.mark.parametrize(
    "fault, expected",
    [
        ("single letter", "--a is not lower-case words"),
        ("stray short", "-x is not the short flag of --crop-size"),
        ("model as architecture", "--model must name the trained model"),
        ("other meaning", "--held-out ('F', ()) differs from facetwin one's ('N', ())"),
        ("no help", "--seed has no help"),
        ("silent default", "--crf does not state its default"),
        ("no short for a long", "--batch-size without its short flag -b"),
        ("no verbose", "facetwin three: no -v"),
        ("hidden", "hidden but not an old spelling"),
    ],
)
def test_a_planted_fault_is_caught(fault, expected):
    assert problems(_planted("none")) == []
    found = problems(_planted(fault))
    assert any(expected in line for line in found), found


def test_old_spellings_are_hidden_and_point_at_a_flag_that_exists():
    for name, command in commands(cli.build_parser()).items():
        flags = {flag for action in command._actions for flag in action.option_strings}
        for action in command._actions:
            if isinstance(action, cli._Renamed):
                assert action.help == argparse.SUPPRESS
                new = action.new.split()[0].split("/")[-1]
                assert new in flags or new == "the", (name, action.new)
        for old, new in getattr(command, "old_flags", {}).items():
            assert old not in command.format_help() and new.split("/")[-1] in flags, (name, old)
            assert command._option_string_actions[old] is command._option_string_actions[new.split("/")[-1]]
