"""Settings files: a command's options as TOML.

``facetwin train -c run.toml ...`` reads options from a file and ``--print-config``
writes one, as faceswap's .ini and FaceFusion's facefusion.ini keep settings. The keys
are the long flags without their dashes, so a file reads like the command line and
``--help`` documents it. A file's options go through the same parser as typed ones
(the same types, choices, ranges and messages); what is typed on the command line wins.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="facetwin demo")
    >>> _ = parser.add_argument("--steps", type=int, default=500)
    >>> _ = parser.add_argument("--no-smooth", dest="smooth", action="store_false")
    >>> settings_words({"steps": 20, "no-smooth": True}, parser, "settings.toml")
    ['--steps', '20', '--no-smooth']
    >>> print(format_settings(parser, parser.parse_args(["--steps", "20"])), end="")
    # facetwin demo: its options as TOML (read back with: facetwin demo -c FILE)
    steps = 20
    no-smooth = false
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from facetwin.errors import InvalidOptionError

__all__ = ["read_settings", "settings_words", "format_settings", "option_key", "SKIPPED"]

#: Options a settings file does not hold: how a run talks (not what it does), the file
#: itself, and the one secret (a password belongs in --auth-file, never in a shared preset).
SKIPPED = frozenset({"help", "config", "print-config", "verbose", "quiet", "log-file", "auth", "version"})


def read_settings(path: str | Path, command: str) -> dict[str, Any]:
    """The options a TOML file holds for ``command`` ("train", "detect train").

    A file for one command is a flat list of keys; a file for several has a table per
    command (``[train]``, ``[detect.train]``), and its top-level keys count for each.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the 3.10 backport, a dependency there
        import tomli as tomllib

    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise InvalidOptionError("--config", str(path), f"a readable file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidOptionError("--config", str(path), f"a TOML file ({exc})") from None
    values = {key: value for key, value in doc.items() if not isinstance(value, dict)}
    table: Any = doc
    for part in command.split():
        table = table.get(part) if isinstance(table, dict) else None
    if isinstance(table, dict) and table is not doc:
        values.update({key: value for key, value in table.items() if not isinstance(value, dict)})
    return values


def settings_words(values: Mapping[str, Any], parser: argparse.ArgumentParser, path: str | Path) -> list[str]:
    """``values`` (key -> TOML value) as command-line words for ``parser``, in file order."""
    options = {option_key(action): action for action in _options(parser)}
    words: list[str] = []
    for key, value in values.items():
        action = options.get(key)
        if action is None or key in SKIPPED:
            known = ", ".join(sorted(options)) or "none"
            raise InvalidOptionError(f"{path}: {key}", value, f"one of this command's options ({known})")
        flag = "--" + key
        if action.nargs == 0:  # an on/off flag
            if not isinstance(value, bool):
                raise InvalidOptionError(f"{path}: {key}", value, "true or false")
            if isinstance(action, argparse.BooleanOptionalAction):
                words.append(flag if value else "--no-" + key)
            elif value:
                words.append(flag)
        elif isinstance(value, (list, tuple)):
            if action.nargs not in ("+", "*") and not isinstance(action, argparse._AppendAction):
                raise InvalidOptionError(f"{path}: {key}", value, "one value, not a list")
            items = [_word(item) for item in value]
            if isinstance(action, argparse._AppendAction):
                for item in items:
                    words += [flag, item]
            elif items:
                words += [flag, *items]
        elif isinstance(value, (dict, bool)) or value is None:
            raise InvalidOptionError(f"{path}: {key}", value, "a number or a string")
        else:
            words += [flag, _word(value)]
    return words


def format_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """Every option of ``parser`` with its value in ``args`` (or its default), as TOML."""
    lines = [f"# {parser.prog}: its options as TOML (read back with: {parser.prog} -c FILE)"]
    for action in _options(parser):
        key = option_key(action)
        if key in SKIPPED:
            continue
        value = getattr(args, action.dest, None)
        if value is None:
            value = getattr(action, "config_default", action.default)
        if isinstance(action, argparse._StoreFalseAction):  # --no-smooth: its field says the opposite
            value = not value
        if value is None or value == argparse.SUPPRESS:
            lines.append(f"# {key} = (not set)")
            continue
        lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions  # noqa: SLF001 (argparse has no public listing)
        if action.option_strings and action.help != argparse.SUPPRESS and not isinstance(action, argparse._HelpAction)
    ]


def option_key(action: argparse.Action) -> str:
    """--batch-size -> batch-size; an on/off pair (--mask/--no-mask) by its first, positive flag."""
    longs = [flag for flag in action.option_strings if flag.startswith("--")]
    return (longs[0] if longs else action.option_strings[0]).lstrip("-")


def _word(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _toml(value: Any) -> str:
    # TOML's basic strings, integers, floats, booleans and arrays are written like JSON's.
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)
