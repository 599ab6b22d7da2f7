"""Time-aware network context from the sensors (issue 12 item 11): which machine held an IP
at a given time, from DHCP leases (Zeek's dhcp.log, ingested into `ip_leases`) and DNS PTR
answers (the `dns` table's type-12 responses). Apache Spot's notebook guide called this the
tricky case ("if you are using DHCP"): the static context CSV cannot say it.

- A lease names its host from its start until its end (lease time), or, for an infinite
  lease, until the address is leased again. A lease logged without a host name borrows the
  last name seen for the same MAC address.
- A PTR answer names the host for PTR_VALID seconds after it was seen (the TTL is not in
  Spot's dns table). A lease covering the time wins over a PTR answer.

`host_names(lake, ips, times)` answers many (ip, time) pairs in one DuckDB ASOF join;
`host_at(lake, ip, when)` one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from spot_lab.errors import InputError
from spot_lab.store.lake import Lake

PTR_VALID = 24 * 3600
_FOREVER = 2**62

_SQL = f"""
WITH leases AS (
  SELECT ip, start_tstamp AS s,
         coalesce(end_tstamp, lead(start_tstamp) OVER (PARTITION BY ip ORDER BY start_tstamp),
                  {_FOREVER}) AS e,
         coalesce(host_name, last_value(host_name IGNORE NULLS) OVER (
                  PARTITION BY mac ORDER BY start_tstamp ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
           AS name
  FROM ip_leases WHERE ip IS NOT NULL
), ptr AS (
  SELECT array_to_string(list_reverse(string_split(regexp_replace(lower(dns_qry_name),
           '\\.in-addr\\.arpa\\.?$', ''), '.')), '.') AS ip,
         unix_tstamp AS s, split_part(dns_a, '|', 1) AS name
  FROM dns
  WHERE dns_qry_type = 12 AND dns_qry_rcode = 0 AND dns_a IS NOT NULL
    AND regexp_matches(lower(dns_qry_name), '^([0-9]+\\.){{4}}in-addr\\.arpa\\.?$')
), by_lease AS (
  SELECT p.i, CASE WHEN p.t < l.e THEN l.name END AS name
  FROM probes p ASOF LEFT JOIN leases l ON p.ip = l.ip AND p.t >= l.s
), by_ptr AS (
  SELECT p.i, CASE WHEN p.t < d.s + {PTR_VALID} THEN d.name END AS name
  FROM probes p ASOF LEFT JOIN ptr d ON p.ip = d.ip AND p.t >= d.s
)
SELECT p.i, coalesce(a.name, b.name) AS host
FROM probes p LEFT JOIN by_lease a USING (i) LEFT JOIN by_ptr b USING (i)
ORDER BY p.i
"""


def to_epoch(when) -> int:
    """Seconds since 1970 (UTC) of a datetime, a pandas Timestamp, an ISO text or a number;
    naive times are UTC, as everywhere in Spot's tables."""
    if isinstance(when, bool):
        raise InputError(f"not a time: {when!r}")
    if isinstance(when, (int, float)):
        return int(when)
    try:
        stamp = pd.Timestamp(when)
    except (ValueError, TypeError):
        raise InputError(f"not a time: {when!r} (use YYYY-MM-DD HH:MM:SS, UTC)") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp())


def host_names(lake: Lake | str | Path, ips: Sequence[str], times: Sequence) -> list[str | None]:
    """The host that held each IP at each time (None when no lease or PTR answer says)."""
    if len(ips) != len(times):
        raise InputError("host_names needs one time per IP")
    lake = lake if isinstance(lake, Lake) else Lake(lake)
    probes = pa.table({"i": pa.array(range(len(ips)), pa.int64()),
                       "ip": pa.array([str(ip) for ip in ips], pa.string()),
                       "t": pa.array([to_epoch(t) for t in times], pa.int64())})  # fmt: skip
    con = lake.connect()
    try:
        con.refresh("ip_leases dns")
        con.con.register("probes", probes)
        return con.con.sql(_SQL).to_arrow_table()["host"].to_pylist()
    finally:
        con.close()


def host_at(lake: Lake | str | Path, ip: str, when: dt.datetime | str | float) -> str | None:
    """The host that held `ip` at `when`: `host_at(lake, "10.0.30.12", "2026-11-28 09:30")`."""
    return host_names(lake, [ip], [when])[0]
