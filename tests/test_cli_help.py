"""`spot-lab --version` and every subcommand's --help (a one-line description)."""

from __future__ import annotations

import argparse

import pytest

import spot_lab
from spot_lab import cli

COMMANDS = ("generate", "score", "index", "demo", "check")


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"spot-lab {spot_lab.__version__}\n"


def test_every_subcommand_has_a_one_line_description():
    parser = cli.build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    for name, command in sub.choices.items():
        text = command.description
        assert text and "\n" not in text and len(text) <= 80, name
        assert text[0].isupper() and text.endswith("."), name


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_the_description(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    description = cli.build_parser()._subparsers._group_actions[0].choices[name].description
    assert out.startswith(f"usage: spot-lab {name}")
    assert " ".join(description.split()) in " ".join(out.split())
