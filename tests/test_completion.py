"""Shell completion: the bash script ``facetwin completion bash`` prints, run in bash."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess

import pytest
from test_cli_convention import commands

from facetwin import cli
from facetwin.completion import completion_script

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    code = cli.main(["completion", "bash"])
    assert code == 0
    return completion_script(cli.build_parser(), "bash")


def complete(script: str, words: list[str], cwd) -> list[str]:
    """What bash offers for the last of ``words`` (the word being typed; "" for a new one)."""
    line = " ".join(shlex.quote(w) for w in words)
    program = (
        f'{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _facetwin; printf "%s\\n" "${{COMPREPLY[@]}}"'
    )
    done = subprocess.run(["bash", "--norc", "-c", program], cwd=cwd, capture_output=True, text=True, check=True)
    return sorted(filter(None, done.stdout.splitlines()))


@pytest.mark.parametrize(
    "words, offered",
    [
        (["facetwin", "tr"], ["train"]),
        (["facetwin", "-v", "de"], ["demo", "detect"]),
        (["facetwin", "detect", "e"], ["eval"]),
        (["facetwin", "train", "--ar"], ["--arch"]),
        (["facetwin", "train", "fa", "fb", "--arch", "fast"], ["fast128", "fast64"]),
        (["facetwin", "detect", "eval", "--sp"], ["--split"]),
        (["facetwin", "convert", "x.mp4", "--mask", ""], ["both", "hull", "learned"]),
        (["facetwin", "completion", ""], ["bash", "zsh"]),  # a positional with choices
        (["facetwin", "train", "-o", "mo"], ["models"]),  # a folder option: folders only
        (["facetwin", "extract", "mo"], ["models", "moo.txt"]),  # an input: any file
    ],
)
def test_bash_offers_what_the_parser_takes(script, words, offered, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "moo.txt").write_text("x")
    assert complete(script, words, tmp_path) == offered


def test_every_option_of_every_command_completes(script, tmp_path):
    for name, parser in commands(cli.build_parser()).items():
        flags = {
            flag
            for action in parser._actions
            if action.help != argparse.SUPPRESS
            for flag in action.option_strings
            if flag.startswith("--")
        }
        offered = set(complete(script, [*name.split(), "--"], tmp_path))
        assert offered == flags, name


def test_zsh_runs_the_same_function_through_bashcompinit():
    bash = completion_script(cli.build_parser(), "bash")
    zsh = completion_script(cli.build_parser(), "zsh")
    assert "autoload -U +X bashcompinit && bashcompinit" in zsh
    assert zsh.split("bashcompinit\n", 1)[1] == bash.split("\n", 2)[2]
