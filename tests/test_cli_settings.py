"""The command line's shared parts: old spellings, -v/-q/--log-file anywhere, settings files."""

from __future__ import annotations

import pytest
import tomllib
from _helpers import tiny_model_dir
from test_cli_convention import commands

from facetwin import cli


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seen_train(monkeypatch):
    """facetwin.training.train replaced by a recorder: what the command line would train with."""
    import facetwin.training

    calls = []

    def record(faces_a, faces_b, model_dir, **kwargs):
        calls.append({"faces": (faces_a, faces_b), "model_dir": model_dir, **kwargs})
        raise KeyboardInterrupt  # nothing to save: the command reports an interrupted start

    monkeypatch.setattr(facetwin.training, "train", record)
    return calls


def test_old_spellings_still_work_with_one_note_each(capsys, seen_train, tmp_path):
    code, _, err = run(
        capsys, "-q", "train", "fa", "fb", "--model-dir", str(tmp_path / "m"), "--model", "tiny64", "-s", "3"
    )
    assert code == cli.EXIT_INTERRUPTED
    config = seen_train[0]["config"]
    assert (config.model, config.steps, seen_train[0]["model_dir"]) == ("tiny64", 3, str(tmp_path / "m"))
    notes = [line for line in err.splitlines() if ": note: " in line]
    assert notes == [
        "facetwin train: note: --model-dir is now -o/--output (the old spelling works until facetwin 1.0)",
        "facetwin train: note: --model is now --arch (the old spelling works until facetwin 1.0)",
    ]


def test_new_spellings_say_nothing(capsys, seen_train, tmp_path):
    code, _, err = run(
        capsys, "train", "fa", "fb", "-o", str(tmp_path / "m"), "--arch", "tiny64", "-b", "4", "-t", "90s", "-q"
    )
    assert code == cli.EXIT_INTERRUPTED and "note:" not in err
    config = seen_train[0]["config"]
    assert (config.model, config.batch_size, config.time_limit, config.steps) == ("tiny64", 4, 90.0, None)


def test_convert_takes_the_model_either_way(capsys, tmp_path, grace_hopper_path):
    model = tiny_model_dir(tmp_path / "m")
    code, out, err = run(
        capsys, "convert", str(grace_hopper_path), "-m", str(model), "-o", str(tmp_path / "new.png"), "-q"
    )
    assert code == 0 and err == "" and (tmp_path / "new.png").is_file()
    code, out, err = run(capsys, "-q", "convert", str(grace_hopper_path), str(model), "-o", str(tmp_path / "old.png"))
    assert code == 0 and (tmp_path / "old.png").is_file()
    assert (
        err
        == "facetwin convert: note: the model as a second positional is now -m/--model DIR (the old spelling works until facetwin 1.0)\n"
    )
    code, _, err = run(
        capsys, "convert", str(grace_hopper_path), str(model), "-m", str(model), "-o", str(tmp_path / "x.png")
    )
    assert code == 2 and "given once" in err
    code, _, err = run(capsys, "convert", str(grace_hopper_path), "-o", str(tmp_path / "x.png"))
    assert code == 2 and err.strip().endswith(
        "-m/--model DIR is required: the trained model to convert with (a folder written by facetwin train)"
    )


def test_evaluate_reads_the_old_a_and_b(capsys):
    code, _, err = run(capsys, "evaluate", "-m", "m", "--a", "va.mp4")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith("facetwin evaluate: note: --a is now the first positional, VIDEO_A")
    assert lines[1].endswith("VIDEO_B is missing")


def test_verbosity_and_quiet_after_the_command(capsys, grace_hopper_path, tmp_path):
    code, out, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "a"), "-q")
    assert code == 0 and err == "" and "1 faces saved" in out
    code, out, err = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "b"), "-v", "-q")
    assert code == 0 and "INFO facetwin.extraction" in err and "frame/s" not in err


def test_log_file_gets_the_facts_with_times(capsys, grace_hopper_path, tmp_path):
    log = tmp_path / "run.log"
    code, out, err = run(
        capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "a"), "-q", "--log-file", str(log)
    )
    assert code == 0 and "INFO" not in err  # the console keeps to what -v asked
    lines = log.read_text().splitlines()
    assert lines and all(line[:4].isdigit() and " INFO " in line or " WARNING " in line for line in lines)
    assert any("facetwin.extraction" in line for line in lines)
    code, _, err = run(
        capsys,
        "extract",
        str(grace_hopper_path),
        "-o",
        str(tmp_path / "c"),
        "--log-file",
        str(tmp_path / "no" / "x.log"),
    )
    assert code == 2 and err.count("\n") == 1 and "--log-file" in err


@pytest.mark.parametrize(
    "name", sorted(set(commands(cli.build_parser())) - {"facetwin", "facetwin detect", "facetwin completion"})
)
def test_print_config_reads_back_as_itself(name, capsys, tmp_path):
    """Every command's settings as TOML: valid TOML, and read back with -c, the same settings."""
    words = name.split()[1:]
    code, text, err = run(capsys, *words, "--print-config")
    assert code == 0 and err == ""
    doc = tomllib.loads(text)
    assert doc and all(not isinstance(value, dict) for value in doc.values())
    path = tmp_path / "settings.toml"
    path.write_text(text)
    code, again, err = run(capsys, *words, "-c", str(path), "--print-config")
    assert (code, again, err) == (0, text, "")


def test_a_settings_file_sets_options_and_the_command_line_wins(capsys, seen_train, tmp_path):
    code, text, _ = run(capsys, "train", "--print-config")
    path = tmp_path / "run.toml"
    path.write_text(
        text.replace("batch-size = 32", "batch-size = 8")
        .replace("# steps = (not set)", "steps = 40")
        .replace("# output = (not set)", f'output = "{tmp_path / "from-file"}"')
        .replace("no-match-colour = false", "no-match-colour = true")
    )
    code, _, err = run(capsys, "-q", "train", "fa", "fb", "-c", str(path), "--steps", "7")
    assert code == cli.EXIT_INTERRUPTED, err
    config = seen_train[0]["config"]
    assert (config.batch_size, config.steps, config.match_colour) == (8, 7, False)
    assert seen_train[0]["model_dir"] == str(tmp_path / "from-file")  # a required option, from the file


def test_one_file_for_several_commands(capsys, seen_train, tmp_path):
    path = tmp_path / "project.toml"
    path.write_text('device = "cpu"\n[train]\nbatch-size = 6\n[detect.train]\nwidth = 8\n[convert]\ncrf = 30\n')
    code, _, _ = run(capsys, "-q", "train", "fa", "fb", "-o", str(tmp_path / "m"), "-c", str(path), "-s", "1")
    assert code == cli.EXIT_INTERRUPTED
    assert (seen_train[0]["config"].batch_size, seen_train[0]["device"]) == (6, "cpu")
    code, text, _ = run(capsys, "detect", "train", "-c", str(path), "--print-config")
    assert "width = 8" in text and 'device = "cpu"' in text and "batch-size = 6" not in text


@pytest.mark.parametrize(
    "content, message",
    [
        ("batch-size = 0\n", "--batch-size must be >= 1"),
        ("batch-size = [1, 2]\n", "one value, not a list"),
        ("bacth-size = 8\n", "bacth-size must be one of this command's options"),
        ("compile = 3\n", "compile must be true or false"),
        ('auth = "me:secret"\n', "auth must be one of this command's options"),
        ("batch-size = \n", "must be a TOML file"),
        ('arch = "fast32"\n', "invalid choice: 'fast32'"),
    ],
)
def test_a_bad_settings_file_is_one_line(content, message, capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    try:
        code, out, err = run(capsys, "train", "fa", "fb", "-o", str(tmp_path / "m"), "-s", "1", "-c", str(path))
    except SystemExit as exc:  # argparse's own usage error (a bad choice), one line as well
        code, (out, err) = exc.code, capsys.readouterr()
        assert f"options came from {path} too" in err
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "m").exists()


def test_a_missing_settings_file_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "extract", "x.mp4", "-o", str(tmp_path / "o"), "-c", str(tmp_path / "none.toml"))
    assert code == 2 and err.count("\n") == 1 and "--config must be a readable file" in err


def test_json_summaries_for_scripts(capsys, grace_hopper_path, astronaut, predictor, tmp_path):
    import json

    from _helpers import faceset

    code, out, _ = run(capsys, "extract", str(grace_hopper_path), "-o", str(tmp_path / "f"), "--json", "-q")
    doc = json.loads(out)
    assert code == 0 and (doc["command"], doc["faces_saved"], doc["output"]) == ("extract", 1, str(tmp_path / "f"))
    a = faceset(astronaut, tmp_path / "a", predictor, n=8)
    code, out, _ = run(
        capsys, "train", str(a), str(a), "-o", str(tmp_path / "m"), "--arch", "tiny64", "-s", "2",
        "-b", "2", "--from-scratch", "--json", "-q",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and (doc["command"], doc["step"], doc["stopped_by"]) == ("train", 2, "steps")
    assert doc["model_dir"] == str(tmp_path / "m") and doc["loss_a"] > 0
    code, out, _ = run(
        capsys,
        "convert",
        str(grace_hopper_path),
        "-m",
        str(tmp_path / "m"),
        "-o",
        str(tmp_path / "g.png"),
        "--json",
        "-q",
    )
    doc = json.loads(out)
    assert code == 0 and (doc["command"], doc["frames"], doc["faces_swapped"], doc["to"]) == ("convert", 1, 1, "a")
