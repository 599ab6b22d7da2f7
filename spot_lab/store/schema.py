"""Apache Spot's tables: the one source of truth for names, columns, types and partitions.

Everything else (the lake, the generator, the queries, the scorer, the server, the tests)
reads these definitions. Column names and Hive types follow Apache Spot's DDL exactly
(spot-setup/hive/*.hql); see docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

DATA_TYPES = ("flow", "dns", "proxy")

# Hive type -> (Arrow type, DuckDB type)
_TYPES: dict[str, tuple[pa.DataType, str]] = {
    "STRING": (pa.string(), "VARCHAR"),
    "BIGINT": (pa.int64(), "BIGINT"),
    "INT": (pa.int32(), "INTEGER"),
    "SMALLINT": (pa.int16(), "SMALLINT"),
    "TINYINT": (pa.int8(), "TINYINT"),
    "FLOAT": (pa.float32(), "FLOAT"),
    "DOUBLE": (pa.float64(), "DOUBLE"),
}


@dataclass(frozen=True)
class Column:
    name: str
    hive_type: str

    @property
    def arrow_type(self) -> pa.DataType:
        return _TYPES[self.hive_type][0]

    @property
    def duckdb_type(self) -> str:
        return _TYPES[self.hive_type][1]


@dataclass(frozen=True)
class Table:
    """One Spot table: where it lives under the warehouse and what it holds."""

    name: str
    data_type: str  # flow | dns | proxy
    subdir: str  # "" for raw tables, else the folder under <type>/hive/oa/
    columns: tuple[Column, ...]
    partitions: tuple[Column, ...]
    spot_native: bool = True  # False for spot-lab's own additions
    # spot-lab's nullable extension columns of a raw table (what a sensor recorded beyond
    # Spot's columns, written by `spot-lab ingest`); Spot's own `columns` stay exactly Spot's.
    extensions: tuple[Column, ...] = ()

    @property
    def is_raw(self) -> bool:
        return self.subdir == ""

    @property
    def hourly(self) -> bool:
        return any(c.name == "h" for c in self.partitions)

    @property
    def string_partitions(self) -> bool:
        return self.partitions[0].hive_type == "STRING"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        """Schema of the parquet files: data columns only, partitions live in folder names."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    @property
    def file_schema(self) -> pa.Schema:
        """Schema of the files `spot-lab ingest` writes: Spot's columns, then the extensions."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns + self.extensions])

    def relative_dir(self) -> str:
        """Folder of the table relative to the lake root, as in Spot's HDFS layout."""
        base = f"{self.data_type}/hive"
        return base if self.is_raw else f"{base}/oa/{self.subdir}"

    def partition_dir(self, y: int, m: int, d: int, h: int | None = None) -> str:
        """Raw folders are zero-padded (ML reads them by path); OA folders are not (Spot's convention)."""
        if self.is_raw:
            parts = f"y={y:04d}/m={m:02d}/d={d:02d}"
            if h is not None:
                parts += f"/h={h:02d}"
        else:
            parts = f"y={y}/m={m}/d={d}"
        return f"{self.relative_dir()}/{parts}"

    def glob(self) -> str:
        levels = "/".join(f"{p.name}=*" for p in self.partitions)
        return f"{self.relative_dir()}/{levels}/*.parquet"

    def ddl_columns(self) -> str:
        return ", ".join(f"{c.name} {c.hive_type}" for c in self.columns)


def _cols(spec: str) -> tuple[Column, ...]:
    """Parse 'name TYPE, name TYPE, ...' as written in Spot's DDL."""
    out = []
    for item in spec.split(","):
        name, hive_type = item.split()
        out.append(Column(name, hive_type))
    return tuple(out)


HOUR_PARTS = _cols("y SMALLINT, m TINYINT, d TINYINT, h TINYINT")
PROXY_HOUR_PARTS = _cols("y STRING, m STRING, d STRING, h STRING")
DAY_PARTS = _cols("y SMALLINT, m TINYINT, d TINYINT")

_RAW = {
    "flow": (
        "treceived STRING, unix_tstamp BIGINT, tryear INT, trmonth INT, trday INT, trhour INT, "
        "trminute INT, trsec INT, tdur FLOAT, sip STRING, dip STRING, sport INT, dport INT, "
        "proto STRING, flag STRING, fwd INT, stos INT, ipkt BIGINT, ibyt BIGINT, opkt BIGINT, "
        "obyt BIGINT, input INT, output INT, sas INT, das INT, dtos INT, dir INT, rip STRING",
        HOUR_PARTS,
    ),
    "dns": (
        "frame_time STRING, unix_tstamp BIGINT, frame_len INT, ip_dst STRING, ip_src STRING, "
        "dns_qry_name STRING, dns_qry_class STRING, dns_qry_type INT, dns_qry_rcode INT, "
        "dns_a STRING",
        HOUR_PARTS,
    ),
    "proxy": (
        "p_date STRING, p_time STRING, clientip STRING, host STRING, reqmethod STRING, "
        "useragent STRING, resconttype STRING, duration INT, username STRING, authgroup STRING, "
        "exceptionid STRING, filterresult STRING, webcat STRING, referer STRING, respcode STRING, "
        "action STRING, urischeme STRING, uriport STRING, uripath STRING, uriquery STRING, "
        "uriextension STRING, serverip STRING, scbytes INT, csbytes INT, virusid STRING, "
        "bcappname STRING, bcappoper STRING, fulluri STRING",
        PROXY_HOUR_PARTS,
    ),
}

# What sensors record beyond Spot's columns (spot_lab.ingest, issue 12), kept in the same
# files as nullable columns after Spot's: `sensor` names the source (zeek, suricata, nfdump,
# softflowd, tshark, squid, bluecoat), `uid` its connection id (Zeek uid, Suricata flow_id),
# `extra` a JSON object of every source field no column holds. Spot's readers select named
# columns, so Spot's layout is unchanged; flow's conn_state/history/service feed detectors.
_RAW_EXTENSIONS = {
    "flow": "sensor STRING, uid STRING, service STRING, conn_state STRING, history STRING, "
    "app_proto STRING, extra STRING",
    "dns": "sensor STRING, uid STRING, trans_id INT, extra STRING",
    "proxy": "sensor STRING, uid STRING, extra STRING",
}

# (table name, data type, OA subdir, columns)
_OA = [
    (
        "flow_scores",
        "flow",
        "suspicious",
        "tstart STRING, srcip STRING, dstip STRING, sport INT, dport INT, proto STRING, "
        "ipkt INT, ibyt INT, opkt INT, obyt INT, ml_score FLOAT, rank INT, srcip_internal INT, "
        "dstip_internal INT, src_geoloc STRING, dst_geoloc STRING, src_domain STRING, "
        "dst_domain STRING, src_rep STRING, dst_rep STRING",
    ),
    (
        "flow_edge",
        "flow",
        "edge",
        "tstart STRING, srcip STRING, dstip STRING, sport INT, dport INT, proto STRING, "
        "flags STRING, tos INT, ibyt BIGINT, ipkt BIGINT, input BIGINT, output BIGINT, "
        "rip STRING, obyt BIGINT, opkt BIGINT, hh INT, mn INT",
    ),
    (
        "flow_chords",
        "flow",
        "chords",
        "ip_threat STRING, srcip STRING, dstip STRING, ibyt BIGINT, ipkt BIGINT",
    ),
    (
        "flow_threat_investigation",
        "flow",
        "threat_investigation",
        "tstart STRING, srcip STRING, dstip STRING, srcport INT, dstport INT, score INT",
    ),
    ("flow_storyboard", "flow", "storyboard", "ip_threat STRING, title STRING, text STRING"),
    (
        "flow_timeline",
        "flow",
        "timeline",
        "ip_threat STRING, tstart STRING, tend STRING, srcip STRING, dstip STRING, "
        "proto STRING, sport INT, dport INT, ipkt BIGINT, ibyt BIGINT",
    ),
    ("flow_ingest_summary", "flow", "summary", "tdate STRING, total BIGINT"),
    (
        "dns_scores",
        "dns",
        "suspicious",
        "frame_time STRING, unix_tstamp BIGINT, frame_len BIGINT, ip_dst STRING, "
        "dns_qry_name STRING, dns_qry_class STRING, dns_qry_type INT, dns_qry_rcode INT, "
        "ml_score FLOAT, tld STRING, query_rep STRING, hh INT, dns_qry_class_name STRING, "
        "dns_qry_type_name STRING, dns_qry_rcode_name STRING, network_context STRING",
    ),
    (
        "dns_edge",
        "dns",
        "edge",
        "unix_tstamp BIGINT, frame_len BIGINT, ip_dst STRING, ip_src STRING, "
        "dns_qry_name STRING, dns_qry_class STRING, dns_qry_type INT, dns_qry_rcode INT, "
        "dns_a STRING, hh INT, dns_qry_class_name STRING, dns_qry_type_name STRING, "
        "dns_qry_rcode_name STRING, network_context STRING",
    ),
    (
        "dns_dendro",
        "dns",
        "dendro",
        "unix_tstamp BIGINT, dns_a STRING, dns_qry_name STRING, ip_dst STRING",
    ),
    (
        "dns_threat_investigation",
        "dns",
        "threat_investigation",
        "unix_tstamp BIGINT, ip_dst STRING, dns_qry_name STRING, ip_sev INT, dns_sev INT",
    ),
    (
        "dns_threat_dendro",
        "dns",
        "threat_dendro",
        "anchor STRING, total BIGINT, dns_qry_name STRING, ip_dst STRING",
    ),
    (
        "dns_storyboard",
        "dns",
        "storyboard",
        "ip_threat STRING, dns_threat STRING, title STRING, text STRING",
    ),
    ("dns_ingest_summary", "dns", "summary", "tdate STRING, total BIGINT"),
    (
        "proxy_scores",
        "proxy",
        "suspicious",
        "tdate STRING, time STRING, clientip STRING, host STRING, reqmethod STRING, "
        "useragent STRING, resconttype STRING, duration INT, username STRING, webcat STRING, "
        "referer STRING, respcode INT, uriport INT, uripath STRING, uriquery STRING, "
        "serverip STRING, scbytes INT, csbytes INT, fulluri STRING, word STRING, "
        "ml_score FLOAT, uri_rep STRING, respcode_name STRING, network_context STRING",
    ),
    (
        "proxy_edge",
        "proxy",
        "edge",
        "tdate STRING, time STRING, clientip STRING, host STRING, webcat STRING, "
        "respcode STRING, reqmethod STRING, useragent STRING, resconttype STRING, "
        "referer STRING, uriport STRING, serverip STRING, scbytes INT, csbytes INT, "
        "fulluri STRING, hh INT, respcode_name STRING",
    ),
    (
        "proxy_threat_investigation",
        "proxy",
        "threat_investigation",
        "tdate STRING, fulluri STRING, uri_sev INT",
    ),
    ("proxy_storyboard", "proxy", "storyboard", "p_threat STRING, title STRING, text STRING"),
    (
        "proxy_timeline",
        "proxy",
        "timeline",
        "p_threat STRING, tstart STRING, tend STRING, duration BIGINT, clientip STRING, "
        "respcode STRING, respcodename STRING",
    ),
    ("proxy_ingest_summary", "proxy", "summary", "tdate STRING, total BIGINT"),
]

_THREAT_COLUMNS = (
    "rank INT, entity STRING, entity_kind STRING, severity DOUBLE, category STRING, "
    "base_score DOUBLE, modifiers STRING, ips STRING, names STRING, detectors STRING, "
    "summary STRING, events BIGINT, first_seen STRING, last_seen STRING, n_detectors INT"
)

# spot-lab's own additions, kept beside Spot's tables with the same day partitions.
_EXTENSIONS = [
    (
        # RITA-style beacon candidates (issue 7): one row per internal->external pair.
        "flow_beacons",
        "flow",
        "beacons",
        "srcip STRING, dstip STRING, dport INT, proto STRING, connections BIGINT, "
        "ts_score DOUBLE, ds_score DOUBLE, hist_score DOUBLE, dur_score DOUBLE, "
        "score DOUBLE, mean_interval DOUBLE, first_seen STRING, last_seen STRING",
    ),
    (
        # %spot_threat's per-day IP index (issue 4, spot_lab.store.ipindex): every flow once per
        # distinct side (ip = sip, ip = dip), the columns the investigation reads, sorted by
        # ip in small row groups so a lookup reads only the anchor's row groups.
        "flow_by_ip",
        "flow",
        "by_ip",
        "ip STRING, unix_tstamp BIGINT, sip STRING, dip STRING, sport INT, dport INT, "
        "proto STRING, ipkt BIGINT, ibyt BIGINT, opkt BIGINT, obyt BIGINT, h TINYINT",
    ),
    # ... and the day's connections per destination port (port rarity without a day scan).
    ("flow_port_counts", "flow", "port_counts", "dport INT, connections BIGINT"),
    (
        # Who held an address when (issue 12 item 11): DHCP leases from Zeek's dhcp.log,
        # partitioned by the lease's day; spot_lab.enrich.leases answers (ip, time) -> host.
        "ip_leases",
        "flow",
        "leases",
        "ip STRING, host_name STRING, mac STRING, domain STRING, start_tstamp BIGINT, "
        "end_tstamp BIGINT, sensor STRING, uid STRING",
    ),
    # The triage list (issue 13, spot_lab.detect): one row per entity of the day (a host, a
    # pair "a -> b", a registered domain, a web host), ranked by severity (1 = most severe),
    # with the detectors that fired (JSON list of {detector, score, numbers, summary}).
    *[(f"{t}_threats", t, "threats", _THREAT_COLUMNS) for t in ("flow", "dns", "proxy")],
]


def _build() -> dict[str, Table]:
    tables: dict[str, Table] = {}
    for data_type, (spec, parts) in _RAW.items():
        extensions = _cols(_RAW_EXTENSIONS[data_type])
        tables[data_type] = Table(data_type, data_type, "", _cols(spec), parts, True, extensions)
    for name, data_type, subdir, spec in _OA:
        tables[name] = Table(name, data_type, subdir, _cols(spec), DAY_PARTS)
    for name, data_type, subdir, spec in _EXTENSIONS:
        tables[name] = Table(name, data_type, subdir, _cols(spec), DAY_PARTS, spot_native=False)
    return tables


TABLES: dict[str, Table] = _build()

# Analyst severities (Spot: 1 High, 2 Medium, 3 Low).
SEVERITIES = {1: "High", 2: "Medium", 3: "Low"}

# The one feedback format (fixes Spot's comma/tab and column-order bugs, reference 1.7):
# a CSV with this header, comma-separated, one row per analyst-scored event.
FEEDBACK_COLUMNS: dict[str, tuple[str, ...]] = {
    "flow": ("sev", "tstart", "srcip", "dstip", "sport", "dport", "proto", "ipkt", "ibyt"),
    "dns": (
        "sev",
        "frame_time",
        "unix_tstamp",
        "frame_len",
        "ip_dst",
        "dns_qry_name",
        "dns_qry_class",
        "dns_qry_type",
        "dns_qry_rcode",
    ),
    "proxy": (
        "sev",
        "p_date",
        "p_time",
        "clientip",
        "host",
        "reqmethod",
        "useragent",
        "resconttype",
        "respcode",
        "fulluri",
    ),
}

# Where each type's anchor lives in its scores table, and the analyst-score table's key.
ANCHOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "flow": ("srcip", "dstip"),
    "dns": ("ip_dst", "dns_qry_name"),
    "proxy": ("fulluri",),
}


def day_partition(name: str, day) -> dict[str, int | str]:
    """The y/m/d partition values of one day of table `name`, typed as the table stores them:
    numbers, except proxy's zero-padded strings (reference 1.1)."""
    if table(name).string_partitions:
        return {"y": f"{day.year:04d}", "m": f"{day.month:02d}", "d": f"{day.day:02d}"}
    return {"y": day.year, "m": day.month, "d": day.day}


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown Spot table {name!r}; known: {', '.join(sorted(TABLES))}") from None


def tables_of(data_type: str) -> list[Table]:
    return [t for t in TABLES.values() if t.data_type == data_type]


def check_data_type(data_type: str) -> str:
    if data_type not in DATA_TYPES:
        raise ValueError(f"unknown data type {data_type!r}: use one of {', '.join(DATA_TYPES)}")
    return data_type
