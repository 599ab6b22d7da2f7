"""Flagged rows for the server and analyst tests, made from a lake's real raw data.

The handler tests need `<type>_scores` rows with known content, independent of the model:
this takes the first `limit` raw events of the day in a fixed order and writes them in
Spot's `<type>_scores` columns with increasing model scores (rank 0 = most suspicious).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from spot_lab.store.lake import Lake

_PRIVATE = (
    "({ip} LIKE '10.%' OR {ip} LIKE '192.168.%' "
    "OR regexp_matches({ip}, '^172\\.(1[6-9]|2[0-9]|3[01])\\.'))"
)

_SQL = {
    "flow": """
        SELECT treceived AS tstart, sip AS srcip, dip AS dstip, sport, dport, proto,
               CAST(ipkt AS INT) AS ipkt, CAST(ibyt AS INT) AS ibyt,
               CAST(opkt AS INT) AS opkt, CAST(obyt AS INT) AS obyt,
               CAST((row_number() OVER w) AS FLOAT) / 1e6 AS ml_score,
               CAST(row_number() OVER w - 1 AS INT) AS rank,
               CAST({sip_private} AS INT) AS srcip_internal,
               CAST({dip_private} AS INT) AS dstip_internal,
               '' AS src_geoloc, '' AS dst_geoloc, '' AS src_domain, '' AS dst_domain,
               '' AS src_rep, '' AS dst_rep
        FROM flow WHERE y = $y AND m = $m AND d = $d
        WINDOW w AS (ORDER BY treceived, sip, dip, sport, dport)
        ORDER BY rank LIMIT $limit
    """,
    "dns": """
        SELECT frame_time, unix_tstamp, CAST(frame_len AS BIGINT) AS frame_len, ip_dst,
               dns_qry_name, dns_qry_class, dns_qry_type, dns_qry_rcode,
               CAST(row_number() OVER w AS FLOAT) / 1e6 AS ml_score,
               '' AS tld, '' AS query_rep, CAST(h AS INT) AS hh, '' AS dns_qry_class_name,
               '' AS dns_qry_type_name, '' AS dns_qry_rcode_name, '' AS network_context
        FROM dns WHERE y = $y AND m = $m AND d = $d
        WINDOW w AS (ORDER BY unix_tstamp, ip_dst, dns_qry_name)
        ORDER BY ml_score LIMIT $limit
    """,
    "proxy": """
        SELECT p_date AS tdate, p_time AS time, clientip, host, reqmethod, useragent,
               resconttype, duration, username, webcat, referer,
               TRY_CAST(respcode AS INT) AS respcode, TRY_CAST(uriport AS INT) AS uriport,
               uripath, uriquery, serverip, scbytes, csbytes, fulluri, '' AS word,
               CAST(row_number() OVER w AS FLOAT) / 1e6 AS ml_score,
               '' AS uri_rep, '' AS respcode_name, '' AS network_context
        FROM proxy WHERE y = $ys AND m = $ms AND d = $ds
        WINDOW w AS (ORDER BY p_time, clientip, fulluri)
        ORDER BY ml_score LIMIT $limit
    """,
}


def write_flagged(root: str | Path, day: dt.date, limit: int = 200) -> dict[str, int]:
    """Replace the day's `<type>_scores` partitions; return the row count per type."""
    lake = Lake(root)
    con = lake.connect()
    counts = {}
    try:
        for data_type, sql in _SQL.items():
            sql = sql.format(
                sip_private=_PRIVATE.format(ip="sip"), dip_private=_PRIVATE.format(ip="dip")
            )
            params = {"y": day.year, "m": day.month, "d": day.day, "limit": limit}
            if data_type == "proxy":
                params = {"ys": f"{day.year:04d}", "ms": f"{day.month:02d}",
                          "ds": f"{day.day:02d}", "limit": limit}  # fmt: skip
            rows = con.sql(sql, params)
            lake.replace_partition(f"{data_type}_scores", rows, day)
            counts[data_type] = rows.num_rows
    finally:
        con.close()
    return counts
