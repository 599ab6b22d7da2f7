"""The five Ws of a report (what, who, when, where, why), from its tables and evidence."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from spot_lab.store.schema import SEVERITIES


def five_ws(report) -> dict[str, dict[str, Any]]:
    what: dict[str, Any] = {"anchor": report.anchor, "type": f"{report.data_type} {report.kind}"}
    what |= _volume(report)
    if report.model:
        what["model score"] = f"{report.model['ml_score']:.3g}"
        if "rank" in report.model:
            what["model rank"] = report.model["rank"]
        if report.model.get("reputation"):
            what["reputation"] = report.model["reputation"]
    if report.analyst_score:
        what["analyst score"] = (
            f"{report.analyst_score} ({SEVERITIES.get(report.analyst_score, '?')})"
        )
    if len(report.protocols):
        key = report.protocols.columns[0]
        what["profile"] = ", ".join(
            f"{k} {s:.0%}"
            for k, s in zip(
                report.protocols[key].head(4), report.protocols["share"].head(4), strict=False
            )
        )
    who: dict[str, Any] = {}
    hosts = _internal_hosts(report)
    if hosts is not None:
        who["internal hosts"] = len(hosts)
        who["hosts"] = ", ".join(_label(ip, n) for ip, n in hosts[:6]) + (
            " ..." if len(hosts) > 6 else ""
        )
    if report.patient_zero:
        pz = report.patient_zero
        who["patient zero"] = f"{_label(pz['ip'], pz.get('name'))} at {pz['first_seen']}"
    when: dict[str, Any] = {}
    first, last = _seen(report)
    if first:
        when["first seen"], when["last seen"] = first, last
    if len(report.hourly) and report.hourly["connections"].sum():
        busiest = report.hourly.sort_values(["connections", "hour"], ascending=[False, True]).iloc[
            0
        ]
        when["busiest hour"] = (
            f"{int(busiest['hour']):02d}:00 UTC ({int(busiest['connections']):,})"
        )
    if len(report.daily) > 1:
        when["daily trend"] = ", ".join(
            f"{d:%m-%d} {int(c):,}"
            for d, c in zip(report.daily["day"], report.daily["connections"], strict=False)
        )
    if len(report.forecast):
        when["forecast"] = ", ".join(
            f"{d:%m-%d} ~{v:,.0f}"
            for d, v in zip(report.forecast["day"], report.forecast.iloc[:, 1], strict=False)
        )
        when["forecast method"] = report.forecast_method
    where: dict[str, Any] = {}
    if len(report.where):
        where["external endpoints"] = len(report.where)
        for col in ("country", "city", "owner"):
            if col in report.where:  # a Counter: pandas' value_counts costs ms on a few rows
                values = (v for v in report.where[col].tolist() if v != "" and not pd.isna(v))
                counts = Counter(values).most_common(5)  # ties: first seen first, as pandas
                if counts:
                    where[col] = ", ".join(f"{k} ({v})" for k, v in counts)
    why: dict[str, Any] = {}
    for row in report.evidence.itertuples():
        if row.suspicious:
            key, n = row.item, 1
            while key in why:  # several rare ports or beacons: keep each
                n += 1
                key = f"{row.item} ({n})"
            why[key] = f"{_num(row.value)}: {row.detail}"
    if report.storyboard_title or report.storyboard_text:
        why["analyst storyboard"] = report.storyboard_title or report.storyboard_text[:80]
    if report.empty:
        what["result"] = report.message
    return {"what": what, "who": who, "when": when, "where": where, "why": why}


def _volume(report) -> dict[str, Any]:
    if report.empty:
        return {}
    if report.data_type == "flow":
        return {
            "connections": f"{int(report.peers['connections'].sum()):,}",
            "bytes": f"{int(report.peers['bytes'].sum()):,}",
            "peers": f"{len(report.peers):,} ({len(report.inbound)} inbound-only, "
            f"{len(report.outbound)} outbound-only, {len(report.two_way)} two-way)",
        }
    if report.data_type == "dns":
        return {
            "responses": f"{report.totals['total']:,}",
            "distinct names": f"{report.totals['names']:,}",
            "clients": f"{report.totals['clients']:,}",
        }
    return {
        "requests": f"{report.totals['requests']:,}",
        "clients": f"{report.totals['clients']:,}",
        "URIs": f"{report.totals['uris']:,}",
    }


def _internal_hosts(report) -> list[tuple[str, str]] | None:
    frame, col = (
        (report.peers, "peer") if report.data_type == "flow" else (report.clients, "client")
    )
    if frame.empty or "internal" not in frame:
        return None
    inside = frame[frame["internal"].astype(bool)]
    return list(zip(inside[col], inside.get("name", [""] * len(inside)), strict=True))


def _seen(report) -> tuple[str, str]:
    frame = {"flow": report.peers, "dns": report.queries, "proxy": report.clients}[report.data_type]
    if frame.empty or "first_seen" not in frame:
        return "", ""
    return str(frame["first_seen"].min()), str(frame["last_seen"].max())


def _label(ip: str, name: Any) -> str:
    return f"{ip} ({name})" if name and not (isinstance(name, float) and pd.isna(name)) else str(ip)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)
