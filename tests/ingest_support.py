"""Helpers of the ingest tests: fixture paths, Zeek log writing, reading the lake back."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa

from spot_lab.store.lake import Lake

FIXTURES = Path(__file__).parent / "fixtures"
ZEEK = FIXTURES / "zeek"
SENSORS = FIXTURES / "sensors"

_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
           "resp_bytes conn_state local_orig missed_bytes history orig_pkts orig_ip_bytes "
           "resp_pkts resp_ip_bytes tunnel_parents")  # fmt: skip
_TYPES = ("time string addr port addr port enum string interval count count string bool count "
          "string count count count count set[string]")  # fmt: skip
CONN_FIELDS, CONN_TYPES = _FIELDS.split(" "), _TYPES.split(" ")


def data_lines(path: Path) -> list[str]:
    """The data lines of a Zeek log (TSV: not '#'; JSON: every non-empty line)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return [ln for ln in raw.decode().splitlines() if ln.strip() and not ln.startswith("#")]


def conn_header(path_kind: str = "conn", fields=CONN_FIELDS, types=CONN_TYPES) -> str:
    return (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{path_kind}\n#open\t2026-11-28-09-00-00\n"
        "#fields\t" + "\t".join(fields) + "\n#types\t" + "\t".join(types) + "\n"
    )


def conn_line(ts: float, i: int, orig="10.0.10.23", resp="93.184.216.34", state="SF") -> str:
    """A conn.log line with a unique uid (C<i>) and bytes that encode i."""
    return "\t".join([f"{ts:.6f}", f"C{i:012d}", orig, str(40000 + i % 20000), resp, "443",
                      "tcp", "ssl", "1.250000", "512", "4096", state, "T", "0", "ShADadFf",
                      "10", str(1000 + i), "8", "4420", "(empty)"])  # fmt: skip


def write_conn(path: Path, rows: int, start: float = 1795856400.0, step: float = 1.0,
               first: int = 0, close: bool = True) -> Path:  # fmt: skip
    lines = [conn_line(start + (first + i) * step, first + i) for i in range(rows)]
    path.write_text(
        conn_header() + "\n".join(lines) + "\n" + ("#close\t2026-11-28-10-00-00\n" if close else "")
    )
    return path


def table(lake_root: Path, sql: str, params=None) -> pa.Table:
    con = Lake(lake_root).connect()
    try:
        return con.sql(sql, params)
    finally:
        con.close()


def parquet_files(lake_root: Path) -> list[Path]:
    return sorted(p for p in lake_root.rglob("*.parquet") if ".spot-lab" not in p.parts)
