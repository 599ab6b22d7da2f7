"""Proxy detectors: beacons from a client to a web host (RITA's scoring over request times;
a CONNECT tunnel's requests count too), uploads to rarely visited hosts, volume per method."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from spot_lab import queries
from spot_lab.detect.base import (
    Context,
    bucketed,
    category,
    findings,
    hours,
    limit,
    thresholds,
    volume_findings,
)
from spot_lab.detect.flow import TODAY, across, across_days, beacon_rows
from spot_lab.engines import worktables as sqlrun

DAY = "_spotlab_det_proxy"  # staged by spot_lab.detect.run


def day_epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def rows_sql(ctx: Context, days: list[dt.date] | None = None) -> str:
    """`proxy_day` of the day, or of `days` (the beacon window's, tag w): each request's
    day's midnight by its partition, a CASE of bound values."""
    if days is None:
        ctx.params["day_epoch"] = day_epoch(ctx.day)
        return ctx.sql("detect_proxy", "proxy_day", days=TODAY, epoch=":day_epoch")
    whens = []
    for i, d in enumerate(days):
        ctx.params[f"we{i}"] = day_epoch(d)
        whens.append(f"WHEN y = :wy{i} AND m = :wm{i} AND d = :wd{i} THEN :we{i}")
    return ctx.sql("detect_proxy", "proxy_day", days=ctx.days_sql(days, "w"),
                   epoch=f"(CASE {' '.join(whens)} END)")  # fmt: skip


def stage_day(ctx: Context) -> list[str]:
    sqlrun.stage(ctx.engine, DAY, rows_sql(ctx), ctx.params)
    return [DAY]


def beacon(ctx: Context) -> pa.Table:
    b = thresholds()["beacon"]
    events = "(" + queries.render("detect_proxy", "host_events", events=DAY) + ")"

    def window_of(pairs: str, days: list[dt.date]) -> tuple[str, str]:
        earlier = rows_sql(ctx, days)
        events = ctx.sql("detect_proxy", "window_requests", pairs=pairs, events=DAY,
                         earlier=earlier)  # fmt: skip
        first = ctx.sql("detect_proxy", "window_first_seen", pairs=pairs, earlier=earlier)
        return f"({events})", first

    seen = "(" + ctx.sql("detect_beacon", "event_spans", events=events) + ")"
    rows = across_days(ctx, beacon_rows(ctx, events, seen), window_of, seen)
    for r in rows:
        r.update(entity=r["dst"], entity_kind="web_host", external=r["dst"], ips=r["src"],
                 names=r["dst"], events=r["conns"], span_hours=hours(r["last_ts"] - r["first_ts"]),
                 across=across(r))  # fmt: skip
    return findings(
        "proxy_beacon", rows, template=b["summary"],
        score_of=lambda r: bucketed(r["score"] * 100, b["score_thresholds"]),
        numbers=("score", "ts_score", "ds_score", "hist_score", "dur_score", "conns",
                 "median_iv", "mad_iv", "median_bytes", "span_hours", "days"),
    )  # fmt: skip


def posts(ctx: Context) -> pa.Table:
    t = thresholds()["exfiltration"]
    params = {"max_clients": t["post_max_clients"], "min_posts": t["post_min_requests"],
              "limit": limit()}  # fmt: skip
    rows = ctx.rows("detect_proxy", "posts", params, events=DAY)
    for r in rows:
        r.update(entity=r["host"], entity_kind="web_host", external=r["host"], ips=r["client"],
                 names=r["host"], events=r["posts"], megabytes=r["up_bytes"] / 1e6)  # fmt: skip
    return findings(
        "upload", rows, template=t["post_summary"],
        score_of=lambda r: bucketed(r["z"], t["z_thresholds"]),
        numbers=("posts", "up_bytes", "clients", "z"),
    )  # fmt: skip


def _host_match(column: str, hosts, prefixes, params: dict, tag: str) -> str:
    """`column` is one of `hosts` or starts with one of `prefixes` (values bound as params)."""
    params[f"{tag}_hosts"] = list(hosts)
    parts = [f"{column} IN (:{tag}_hosts)"]
    for i, prefix in enumerate(prefixes):
        params[f"{tag}_p{i}"] = prefix + "%"
        parts.append(f"{column} LIKE :{tag}_p{i}")
    return " OR ".join(parts)


def phishing(ctx: Context) -> pa.Table:
    """Hosts reached by clicks in webmail, with a phishing page's indicators (known_services.yaml:
    webmail hosts, risky file types, uncategorised web categories)."""
    from spot_lab.detect.known import service_lists

    t, lists = thresholds()["phishing"], service_lists()
    mail = lists["webmail"]
    params = {"risky": list(lists["risky_downloads"]), "uncategorized": list(lists["uncategorized"]),
              "limit": limit()}  # fmt: skip
    from_mail = _host_match("e.ref_host", mail["hosts"], mail["prefixes"], params, "wm")
    to_mail = _host_match("e.host", mail["hosts"], mail["prefixes"], params, "wh")
    rows = ctx.rows("detect_proxy", "phishing", params, events=DAY, from_mail=from_mail,
                    to_mail=to_mail)  # fmt: skip
    for r in rows:
        signs = [("not categorised by the proxy", r["uncategorized"]),
                 (f"{r['posters']} client(s) POST to it", r["posters"]),
                 (f"{r['downloads']} {r['file_type'] or ''} download(s)", r["downloads"])]  # fmt: skip
        r["indicators"] = sum(1 for _, v in signs if v)
        r["signs"] = "; ".join(text for text, v in signs if v) or "no other indicator"
        r.update(entity=r["host"], entity_kind="web_host", external=r["host"], ips=r["client"],
                 names=r["host"], events=r["requests"])  # fmt: skip

    def score(r):
        name = t["indicator_categories"].get(r["indicators"])
        return category(name) if name else 0.0

    return findings(
        "phishing", rows, template=t["summary"], score_of=score,
        numbers=("clicked", "clients", "posters", "downloads", "uncategorized", "indicators"),
    )  # fmt: skip


def volume(ctx: Context, history_sql: str) -> pa.Table:
    return volume_findings(ctx, history_sql, "detect_proxy", lambda r: f"{r['method']} requests",
                           events=DAY)  # fmt: skip
