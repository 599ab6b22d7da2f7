"""Input limits (spot_lab/limits.yaml): documented, checked before work, one-line refusals."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from spot_lab import limits
from spot_lab.dates import date_range, parse_date
from spot_lab.engines.sqltools import parse, partition_filter, prepare
from spot_lab.errors import InputError, QueryError

DOC = Path(__file__).resolve().parent.parent / "docs" / "limits.md"


def test_the_documented_table_is_limits_yaml():
    text = DOC.read_text()
    table = re.search(r"<!-- limits:begin -->\n(.*)<!-- limits:end -->", text, re.S).group(1)
    assert table == limits.markdown(), "docs/limits.md is stale: regenerate its table"


def test_every_limit_says_where_and_why():
    for name, spec in limits.table().items():
        assert {"max", "unit", "where", "why"} <= spec.keys(), name


@pytest.mark.parametrize(
    "value, found",
    [
        ("a" * 4097, "4,097 characters long, at most 4,096"),
        ("a\x00b", "control character \\x00"),
        ("a\udcffb", "unpaired surrogate"),
        ("a\nb", "control character \\n"),
        (b"bytes", "must be text"),
    ],
)
def test_texts_are_refused_in_one_line(value, found):
    with pytest.raises(InputError) as info:
        limits.text(value, "anchor", "the anchor")
    assert found in str(info.value) and "\n" not in str(info.value)


def test_numbers_keep_their_bounds():
    assert limits.number("0.5", "score_tol", "--tol", float) == 0.5
    for bad in ("-1", "0", "1.5", "nan", "inf", True):
        with pytest.raises(InputError):
            limits.number(bad, "score_tol", "--tol", float)
    for bad in (-1, 2**32, "x", 1.5):
        with pytest.raises(InputError):
            limits.number(bad, "seed", "--seed")


def test_a_body_nested_100000_deep_is_refused_without_recursion():
    with pytest.raises(InputError, match="nested deeper than 4"):
        limits.json_depth(b"[" * 100_000 + b"]" * 100_000)
    # brackets inside strings do not count
    assert limits.json_depth(b'{"text": "[[[[[[[[ {{{{ \\" [[[["}') == 1


@pytest.mark.parametrize("text", ["20261129", "2026-W48-7", "2026-11-29T00:00", "29/11/2026"])
def test_only_yyyy_mm_dd_dates(text):
    with pytest.raises(InputError, match="use YYYY-MM-DD"):
        parse_date(text)


def test_a_100000_element_in_list_fails_before_any_parsing():
    values = {"ips": [f"10.0.0.{i % 250}" for i in range(100_000)]}
    with pytest.raises(InputError, match="100,000 elements, at most 10,000"):
        prepare("SELECT * FROM flow WHERE sip IN :ips", values, "duckdb")


def test_an_in_list_at_the_limit_binds_every_value_in_order():
    values = {"ips": [str(i) for i in range(limits.limit("in_list"))], "p": 443, "n": 5}
    text, bound = prepare(
        "SELECT * FROM flow WHERE sip IN :ips AND dport = :p LIMIT :n", values, "duckdb"
    )
    assert bound == [*values["ips"], 443, 5]
    assert text.count("?") == len(bound)


def test_a_date_range_of_ten_thousand_years_is_one_compact_predicate():
    first, last = date_range(start="0001-01-01", end="9999-12-31")
    where = partition_filter("flow", first, last).sql()
    assert len(where) < 200 and where.count("OR") == 4


def test_the_compact_predicate_selects_exactly_the_days_of_the_range():
    import duckdb

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE p AS SELECT year(d) AS y, month(d) AS m, day(d) AS d FROM "
        "range(DATE '2024-01-01', DATE '2027-12-31', INTERVAL 1 DAY) AS t(d)"
    )
    first, last = dt.date(2024, 2, 29), dt.date(2026, 3, 1)
    where = partition_filter("flow", first, last).sql(dialect="duckdb")
    got = con.execute(f"SELECT count(*), min(make_date(y, m, d)), max(make_date(y, m, d)) "
                      f"FROM p WHERE {where}").fetchone()  # fmt: skip
    assert got == ((last - first).days + 1, first, last)


def test_sql_nested_too_deeply_is_a_query_error():
    with pytest.raises(QueryError, match="nested too deeply"):
        parse("SELECT " + "(" * 5000 + "1" + ")" * 5000)
