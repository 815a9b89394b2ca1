"""Shell completion (bash, zsh) written from the command line's own parsers.

``facetwin completion bash`` prints a script made from the same option declarations as
``--help``, so a new option completes as soon as it exists: commands and their actions,
every option of the command being typed, the choices of an option that has them,
folders after an option whose value is a folder, files elsewhere. zsh runs the same
function through its bash compatibility (``bashcompinit``).
"""

from __future__ import annotations

import argparse
import shlex

__all__ = ["completion_script", "SHELLS"]

SHELLS = ("bash", "zsh")
_FOLDERS = {"DIR", "MODEL_DIR"}


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser``'s program for ``shell`` ("bash" or "zsh")."""
    if shell not in SHELLS:
        raise ValueError(f"shell must be one of {', '.join(SHELLS)}, got {shell!r}")
    prog = parser.prog
    name = "_" + "".join(c if c.isalnum() else "_" for c in prog)
    nodes = list(_nodes(parser, ""))
    paths = " ".join(shlex.quote(path) for path, _ in nodes if path)
    lines = [
        f"# {prog} {shell} completion, written by `{prog} completion {shell}` from its options.",
        f'# Load it with: eval "$({prog} completion {shell})"  (or save it where your shell reads completions)',
    ]
    if shell == "zsh":
        lines.append("autoload -U +X bashcompinit && bashcompinit")
    lines += [
        f"{name}() {{",
        '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" path="" word i',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        case "$word" in -*) continue ;; esac',
        f"        for known in {paths}; do",
        '            if [[ "$known" == "${path:+$path }$word" ]]; then path="$known"; break; fi',
        "        done",
        "    done",
        "    local options='' commands=''",
        '    case "$path" in',
    ]
    for path, node in nodes:
        options, commands, values = _words(node)
        lines.append(f"    {shlex.quote(path) if path else repr('')})")
        lines.append(f"        options={shlex.quote(' '.join(options))}; commands={shlex.quote(' '.join(commands))}")
        choice_cases = [(flags, kind) for flags, kind in values if isinstance(kind, list)]
        folder_flags = [f for flags, kind in values if kind == "folder" for f in flags]
        file_flags = [f for flags, kind in values if kind == "file" for f in flags]
        if choice_cases or folder_flags or file_flags:
            lines.append('        case "$prev" in')
            for flags, choices in choice_cases:
                words = shlex.quote(" ".join(choices))
                lines.append(f'            {"|".join(flags)}) COMPREPLY=($(compgen -W {words} -- "$cur")); return ;;')
            if folder_flags:
                lines.append(f'            {"|".join(folder_flags)}) COMPREPLY=($(compgen -d -- "$cur")); return ;;')
            if file_flags:
                lines.append(f'            {"|".join(file_flags)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
            lines.append("        esac ;;")
        else:
            lines.append("        ;;")
    lines += [
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$options" -- "$cur"))',
        '    elif [[ -n "$commands" ]]; then',
        '        COMPREPLY=($(compgen -W "$commands" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -f -- "$cur"))',
        "    fi",
        "}",
        f"complete -o filenames -o bashdefault -F {name} {prog.split()[0]}",
    ]
    return "\n".join(lines) + "\n"


def _nodes(parser: argparse.ArgumentParser, path: str):
    """(command path, parser) for the program and every command below it."""
    yield path, parser
    for action in parser._actions:  # noqa: SLF001 (argparse has no public listing)
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _nodes(sub, f"{path} {name}".strip())


def _words(parser: argparse.ArgumentParser):
    """A parser's visible option flags, its commands (or its positional's choices), and
    (flags, choices | "folder" | "file") for each option that takes a value."""
    options, commands, values = [], [], []
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):
            commands += list(action.choices)
            continue
        if not action.option_strings and action.choices:  # a positional of a few words (a shell)
            commands += [str(c) for c in action.choices]
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        options += action.option_strings
        if action.nargs == 0:
            continue
        if action.choices:
            values.append((action.option_strings, [str(c) for c in action.choices]))
        elif action.metavar in _FOLDERS:
            values.append((action.option_strings, "folder"))
        elif action.metavar in ("FILE", "OUT", "IMG", "PATH", "LIST|DIR"):
            values.append((action.option_strings, "file"))
    return options, commands, values
