"""Proxy detectors: beacons from a client to a web host (RITA's scoring over request times;
a CONNECT tunnel's requests count too), uploads to rarely visited hosts, volume per method."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from spot_lab import queries
from spot_lab.detect.base import Context, bucketed, findings, hours, thresholds
from spot_lab.detect.flow import beacon_rows
from spot_lab.engines import worktables as sqlrun

DAY = "_spotlab_det_proxy"  # staged by spot_lab.detect.run


def day_epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def stage_day(ctx: Context) -> list[str]:
    params = {**ctx.params, "day_epoch": day_epoch(ctx.day)}
    sqlrun.stage(ctx.engine, DAY, ctx.sql("detect_proxy", "proxy_day"), params)
    return [DAY]


def _limit() -> int:
    return int(thresholds()["limits"]["findings_per_detector"])


def beacon(ctx: Context) -> pa.Table:
    b = thresholds()["beacon"]
    events = "(" + queries.render("detect_proxy", "host_events", events=DAY) + ")"
    rows = beacon_rows(ctx, events)
    for r in rows:
        r.update(entity=r["dst"], entity_kind="web_host", external=r["dst"], ips=r["src"],
                 names=r["dst"], events=r["conns"], span_hours=hours(r["last_ts"] - r["first_ts"]))  # fmt: skip
    return findings(
        "proxy_beacon", rows, template=b["summary"],
        score_of=lambda r: bucketed(r["score"] * 100, b["score_thresholds"]),
        numbers=("score", "ts_score", "ds_score", "hist_score", "dur_score", "conns",
                 "median_iv", "mad_iv", "median_bytes", "span_hours"),
    )  # fmt: skip


def posts(ctx: Context) -> pa.Table:
    t = thresholds()["exfiltration"]
    params = {"max_clients": t["post_max_clients"], "min_posts": t["post_min_requests"],
              "limit": _limit()}  # fmt: skip
    rows = ctx.rows("detect_proxy", "posts", params, events=DAY)
    for r in rows:
        r.update(entity=r["host"], entity_kind="web_host", external=r["host"], ips=r["client"],
                 names=r["host"], events=r["posts"], megabytes=r["up_bytes"] / 1e6)  # fmt: skip
    return findings(
        "upload", rows, template=t["post_summary"],
        score_of=lambda r: bucketed(r["z"], t["z_thresholds"]),
        numbers=("posts", "up_bytes", "clients", "z"),
    )  # fmt: skip


def volume(ctx: Context, history_sql: str) -> pa.Table:
    t = thresholds()["volume"]
    if not ctx.history:
        return findings("volume", [], template="", score_of=lambda r: 0, numbers=())
    params = {"min_records": t["min_records"], "min_ratio": t["ratio_thresholds"]["base"],
              "limit": _limit()}  # fmt: skip
    rows = ctx.rows("detect_proxy", "volume", params, events=DAY, history=history_sql)
    for r in rows:
        r.update(entity=r["src"], entity_kind="host", external="", ips=r["src"], events=r["n"],
                 what=f"{r['method']} requests")  # fmt: skip
    return findings("volume", rows, template=t["summary"],
                    score_of=lambda r: bucketed(r["ratio"], t["ratio_thresholds"]),
                    numbers=("n", "usual", "days", "ratio"))  # fmt: skip
