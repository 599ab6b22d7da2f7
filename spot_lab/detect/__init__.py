"""Detectors in the engine's SQL and the triage list they feed (issue 13).

One module per family: flow.py (RITA v5 beacons, strobes, long connections, scans, brute
force, lateral movement, exfiltration, volume, policy), dns.py (tunnels and C2 per registered
domain, DGA bursts, DNS beacons), proxy.py (web-host beacons, uploads to rare hosts, volume),
lda.py (Spot's model as one more detector). Thresholds: thresholds.yaml, with their sources.
run.detect_day runs them for a day; triage.combine ranks one row per entity; the result is
`<type>_threats` (spot_lab.store.schema), read back with `threats_of`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def threats_of(engine, data_type: str, day) -> pd.DataFrame:
    """The day's triage list of `data_type`, ordered by rank (empty when not computed)."""
    from spot_lab import queries
    from spot_lab.dates import parse_date
    from spot_lab.store.schema import check_data_type, day_partition

    check_data_type(data_type)
    day = parse_date(day) if not isinstance(day, dt.date) else day
    sql = queries.sql("server", "threat_rows").replace("{table}", f"{data_type}_threats")
    table = engine.arrow(sql, dict(day_partition(f"{data_type}_threats", day)))
    return table.to_pandas()
