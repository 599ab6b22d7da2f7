"""RITA-style beacon detection over a day of flows, in the engine's SQL (scoring.yaml).

Sub-scores in [0, 1] per (srcip, dstip, dport, proto) with at least MIN_CONNECTIONS distinct
connection times: interval regularity (Bowley skew + MAD), size regularity (Bowley skew,
MAD, smallness), hour coverage / connection count, and the share of the day the pair spans;
weights 0.25 each. The rows go to `flow_beacons` so an investigation can cite them.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from spot_lab.engines.base import Engine
from spot_lab.scoring.words import day_params, q
from spot_lab.store.lake import to_arrow
from spot_lab.store.schema import TABLES

MIN_CONNECTIONS = 4
LIMIT = 3000


def beacon_scores(
    engine: Engine, day: dt.date, *, min_connections: int = MIN_CONNECTIONS, limit: int = LIMIT
) -> pa.Table:
    """The day's beacon candidates, best first, with flow_beacons' columns."""
    params = {**day_params("flow", day), "min_conns": min_connections, "limit": limit}
    return to_arrow(TABLES["flow_beacons"], engine.arrow(q("beacons"), params))
