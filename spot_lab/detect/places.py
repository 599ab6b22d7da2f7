"""Where the day's public destinations are: only for the policy detector, only when the
organisation bans countries (SpotLab.banned_countries), each distinct address looked up once."""

from __future__ import annotations

import pyarrow as pa

from spot_lab.detect.base import Context
from spot_lab.engines import worktables as sqlrun
from spot_lab.errors import SpotLabError

BANNED = "_spotlab_det_banned"


def banned_codes(settings) -> set[str]:
    raw = getattr(settings, "banned_countries", "") or ""
    return {c.strip().upper() for c in raw.replace(";", ",").split(",") if c.strip()}


def banned_addresses(ctx: Context, destinations_sql: str) -> str | None:
    """Push (ip, country) of the destinations in a banned country; None when none is banned
    or no geolocation database is configured (with a note)."""
    codes = banned_codes(ctx.settings)
    if not codes:
        return None
    from spot_lab.enrich.geo import default_geolocator

    ips = ctx.engine.arrow(destinations_sql, ctx.params)["ip"]
    lake = getattr(ctx.engine, "lake", None)
    try:
        located = default_geolocator(ctx.settings, lake.root if lake else None).locate(ips)
    except (SpotLabError, ImportError, OSError) as exc:
        ctx.notes.append(f"policy: no geolocation ({exc}): banned countries not checked")
        return None
    code = located["country_code"].fillna("").str.upper()
    hit = located[code.isin(codes)]
    names = hit["country"].fillna(hit["country_code"]).astype(str)
    sqlrun.push(ctx.engine, BANNED, pa.table({
        "ip": pa.array(hit["ip"].astype(str).tolist(), pa.string()),
        "country": pa.array(names.tolist(), pa.string())}))  # fmt: skip
    return BANNED
