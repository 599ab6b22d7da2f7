"""Never lose a user's data: every command that writes, pointed at a lake holding files
spot-lab did not create, leaves each of them byte-identical (it writes beside them, or
refuses in one line).

WRITERS lists the commands that write. A new writing command (e.g. `spot-lab ingest`) adds
its line here; the test then plants foreign files and checks them for it too.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from spot_lab import cli
from spot_lab.store.lake import DATA_FILE, Lake
from spot_lab.store.schema import TABLES
from tests.conftest import DEMO_DAY
from tests.support import snapshot

DAY = DEMO_DAY.isoformat()
ZEEK_LOGS = Path(__file__).resolve().parent / "fixtures" / "zeek" / "conn.log"


@dataclass(frozen=True)
class Writer:
    name: str
    args: tuple[str, ...]  # after `spot-lab`; {lake} and {out} are filled in
    # "writes": succeeds, writing beside the foreign files; "refuses": exit 2, one line
    outcome: str
    # a derived table whose day partition also gets a foreign *.parquet (the command then
    # must refuse: replacing the partition would lose that file or double its rows)
    replaces: str | None = None


WRITERS = [
    Writer("generate", ("generate", "--lake", "{lake}", "--date", DAY, "--quiet"), "refuses"),
    Writer(
        "generate --force",
        ("generate", "--lake", "{lake}", "--date", DAY, "--force", "--quiet"),
        "refuses",
    ),  # fmt: skip
    Writer("demo", ("demo", "--execute", "--lake", "{lake}", "--output", "{out}"), "refuses"),
    Writer("score", ("score", "--type", "proxy", "--date", DAY, "--lake", "{lake}"), "writes"),
    Writer(
        "score over an export",
        ("score", "--type", "dns", "--date", DAY, "--lake", "{lake}"),
        "refuses",
        replaces="dns_scores",
    ),  # fmt: skip
    # flow_threats is written after flow_scores: refused before flow_scores is touched
    Writer(
        "score over a threats export",
        ("score", "--type", "flow", "--date", DAY, "--lake", "{lake}"),
        "refuses",
        replaces="flow_threats",
    ),  # fmt: skip
    # real Zeek logs into the user's lake: new files beside theirs, none of theirs touched
    Writer("ingest", ("ingest", "{logs}", "--lake", "{lake}", "--quiet"), "writes"),
    Writer("index", ("index", "--date", DAY, "--lake", "{lake}", "--quiet"), "writes"),
    Writer(
        "index over an export",
        ("index", "--date", DAY, "--lake", "{lake}", "--quiet"),
        "refuses",
        replaces="flow_by_ip",
    ),  # fmt: skip
]


def plant_foreign_files(lake: Path, replaces: str | None) -> dict[Path, bytes]:
    """A user's files where spot-lab writes: the top level, the context folder, a raw
    hour, and every derived table's day partition (non-parquet files there are left alone
    by every writer; a *.parquet export only in `replaces`'s)."""
    planted = {
        lake / "my-notes.txt": b"my notes, keep them\n",
        lake / "context" / "my-context-backup.csv": b"10.0.0.0/8,corp\n",
        Lake(lake).partition_path("flow", DEMO_DAY, 0) / "README.txt": b"from the sensor\n",
    }
    for name, tbl in TABLES.items():
        if not tbl.is_raw:
            folder = Lake(lake).partition_path(name, DEMO_DAY)
            planted[folder / "_SUCCESS"] = b""
            planted[folder / "export-notes.txt"] = f"{name} exported by hand\n".encode()
    if replaces is not None:
        folder = Lake(lake).partition_path(replaces, DEMO_DAY)
        own = folder / DATA_FILE
        planted[folder / "000000_0.parquet"] = own.read_bytes() if own.is_file() else b"PAR1"
    for path, content in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return planted


@pytest.mark.parametrize("writer", WRITERS, ids=[w.name for w in WRITERS])
def test_a_writing_command_leaves_foreign_files_untouched(
    writer, scored_lake_path, tmp_path, capsys
):
    lake = tmp_path / "users-lake"
    shutil.copytree(scored_lake_path, lake)
    for mark in (".spot-lab-demo.json", "ground_truth.json"):  # a user's Spot lake, no demo
        (lake / mark).unlink()
    planted = plant_foreign_files(lake, writer.replaces)
    out = tmp_path / "report.html"
    args = [a.format(lake=lake, out=out, logs=ZEEK_LOGS) for a in writer.args]
    before = snapshot(lake)

    code = cli.main(args)

    err = capsys.readouterr().err
    if writer.outcome == "writes":
        assert code == 0, err
    else:
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
        assert snapshot(lake) == before  # refused whole: not one table written
    for path, content in planted.items():
        assert path.is_file() and path.read_bytes() == content, f"{writer.name} changed {path}"
    assert not out.exists()


def test_every_command_that_writes_is_listed():
    """A writing subcommand added to the CLI must get its line in WRITERS."""
    readers = {"check"}
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    listed = {w.args[0] for w in WRITERS}
    assert commands - readers <= listed, f"add {sorted(commands - readers - listed)} to WRITERS"
