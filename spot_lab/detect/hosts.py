"""Which of the day's addresses are internal hosts, and which are never hosts.

Every distinct address of the day is classified once, in Python, by the one definition the
project has (spot_lab.enrich.netcontext.InternalRanges: private and special ranges plus
SpotLab.internal_ranges / <lake>/context/ipranges.csv); only the non-public ones go back
to the engine, as (ip, kind):

- `internal`: an internal host;
- `special`: multicast (224.0.0.0/4, ff00::/8), broadcast (255.255.255.255 and the .255
  of an internal /24), unspecified (0.0.0.0/8, ::) and loopback: never a host, on neither
  side, so SSDP, mDNS or NetBIOS broadcasts never look like beacons or sweeps.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spot_lab.enrich.netcontext import InternalRanges, parse_ips

_V4_MULTICAST = (224 << 24, (240 << 24) - 1)
_V4_ZERO = (0, (1 << 24) - 1)
_V4_LOOPBACK = (127 << 24, (128 << 24) - 1)
_V6_MULTICAST = 0xFF << 120


def classify(ips: pa.Array | list[str], ranges: InternalRanges) -> pa.Table:
    """(ip, kind) for the addresses that are not public; public ones are left out."""
    parsed = parse_ips(ips)
    internal = parsed.valid & ranges.is_internal(parsed)
    v4 = parsed.valid & ~parsed.v6
    key = parsed.key4
    special = v4 & (
        ((key >= _V4_MULTICAST[0]) & (key <= _V4_MULTICAST[1]))
        | ((key >= _V4_ZERO[0]) & (key <= _V4_ZERO[1]))
        | ((key >= _V4_LOOPBACK[0]) & (key <= _V4_LOOPBACK[1]))
        | (key == (1 << 32) - 1)
        | (internal & ((key & 0xFF) == 0xFF))  # the broadcast of an internal /24
    )
    v6 = np.flatnonzero(parsed.valid & parsed.v6)
    for i in v6:  # IPv6 is rare in flow data
        value = int(parsed.key6[i])
        special[i] = value >= _V6_MULTICAST or value in (0, 1)
    kind = np.where(special, "special", np.where(internal, "internal", ""))
    keep = kind != ""
    return pa.table(
        {
            "ip": pa.array(parsed.text[keep].tolist(), pa.string()),
            "kind": pa.array(kind[keep].tolist(), pa.string()),
        }
    )


def is_host_internal(ips: list[str], ranges: InternalRanges) -> list[bool]:
    """Internal hosts among `ips` (never multicast, broadcast or unspecified)."""
    table = classify(ips, ranges)
    inside = {ip for ip, k in zip(table["ip"].to_pylist(), table["kind"].to_pylist(),
                                   strict=True) if k == "internal"}  # fmt: skip
    return [ip in inside for ip in ips]
