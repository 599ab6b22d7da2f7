"""`spot-lab ingest --spark`: the same mappings, rendered in Spark SQL, as a PySpark job that
writes Spot's partitioned Hive tables (for data that does not fit one machine).

The driver sniffs each file (spot_lab.ingest.detect) and groups files by format and header;
Spark reads each group (text lines, `split` for delimited logs, `from_json`, regex, Spark's
CSV reader for Blue Coat's quoted fields), runs the mapping's statement, rejects events far
from their file's median time, and appends parquet to `<warehouse>/<type>/hive/y=/m=/d=/h=`
(zero-padded folders, as Spot's ML reads them). With `conn` (a HiveServer2 URL) it creates
missing tables (Spot's columns plus the extension columns) and adds every partition it
wrote. A record per file (`<warehouse>/.spot-lab/ingest/spark-record.json`, local warehouses) makes
a rerun skip what is in; a file changed since is refused (its rows are in the table already).
Differences to the lake's ingest: a Zeek header that changes mid-file is not followed, and a
reject's line number is known only when Spark read the file in one piece.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import Counter
from pathlib import Path

from spot_lab.errors import InputError, SpotLabError
from spot_lab.ingest import detect
from spot_lab.ingest import mapping as M
from spot_lab.ingest import sources as S
from spot_lab.ingest.readers import NFDUMP_TRAILERS
from spot_lab.ingest.report import FileReport, IngestReport
from spot_lab.ingest.sql import Columns, JsonLines, RegexLines, Renderer
from spot_lab.store.lake import INGEST_STATE
from spot_lab.store.schema import TABLES

FILE_BITS = 51  # _line = file number << FILE_BITS | Spark's row id within the file
SKEW_DAYS = 7.0


def session(master: str = "local[*]"):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("--spark needs pyspark: pip install pyspark") from None
    return (SparkSession.builder.master(master).appName("spot-lab ingest")
            .config("spark.sql.session.timeZone", "UTC").config("spark.sql.ansi.enabled", "false")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.showConsoleProgress", "false").getOrCreate())  # fmt: skip


def spark_ingest(sources, warehouse: str, conn: str | None = None, database: str = "spot",
                 master: str = "local[*]", spark=None) -> IngestReport:  # fmt: skip
    began = time.perf_counter()
    files, missing = S.expand([sources] if isinstance(sources, (str, os.PathLike)) else sources)
    reports = {
        Path(m): FileReport.refused(Path(m), f"{m}: no such file or folder") for m in missing
    }
    done = _load_record(warehouse)
    groups: dict[tuple, list[detect.Detected]] = {}
    for path in files:
        found, report = _look(path, done)
        if report:
            reports[path] = report
        else:
            key = (
                found.family,
                found.layout,
                found.kind,
                tuple(found.header.fields) if found.header else (),
            )
            groups.setdefault(key, []).append(found)
    own = spark is None
    spark = spark or session(master)
    spark.sparkContext.setLogLevel("ERROR")
    written: dict[str, set[tuple]] = {}
    try:
        for founds in groups.values():
            for path, report in _group(spark, founds, warehouse, written).items():
                reports[path] = report
                st = path.stat()
                done[str(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except Exception as exc:  # noqa: BLE001 - Spark's errors: one line, not a Java stack
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpotLabError(f"the Spark ingest failed: {first[:400]}") from None
    finally:
        _save_record(warehouse, done)  # what was written stays recorded
        if own:
            spark.stop()
    if conn and written:
        register(conn, database, warehouse, written)
    ordered = [reports[p] for p in [Path(m) for m in missing] + files if p in reports]
    return IngestReport(Path(warehouse), ordered, time.perf_counter() - began)


def _look(path: Path, done: dict) -> tuple[detect.Detected | None, FileReport | None]:
    try:
        found = detect.sniff(path)
    except detect.UnknownFormat as exc:
        return None, FileReport.refused(path, str(exc), exc.skipped)
    if found.layout in ("pcap", "nfcapd"):
        return None, FileReport.refused(
            path, "pcaps and nfcapd files need their tools: ingest them on the lake"
        )
    before = done.get(str(path))
    if before:
        st = path.stat()
        if (st.st_size, st.st_mtime_ns) == (before["size"], before["mtime_ns"]):
            return None, FileReport(path, "unchanged")
        return None, FileReport.refused(path, "changed since its Spark ingest, whose rows are in the tables already: ingest it on the lake, or drop its partitions first")  # fmt: skip
    return found, None


def _group(spark, founds: list[detect.Detected], warehouse: str, written) -> dict[Path, FileReport]:
    """Ingest files of one format and header; a report per file."""
    first = founds[0]
    kind = None if first.family == "suricata" else first.kind
    rows: dict[int, Counter] = {i: Counter() for i in range(len(founds))}
    skipped: dict[int, Counter] = {i: Counter() for i in range(len(founds))}
    rejected: Counter = Counter()
    for index, m in enumerate(M.for_source(first.family, kind)):
        chunk, layout, miscounted = _chunk(spark, founds, m)
        if m.route:
            field, value = next(iter(m.route.items()))
            chunk = chunk.where(f"get_json_object(line, '$.{field}') = '{value}'")
        chunk.createOrReplaceTempView("_chunk")
        result = _checked(spark.sql(Renderer(m, "spark").statement(layout))).persist()
        try:
            _count(result, rows, skipped, rejected, m.table)
            _write(result, m.table, warehouse, written)
            bad = result.where("_reason IS NOT NULL").select("_line", "_reason")
            if "line" in chunk.columns:
                bad = bad.join(chunk.select("_line", "line"), "_line", "left")
            if miscounted is not None and index == 0:
                for r in (
                    miscounted.selectExpr(f"CAST(_line / {1 << FILE_BITS} AS INT) AS f")
                    .groupBy("f")
                    .count()
                    .collect()
                ):
                    rejected[r["f"]] += r["count"]
                bad = bad.unionByName(miscounted, allowMissingColumns=True)
            _rejects(spark, bad, founds, warehouse)
        finally:
            result.unpersist()
    if first.family == "suricata":
        _other_events(spark, founds, skipped)
    return {f.path: FileReport(f.path, "new", dict(rows[i]), rejected[i], "rejects/ (Spark)" if rejected[i] else None,
                               skipped[i]) for i, f in enumerate(founds)}  # fmt: skip


def _checked(result):
    """Events far from their file's median time become rejects, as on the lake."""
    from pyspark.sql import functions as F

    f = (F.col("_line") / F.lit(1 << FILE_BITS)).cast("int")
    result = result.withColumn("_f", f)
    ok = "_reason IS NULL AND _skip IS NULL"
    med = result.where(ok).groupBy("_f").agg(F.median("_t").alias("_med"))
    joined = result.join(med, "_f", "left")
    far = F.expr(ok) & (F.abs(F.col("_t") - F.col("_med")) > SKEW_DAYS * 86400)
    why = F.concat(F.lit("event time "), F.from_unixtime(F.col("_t").cast("long")),
                   F.lit(" UTC is far from its file's other events"))  # fmt: skip
    return joined.withColumn("_reason", F.when(far, why).otherwise(F.col("_reason"))).drop(
        "_f", "_med"
    )


def _chunk(spark, founds: list[detect.Detected], m: M.Mapping):
    """The group's rows as Spark's `_chunk`: `_line` plus `line` or one text column per field."""
    from pyspark.sql import functions as F

    frames = []
    first = founds[0]
    for i, found in enumerate(founds):
        if first.layout == "elff":
            names = found.header.fields
            frame = (spark.read.options(sep=" ", quote='"', comment="#", header=False, mode="PERMISSIVE")
                     .schema(", ".join(f"`{n}` STRING" for n in names)).csv(str(found.path)))  # fmt: skip
        else:
            frame = spark.read.text(str(found.path)).withColumnRenamed("value", "line")
        line = F.lit(i).cast("long") * F.lit(1 << FILE_BITS) + F.monotonically_increasing_id() + 1
        frames.append(frame.withColumn("_line", line))
    chunk = frames[0]
    for frame in frames[1:]:
        chunk = chunk.unionByName(frame)
    if first.layout in ("json", "regex"):
        layout = (
            JsonLines(first.family == "suricata")
            if first.layout == "json"
            else RegexLines(m.pattern or "")
        )
        return chunk.where("trim(line) <> ''"), layout, None
    return _delimited(chunk, first, m)


def _delimited(chunk, first: detect.Detected, m: M.Mapping):
    from pyspark.sql import functions as F

    header = first.header
    names = header.fields
    present = tuple(n for n in names if n in m.fields)
    rest = tuple(n for n in names if n not in m.fields)
    layout = Columns(
        present, (), rest, header.set_separator, header.empty_field, "T", header.unset_field
    )
    if first.layout == "elff":
        return chunk.select("_line", *[F.col(f"`{n}`") for n in present + rest]), layout, None
    sep = header.separator
    text = chunk.where(~F.col("line").startswith("#") & (F.trim("line") != ""))
    if first.family != "zeek":  # the header line, and nfdump's summary trailer
        text = text.where(F.col("line") != sep.join(names))
        text = text.where(
            ~F.col("line").isin(*(t.decode() for t in NFDUMP_TRAILERS))
            & ~F.col("line").startswith("flows,bytes,packets")
        )
    parts = F.split(F.col("line"), {"\t": "\\t", ",": ","}.get(sep, sep), -1)
    text = text.withColumn("_p", parts)
    miscounted = text.where(F.size("_p") != len(names)).select(
        "_line", F.concat(F.size("_p").cast("string"), F.lit(f" fields, expected {len(names)}")).alias("_reason"),
        "line")  # fmt: skip
    text = text.where(F.size("_p") == len(names))
    cols = []
    for n in present + rest:
        value = F.element_at("_p", names.index(n) + 1)
        if first.family == "zeek" and header.unset_field is not None:
            value = F.when(value == header.unset_field, None).otherwise(value)
        cols.append(value.alias(n))
    return text.select("_line", *cols), layout, miscounted


def _count(result, rows, skipped, rejected, table: str) -> None:
    stats = (result.selectExpr(f"CAST(_line / {1 << FILE_BITS} AS INT) AS f", "_reason IS NOT NULL AS bad", "_skip")
             .groupBy("f", "bad", "_skip").count().collect())  # fmt: skip
    for r in stats:
        if r["bad"]:
            rejected[r["f"]] += r["count"]
        elif r["_skip"] is not None:
            skipped[r["f"]][r["_skip"]] += r["count"]
        else:
            rows[r["f"]][table] += r["count"]


def _partition_exprs(table: str) -> list[str]:
    tbl = TABLES[table]
    ts = "timestamp_seconds(_hour * 3600)"
    if tbl.is_raw:  # zero-padded folders, as Spot's ML reads them
        return [f"lpad(CAST(year({ts}) AS STRING), 4, '0') AS y", f"lpad(CAST(month({ts}) AS STRING), 2, '0') AS m",
                f"lpad(CAST(dayofmonth({ts}) AS STRING), 2, '0') AS d", f"lpad(CAST(hour({ts}) AS STRING), 2, '0') AS h"]  # fmt: skip
    return [
        f"CAST(year({ts}) AS STRING) AS y",
        f"CAST(month({ts}) AS STRING) AS m",
        f"CAST(dayofmonth({ts}) AS STRING) AS d",
    ]


def _write(result, table: str, warehouse: str, written) -> None:
    tbl = TABLES[table]
    columns = (tbl.file_schema if tbl.is_raw else tbl.arrow_schema).names
    good = result.where("_reason IS NULL AND _skip IS NULL").selectExpr(
        *[f"`{c}`" for c in columns], *_partition_exprs(table))  # fmt: skip
    parts = [p.name for p in tbl.partitions]
    values = {tuple(r) for r in good.select(*parts).distinct().collect()}
    if not values:
        return
    good.write.mode("append").partitionBy(*parts).parquet(f"{warehouse}/{tbl.relative_dir()}")
    written.setdefault(table, set()).update(values)


def _rejects(spark, bad, founds, warehouse: str) -> None:
    """Rejected lines as JSON (file, line, reason, text) under <warehouse>/rejects/."""
    if not bad.take(1):
        return
    paths = spark.createDataFrame(
        [(i, str(f.path)) for i, f in enumerate(founds)], "f INT, file STRING"
    )
    text = ["line AS text"] if "line" in bad.columns else []
    rows = bad.selectExpr(f"CAST(_line / {1 << FILE_BITS} AS INT) AS f",
                          f"CASE WHEN _line % {1 << FILE_BITS} < {1 << 33} THEN _line % {1 << FILE_BITS} END AS line",
                          "_reason AS reason", *text)  # fmt: skip
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    rows.join(paths, "f").drop("f").write.mode("append").json(f"{warehouse}/rejects/spark-{stamp}")


def _other_events(spark, founds, skipped) -> None:
    mapped = {next(iter(m.route.values())) for m in M.for_source("suricata")}
    for i, found in enumerate(founds):
        frame = spark.read.text(str(found.path)).selectExpr(
            "get_json_object(value, '$.event_type') AS e"
        )
        for r in frame.groupBy("e").count().collect():
            if r["e"] is not None and r["e"] not in mapped:
                skipped[i][f"Suricata {r['e']} events (no Spot table)"] += r["count"]


def register(conn: str, database: str, warehouse: str, written: dict[str, set[tuple]]) -> None:
    """Create the tables that are missing and add every partition written (HiveServer2)."""
    from spot_lab.engines.registry import open_engine

    engine = open_engine(conn)
    try:
        engine._execute(f"CREATE DATABASE IF NOT EXISTS {database}", [])
        for table, values in sorted(written.items()):
            tbl = TABLES[table]
            location = f"{warehouse}/{tbl.relative_dir()}"
            engine._execute(table_ddl(table, location, database), [])
            for value in sorted(values):
                engine._execute(add_partition(table, value, location, database), [])
    finally:
        engine.close()


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_ddl(table: str, location: str, database: str) -> str:
    """Spot's DDL for a table, plus spot-lab's extension columns (nullable, after Spot's)."""
    tbl = TABLES[table]
    cols = ", ".join(f"{c.name} {c.hive_type}" for c in tbl.columns + tbl.extensions)
    parts = ", ".join(f"{c.name} {c.hive_type}" for c in tbl.partitions)
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{table} ({cols}) PARTITIONED BY ({parts}) "
            f"STORED AS PARQUET LOCATION {_quote(location)}")  # fmt: skip


def add_partition(table: str, value: tuple, location: str, database: str) -> str:
    tbl = TABLES[table]
    if not all(str(v).isdigit() for v in value):
        raise ValueError(f"partition values must be digits: {value}")
    spec = ", ".join(
        f"{p.name}={_quote(v) if tbl.string_partitions else int(v)}"
        for p, v in zip(tbl.partitions, value, strict=True)
    )
    folder = "/".join(f"{p.name}={v}" for p, v in zip(tbl.partitions, value, strict=True))
    return f"ALTER TABLE {database}.{table} ADD IF NOT EXISTS PARTITION ({spec}) LOCATION {_quote(location + '/' + folder)}"


def _record_path(warehouse: str) -> Path | None:
    # inside the ingest state folder: a lake opened on the warehouse shows the extension columns
    return None if "://" in warehouse else Path(warehouse) / INGEST_STATE / "spark-record.json"


def _load_record(warehouse: str) -> dict:
    path = _record_path(warehouse)
    try:
        return json.loads(path.read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def _save_record(warehouse: str, done: dict) -> None:
    path = _record_path(warehouse)
    if path is None:
        return
    from spot_lab.store.lake import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(done, indent=1, sort_keys=True) + "\n")
