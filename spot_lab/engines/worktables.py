"""Engine-side working tables (the scorer's and the detectors'): staged query results and pushed tables.

DuckDB materialises stages as temporary tables and sees pushed Arrow tables directly;
HiveServer2 engines (Spark Thrift Server, Hive) get session temporary views, the pushed
ones from inline VALUES rendered by sqlglot (which quotes every literal).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from sqlglot import exp

from spot_lab.engines.base import Engine
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.store.lake import WORK_PREFIX

PREFIX = WORK_PREFIX  # the lake's views know statements on these need no Spot table
_PUSH_ROWS = 5_000  # rows per VALUES chunk for cluster engines


def is_embedded(engine: Engine) -> bool:
    return isinstance(engine, DuckDBEngine)


def stage(engine: Engine, name: str, sql: str, params: Mapping[str, Any] | None = None) -> str:
    """Run `sql` into a session-local relation called `name` and return the name."""
    if is_embedded(engine):
        engine.arrow(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)
    else:
        engine.arrow(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {sql}", params)
    return name


def push(engine: Engine, name: str, table: pa.Table) -> str:
    """Make an Arrow table queryable as `name` in the engine's session."""
    if is_embedded(engine):
        engine.con.register(name, table)
        return name
    columns = [exp.to_identifier(c) for c in table.column_names]
    types = [_sql_type(f.type) for f in table.schema]
    if table.num_rows == 0:
        nulls = ", ".join(
            f"CAST(NULL AS {t}) AS {c.sql()}" for c, t in zip(columns, types, strict=True)
        )
        text = f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT {nulls} WHERE 1 = 0"
        engine._execute(exp.maybe_parse(text, dialect="duckdb").sql(engine.dialect), [])
        return name
    selects = []
    rows = table.to_pylist()
    for start in range(0, len(rows), _PUSH_ROWS):
        chunk = rows[start : start + _PUSH_ROWS]
        values = exp.values(
            [tuple(_literal(r[c]) for c in table.column_names) for r in chunk],
            alias="t",
            columns=[c.name for c in columns],
        )
        casts = ", ".join(
            f"CAST({c.sql(engine.dialect)} AS {t}) AS {c.sql(engine.dialect)}"
            for c, t in zip(columns, types, strict=True)
        )
        selects.append(f"SELECT {casts} FROM {values.sql(engine.dialect)}")
    body = " UNION ALL ".join(selects)
    engine._execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {body}", [])
    return name


def release(engine: Engine, *names: str) -> None:
    """Drop staged tables whose rows later stages have copied, to give their memory back.
    Only the embedded engine's stages are copies; a cluster's are views that later views
    read, so there they stay until the end."""
    if is_embedded(engine):
        drop(engine, *names)


def drop(engine: Engine, *names: str) -> None:
    """Forget working relations (best effort: they are session-local anyway)."""
    for name in names:
        try:
            if is_embedded(engine):
                with contextlib.suppress(Exception):  # not a registered view
                    engine.con.unregister(name)
                engine.con.execute(f"DROP TABLE IF EXISTS {name}")
                engine.con.execute(f"DROP VIEW IF EXISTS {name}")
            else:
                engine._execute(f"DROP VIEW IF EXISTS {name}", [])
        except Exception:  # noqa: BLE001 - cleanup must not hide the real result
            pass


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(repr(value))


def _sql_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    return "STRING"


_SPILL: list[str] = []  # one private spill folder per process, removed at exit


def _spill_folder() -> str:
    if not _SPILL:
        _SPILL.append(tempfile.mkdtemp(prefix="spot-lab-spill-"))
        atexit.register(shutil.rmtree, _SPILL[0], True)
    return _SPILL[0]


@contextlib.contextmanager
def bounded(engine: Engine, memory: str):
    """Cap DuckDB's memory for a block of work and let it spill to a private temporary folder
    (as spot_lab.store.ipindex does); the connection's limit comes back afterwards. A
    connection that has spilled already keeps its folder (DuckDB cannot switch it then).
    Cluster engines manage their own memory: nothing changes there."""
    if not is_embedded(engine):
        yield
        return
    import duckdb

    con = engine.con
    before, bar = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('enable_progress_bar')"
    ).fetchone()
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute("SET enable_progress_bar = false")  # a batch step: no terminal progress bar
    with contextlib.suppress(duckdb.Error):  # already spilled elsewhere: keep that folder
        con.execute("SET temp_directory = ?", [_spill_folder()])
    try:
        yield
    finally:
        con.execute("SET memory_limit = ?", [before])
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")
