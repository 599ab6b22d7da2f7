"""%%spotquery, %spot_connect and %spot_threat's front through a real IPython shell."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from spot_lab.engines import connections
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.support import snapshot

DAY = DEMO_DAY.isoformat()
NEXT = DEMO_DAY + dt.timedelta(days=1)


@pytest.fixture()
def shell(monkeypatch, lake_copy):
    """A fresh IPython shell with spot_lab loaded on a private copy of the demo lake."""
    monkeypatch.setenv("SPOT_LAB_LAKE", str(lake_copy))
    monkeypatch.setattr(connections, "_session", None)
    ip = InteractiveShell()
    ip.run_line_magic("load_ext", "spot_lab")
    ip.user_ns["lake_root"] = lake_copy
    yield ip
    connections.session().close_all()
    ip.run_line_magic("unload_ext", "spot_lab")
    InteractiveShell.clear_instance()


def run(ip: InteractiveShell, line: str, cell: str):
    return ip.run_cell_magic("spotquery", line, cell)


def fails(ip: InteractiveShell, source: str, capsys) -> str:
    """Run a cell that must fail with a one-line UsageError; return the message."""
    result = ip.run_cell(source)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    message = str(result.error_in_exec)
    assert "\n" not in message
    return message


def test_query_returns_the_full_frame_and_assigns_it(shell, lake_copy):
    result = run(shell, "flows", "SELECT sip, dip, ibyt FROM flow ORDER BY ibyt DESC, sip, dip")
    assert isinstance(result, pd.DataFrame)
    assert shell.user_ns["flows"] is result
    direct = DuckDBEngine(lake_copy).df(
        "SELECT sip, dip, ibyt FROM flow ORDER BY ibyt DESC, sip, dip"
    )
    assert len(result) == len(direct) > 1000
    pd.testing.assert_frame_equal(pd.DataFrame(result), direct)


def test_preview_shows_rows_count_time_and_engine_and_follows_config(shell):
    result = run(shell, "", "SELECT sip FROM flow LIMIT 50")
    text = repr(result)
    assert "50 rows x 1 columns in" in text and "on duckdb" in text
    assert "(first 10 shown)" in text
    shell.run_line_magic("config", "SpotLab.displaylimit = 3")
    html = run(shell, "", "SELECT sip FROM flow LIMIT 50")._repr_html_()
    assert html.count("<tr>") == 3  # 3 body rows (the header row has a style)
    assert "first 3 shown" in html
    derived = result[result.sip.notna()]
    assert type(derived) is pd.DataFrame  # derived frames are plain DataFrames


def test_config_rejects_bad_values_and_keeps_the_old_one(shell, caplog):
    shell.run_line_magic("config", "SpotLab.displaylimit = -1")  # IPython logs the TraitError
    assert "displaylimit must be >= 0" in caplog.text
    assert connections.session().settings.displaylimit == 10
    shell.run_line_magic("config", "SpotLab.displaylimit = 0")
    text = repr(run(shell, "", "SELECT sip FROM flow LIMIT 5"))
    assert text.startswith("5 rows x 1 columns")  # no rows shown, only the caption


def test_limit_caps_rows_without_loosening_a_smaller_limit(shell):
    assert len(run(shell, "--limit 7", "SELECT * FROM dns")) == 7
    assert len(run(shell, "--limit 100", "SELECT * FROM dns LIMIT 4")) == 4
    assert (
        len(run(shell, "--limit 5", "SELECT sip FROM flow UNION ALL SELECT ip_dst FROM dns")) == 5
    )


def _add_next_day(lake_root) -> int:
    """Copy one hour of the demo day's flows to the next day; return the number of rows."""
    lake = Lake(lake_root)
    source = sorted((lake.partition_path("flow", DEMO_DAY, 5)).glob("*.parquet"))[0]
    rows = pq.read_table(source)
    lake.append("flow", rows, NEXT, hour=5)
    return rows.num_rows


def test_date_options_confine_every_spot_table(shell, lake_copy, capsys):
    extra = _add_next_day(lake_copy)
    everything = run(shell, "", "SELECT COUNT(*) AS n FROM flow")["n"][0]
    day = run(shell, f"--date {DAY}", "SELECT COUNT(*) AS n FROM flow")["n"][0]
    nxt = run(shell, f"--from {NEXT} --to {NEXT}", "SELECT COUNT(*) AS n FROM flow f")["n"][0]
    both = run(shell, f"--from {DAY} --to {NEXT}", "SELECT COUNT(*) AS n FROM flow")["n"][0]
    assert (nxt, everything) == (extra, day + extra) and both == everything
    join = "SELECT COUNT(*) AS n FROM flow f JOIN (SELECT DISTINCT ip_dst FROM dns) d ON f.sip = d.ip_dst"
    assert run(shell, f"--date {DAY}", join)["n"][0] > 0
    # no DNS on the next day: the join is confined too, and the answer says which days have DNS
    message = fails(shell, f"%%spotquery --date {NEXT}\n{join}", capsys)
    assert message == f"no dns data on {NEXT}: dns data exists on {DAY}"
    message = fails(
        shell, "%%spotquery --from 2020-01-01 --to 2020-01-31\nSELECT 1 FROM flow", capsys
    )
    assert (
        message == f"no flow data from 2020-01-01 to 2020-01-31: flow data exists on {DAY}, {NEXT}"
    )


def test_variables_from_the_namespace_are_bound(shell, lake_copy):
    top = run(
        shell,
        "top",
        "SELECT sip, COUNT(*) AS n FROM flow GROUP BY sip ORDER BY n DESC, sip LIMIT 3",
    )
    shell.user_ns["ip"] = top["sip"][0]
    one = run(shell, "", "SELECT COUNT(*) AS n FROM flow WHERE sip = :ip")
    assert one["n"][0] == top["n"][0]
    shell.user_ns["ips"] = list(top["sip"])
    many = run(shell, "", "SELECT COUNT(*) AS n FROM flow WHERE sip IN (:ips)")
    assert many["n"][0] == top["n"].sum()


def test_show_sql_prints_the_confined_statement_and_values(shell, capsys):
    shell.user_ns["port"] = 53
    run(shell, f"--date {DAY} --show-sql", "SELECT COUNT(*) FROM flow WHERE dport = :port")
    out = capsys.readouterr().out
    assert "-- duckdb" in out and "FROM (SELECT * FROM flow WHERE" in out
    assert f"d = {DEMO_DAY.day}" in out and "-- values: [53]" in out


def test_line_form_and_default_variable(shell):
    result = shell.run_line_magic("spotquery", "SELECT COUNT(*) AS n FROM proxy")
    assert result["n"][0] > 0 and shell.user_ns["_spotquery"] is result


def test_bad_input_gives_one_line_errors_and_leaves_the_lake_alone(shell, lake_copy, capsys):
    before = snapshot(lake_copy)
    cases = {
        "%%spotquery\nSELEC sip FROM flow": "syntax error",
        "%%spotquery\nSELECT * FROM nosuchtable": "nosuchtable",
        "%%spotquery\nSELECT nosuchcolumn FROM flow": "nosuchcolumn",
        "%%spotquery\nSELECT * FROM flow WHERE sip = :undefined_ip": ":undefined_ip",
        "%%spotquery --date 2026-13-45\nSELECT 1": "bad date '2026-13-45'",
        f"%%spotquery --from {NEXT} --to {DAY}\nSELECT 1": "swap them",
        f"%%spotquery --date {DAY} --from {DAY}\nSELECT 1": "either --date or --from/--to",
        "%%spotquery --limit 0\nSELECT 1": "greater than zero",
        "%%spotquery --bogus\nSELECT 1": "unrecognized arguments",
        "%%spotquery 1bad\nSELECT 1": "not a Python variable name",
        "%%spotquery\nSELECT 1; SELECT 2": "one statement",
        "%%spotquery --conn nowhere\nSELECT 1": "no connection named 'nowhere'",
    }
    for source, expected in cases.items():
        message = fails(shell, source, capsys)
        assert expected in message, (source, message)
    shell.user_ns["evil"] = "'; DROP TABLE flow; --"
    result = run(shell, "", "SELECT COUNT(*) AS n FROM flow WHERE sip = :evil")
    assert result["n"][0] == 0
    assert run(shell, "", "SELECT COUNT(*) AS n FROM flow")["n"][0] > 0  # the table is still there
    assert snapshot(lake_copy) == before
    assert run(shell, "", "SELECT 1 AS ok")["ok"][0] == 1  # the kernel stays usable


def test_engine_errors_name_engine_and_statement(shell, capsys):
    message = fails(shell, "%%spotquery\nSELECT nosuchcolumn FROM flow", capsys)
    assert message.startswith("duckdb error:") and "[in: SELECT nosuchcolumn FROM flow]" in message


def test_spot_connect_adds_lists_and_switches(shell, lake_copy, empty_lake, capsys):
    listing = shell.run_line_magic("spot_connect", "")
    assert list(listing["alias"]) == ["lake"]
    shell.run_line_magic("spot_connect", f"{empty_lake} --alias empty")
    assert "connected: empty" in capsys.readouterr().out
    assert run(shell, "", "SELECT COUNT(*) AS n FROM flow")["n"][0] == 0  # now current
    assert run(shell, "--conn lake", "SELECT COUNT(*) AS n FROM flow")["n"][0] > 0
    shell.run_line_magic("spot_connect", f"duckdb://{lake_copy} --alias again")
    listing = shell.run_line_magic("spot_connect", "")
    assert list(listing["alias"]) == ["empty", "lake", "again"]  # in the order opened
    assert list(listing["current"]) == [False, False, True]
    message = fails(shell, "%spot_connect /no/such/lake", capsys)
    assert "no Spot lake at /no/such/lake" in message
    assert fails(shell, "%spot_connect ftp://x/y", capsys).startswith("unsupported URL scheme")


def test_configured_connections_open_on_first_use(shell, empty_lake):
    shell.run_line_magic("config", f"SpotLab.connections = {{'spare': '{empty_lake}'}}")
    assert run(shell, "--conn spare", "SELECT COUNT(*) AS n FROM dns")["n"][0] == 0
    assert run(shell, "", "SELECT COUNT(*) AS n FROM dns")["n"][0] > 0  # current unchanged


def test_spot_threat_arguments(shell, capsys):
    magics = shell.magics_manager.registry["SpotLabMagics"]
    options = magics.threat_options(f"10.0.0.5 --type flow --from {DAY} --to {NEXT} --top 7")
    assert options["anchor"] == "10.0.0.5" and options["data_type"] == "flow"
    assert options["date_range"] == (DEMO_DAY, NEXT) and options["top"] == 7
    assert options["engine"].kind == "duckdb" and options["settings"] is magics.settings
    default = magics.threat_options("evil.example.com")
    assert default["data_type"] == "auto" and default["date_range"] is None
    assert default["top"] == magics.settings.top_n
    cases = {
        "%spot_threat": "anchor",
        "%spot_threat 1.2.3.4 --type http": "invalid choice",
        "%spot_threat 1.2.3.4 --date 2026-02-30": "bad date",
        f"%spot_threat 1.2.3.4 --from {NEXT} --to {DAY}": "swap them",
        "%spot_threat 1.2.3.4 --top 0": "greater than zero",
        "%spot_threat 1.2.3.4 --conn nowhere": "no connection named",
    }
    for source, expected in cases.items():
        assert expected in fails(shell, source, capsys), source


def test_spot_threat_runs_an_investigation_on_the_current_connection(shell):
    top = shell.run_line_magic(
        "spotquery", "SELECT sip FROM flow GROUP BY sip ORDER BY COUNT(*) DESC, sip LIMIT 1"
    )
    anchor = top["sip"][0]
    report = shell.run_line_magic("spot_threat", f"{anchor} --date {DAY} --top 5")
    assert type(report).__name__ == "ThreatReport"
    assert report.anchor == anchor and report.data_type == "flow"
