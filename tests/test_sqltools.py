"""SQL through the parser: binding, IN lists, injection, date confinement, dialects."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from spot_lab.engines.cluster_base import render_pyformat
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.engines.sqltools import (
    bind,
    confine_to_days,
    parse,
    partition_filter,
    prepare,
    spot_table_refs,
)
from spot_lab.errors import InputError, QueryError
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES

INJECTION = "'; DROP TABLE flow; --"
D = dt.date


def _confined(sql: str, first: dt.date, last: dt.date, dialect: str = "duckdb") -> str:
    return confine_to_days(parse(sql)[0], first, last).sql(dialect=dialect)


# ---- binding ---------------------------------------------------------------------------------


def test_named_parameters_become_positional_values_in_text_order():
    text, values = prepare(
        "SELECT * FROM flow WHERE dport = :port AND sip = :ip",
        {"ip": "10.0.0.1", "port": 443},
        "duckdb",
    )
    assert text.count("?") == 2
    assert values == [443, "10.0.0.1"]
    assert "10.0.0.1" not in text


def test_list_binds_as_in_list_in_both_spellings():
    for sql in ("SELECT 1 FROM flow WHERE sip IN (:ips)", "SELECT 1 FROM flow WHERE sip IN :ips"):
        text, values = prepare(sql, {"ips": ["a", "b", "c"]}, "duckdb")
        assert values == ["a", "b", "c"]
        assert "IN (?, ?, ?)" in text


def test_set_and_tuple_bind_like_lists():
    sql = "SELECT 1 FROM flow WHERE sip IN :ips AND dport = :port"
    text, values = prepare(sql, {"ips": {"a", "b", "c"}, "port": 53}, "duckdb")
    assert "IN (?, ?, ?)" in text and sorted(values[:3]) == ["a", "b", "c"] and values[3] == 53
    assert prepare(sql, {"ips": ("a", "b", "c"), "port": 53}, "duckdb")[1] == ["a", "b", "c", 53]
    for spelled in (
        "SELECT 1 FROM flow WHERE sip IN :ips",
        "SELECT 1 FROM flow WHERE sip IN (:ips)",
    ):
        with pytest.raises(InputError, match="empty list"):
            prepare(spelled, {"ips": []}, "duckdb")


def test_missing_parameter_is_a_clear_error():
    with pytest.raises(InputError, match=":ip"):
        prepare("SELECT * FROM flow WHERE sip = :ip", {}, "duckdb")


def test_injection_string_stays_a_value():
    text, values = prepare("SELECT * FROM flow WHERE sip = :ip", {"ip": INJECTION}, "duckdb")
    assert values == [INJECTION]
    assert "DROP" not in text
    assert len(parse(text)) == 1


def test_syntax_error_is_one_line():
    with pytest.raises(QueryError, match="SQL syntax error") as info:
        parse("SELEC sip FROM flow WHERE")
    assert "\n" not in str(info.value)


# ---- pyformat rendering for PyHive ---------------------------------------------------------


def test_pyformat_doubles_percent_and_uses_percent_s():
    text, values = render_pyformat(
        "SELECT sip FROM flow WHERE sip LIKE '10.%' AND dip = :ip AND proto IN (:p)",
        {"ip": "1.2.3.4", "p": ["TCP", "UDP"]},
        "spark",
    )
    assert "LIKE '10.%%'" in text
    assert text.count("%s") == 3
    assert values == ["1.2.3.4", "TCP", "UDP"]
    # What PyHive does with it: value escaping happens in the driver, `%%` becomes `%`.
    from pyhive.hive import HiveParamEscaper

    final = text % HiveParamEscaper().escape_args(tuple(values))
    assert "LIKE '10.%'" in final and "'1.2.3.4'" in final


def test_pyformat_without_values_keeps_percent():
    text, values = render_pyformat("SELECT sip FROM flow WHERE sip LIKE '10.%'", {}, "trino")
    assert values == [] and "'10.%'" in text


def test_pyformat_keeps_question_marks_inside_literals():
    text, _ = render_pyformat(
        "SELECT 1 FROM proxy WHERE fulluri LIKE '%?a=%' AND clientip = :c", {"c": "x"}, "hive"
    )
    assert "'%%?a=%%'" in text and text.count("%s") == 1


# ---- confinement ---------------------------------------------------------------------------


def test_month_boundary_is_not_a_naive_per_field_range():
    where = partition_filter("flow", D(2026, 11, 28), D(2026, 12, 2)).sql()
    # Spot's bug: y BETWEEN .. AND m BETWEEN 11 AND 12 AND d BETWEEN 28 AND 2 selects nothing.
    assert "d BETWEEN 28 AND 30" in where and "d BETWEEN 1 AND 2" in where
    assert "m = 11" in where and "m = 12" in where


def test_whole_month_and_year_boundary_terms():
    where = partition_filter("dns", D(2026, 12, 30), D(2027, 2, 28)).sql()
    assert "y = 2026 AND m = 12" in where and "d BETWEEN 30 AND 31" in where
    assert "(y = 2027 AND m = 1)" in where  # whole January: no day predicate
    assert "(y = 2027 AND m = 2)" in where


def test_proxy_partitions_are_zero_padded_strings():
    where = partition_filter("proxy", D(2026, 3, 5), D(2026, 3, 9)).sql()
    assert "y = '2026'" in where and "m = '03'" in where and "BETWEEN '05' AND '09'" in where
    assert "'2026'" not in partition_filter("proxy_scores", D(2026, 3, 5), D(2026, 3, 5)).sql()


def test_aliases_joins_subqueries_and_ctes_are_kept():
    sql = (
        "WITH s AS (SELECT srcip FROM flow_scores) "
        "SELECT f.sip, d.dns_qry_name FROM flow AS f JOIN dns d ON f.sip = d.ip_dst "
        "WHERE f.sip IN (SELECT srcip FROM s) AND f.dip IN (SELECT clientip FROM proxy)"
    )
    tree = confine_to_days(parse(sql)[0], D(2026, 11, 28), D(2026, 11, 28))
    aliases = {s.alias for s in tree.find_all(exp.Subquery) if s.alias}
    assert {"f", "d", "flow_scores", "proxy"} <= aliases
    inner = [t.name for t in tree.find_all(exp.Table)]
    assert sorted(inner) == ["dns", "flow", "flow_scores", "proxy", "s"]
    text = tree.sql()
    assert text.count("d = 28") == 3 and text.count("d = '28'") == 1  # proxy: string partitions
    assert sorted(t.name for t in spot_table_refs(tree)) == ["dns", "flow", "flow_scores", "proxy"]


def test_cte_named_like_a_spot_table_is_not_wrapped():
    sql = "WITH flow AS (SELECT * FROM dns) SELECT * FROM flow"
    text = _confined(sql, D(2026, 11, 28), D(2026, 11, 28))
    assert text.count("WHERE") == 1 and "FROM dns WHERE" in text


def test_non_spot_tables_and_qualified_names():
    text = _confined("SELECT * FROM spot.flow JOIN other o ON 1 = 1", D(2026, 1, 1), D(2026, 1, 1))
    assert "FROM spot.flow WHERE" in text and "JOIN other AS o" in text


def test_confined_sql_is_valid_in_every_dialect():
    sql = "SELECT p.host, COUNT(*) AS n FROM proxy p WHERE p.clientip = ? GROUP BY p.host"
    for dialect in ("duckdb", "spark", "hive", "presto", "trino"):
        text = _confined(sql, D(2026, 11, 30), D(2026, 12, 1), dialect)
        assert sqlglot.parse_one(text, read=dialect) is not None
        assert "'2026'" in text


def _day_rows(name: str, n: int) -> pa.Table:
    tbl = TABLES[name]
    return pa.table({c.name: pa.nulls(n, c.arrow_type) for c in tbl.columns})


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (D(2026, 11, 30), D(2026, 11, 30), 1),
        (D(2026, 11, 30), D(2026, 12, 1), 3),  # month boundary
        (D(2026, 12, 31), D(2027, 1, 1), 12),  # year boundary
        (D(2026, 11, 1), D(2027, 1, 31), 15),  # whole months
        (D(2026, 12, 2), D(2026, 12, 30), 0),
    ],
)
def test_confinement_selects_exactly_the_days_on_a_real_lake(empty_lake, first, last, expected):
    lake = Lake(empty_lake)
    counts = {D(2026, 11, 30): 1, D(2026, 12, 1): 2, D(2026, 12, 31): 4, D(2027, 1, 1): 8}
    for day, n in counts.items():
        lake.append("flow", _day_rows("flow", n), day, hour=3)
        lake.append("proxy", _day_rows("proxy", n), day, hour=3)
    engine = DuckDBEngine(lake)
    for name in ("flow", "proxy"):
        tree = confine_to_days(parse(f"SELECT COUNT(*) AS n FROM {name}")[0], first, last)
        assert engine.arrow(tree.sql("duckdb"))["n"][0].as_py() == expected


def test_bind_after_confinement_keeps_parameter_order():
    tree = confine_to_days(
        parse("SELECT * FROM flow WHERE sip = :a AND dport = :b")[0], D(2026, 1, 1), D(2026, 1, 2)
    )
    _, values = bind(tree, {"a": "x", "b": 1})
    assert values == ["x", 1]


def test_a_parameter_may_open_a_select_list():
    """DuckDB reads `SELECT :v` as a prefix alias: parameters must still bind there."""
    assert prepare("SELECT :v AS v, :v AS w", {"v": "a"}, "duckdb") == (
        "SELECT ? AS v, ? AS w",
        ["a", "a"],
    )
    text, values = prepare(
        "SELECT x::INT, a[1:2], ':v' AS s FROM t WHERE b=:v -- :c", {"v": 1}, "duckdb"
    )
    assert values == [1] and "':v'" in text and "a[1:2]" in text and "CAST(x AS INT)" in text
