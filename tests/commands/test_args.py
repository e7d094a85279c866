"""Bad option values stop a command before any work, with argparse's message naming the option (exit 2)
(``model.commands.args``); every command is listed when the command is not known."""

import pytest

from model.commands import build_parser, main


@pytest.mark.parametrize("argv, message", [
    (["run", "--draws", "0"], "argument --draws: must be a positive integer, got '0'"),
    (["run", "--draws", "1e6"], "argument --draws: must be an integer, got '1e6'"),
    (["run", "--seed", "-1"], "argument --seed: must be a non-negative integer, got '-1'"),
    (["run", "--seed", str(2**63)], "argument --seed: must be below 2**63 = 9223372036854775808"),
    (["batch", "default", "--seeds", "1", str(2**64)], "argument --seeds: must be below 2**63"),
    (["calibrate", "--seed", str(2**64)], "argument --seed: must be below 2**63"),
    (["sobol", "--seed", str(2**63)], "argument --seed: must be below 2**63"),
    (["run", "--threads", "0"], "argument --threads: must be a positive integer, got '0'"),
    (["run", "--chunk-size", "-4096"], "argument --chunk-size: must be a positive integer, got '-4096'"),
    (["batch", "default", "--workers", "0"], "argument --workers: must be a positive integer, got '0'"),
    (["batch", "default", "--seeds", "1", "-3"], "argument --seeds: must be a non-negative integer, got '-3'"),
    (["batch", "default", "--draws", "0"], "argument --draws: must be a positive integer, got '0'"),
    (["tornado", "--low", "1.5"], "argument --low: must be strictly between 0 and 1, got '1.5'"),
    (["tornado", "--high", "one"], "argument --high: must be a number between 0 and 1, got 'one'"),
    (["sobol", "--n-base", "0"], "argument --n-base: must be a positive integer, got '0'"),
    (["calibrate", "--chains", "0"], "argument --chains: must be a positive integer, got '0'"),
    (["calibrate", "--tune", "-1"], "argument --tune: must be a non-negative integer, got '-1'"),
])
def test_bad_option_values_stop_the_command(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unknown_command_lists_every_command(capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["frobnicate"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    for command in ("reproduce", "priors", "run", "tornado", "sobol", "calibrate", "batch"):
        assert f"'{command}'" in err, err


@pytest.mark.parametrize("command", [["run"], ["batch", "default"], ["tornado"], ["sobol"], ["calibrate"]])
def test_out_must_not_be_a_file(command, tmp_path, capsys):
    """Checked before the run, not when its results are written (after the work)."""
    blocker = tmp_path / "results"
    blocker.write_text("")
    argv = [*command, "--out", str(blocker)]
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert f"argument --out: {blocker}: exists and is not a folder" in capsys.readouterr().err
    argv = [*command, "--out", str(tmp_path / "new" / "folder")]     # a folder still to be made is fine
    assert build_parser().parse_args(argv).out == str(tmp_path / "new" / "folder")


def test_tornado_low_must_be_below_high(capsys):
    assert main(["tornado", "--low", "0.9", "--high", "0.1"]) == 2
    assert "error: --low (0.9) must be below --high (0.1)" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["run", "--store", "some", "--draws", "10"], "store must be one of compact, full, none"),
    (["sobol", "--n-base", "16"], "n_base must be at least 256"),
])
def test_out_of_range_values_stop_the_command_before_any_work(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["tornado", "sobol"])
def test_an_unknown_output_is_an_error_listing_the_known_ones(command, tmp_path, capsys):
    assert main([command, "no_such_output", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown output 'no_such_output'; known: [") and "'totaal_investeringsopgave'" in err
    assert list(tmp_path.iterdir()) == []
