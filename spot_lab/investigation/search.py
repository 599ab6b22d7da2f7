"""`%spot_threat`: gather every connection of one threat and answer the five Ws.

One call runs Spot's expanded search (reference 2.3-2.5) for an anchor (an IP, a DNS
name or a proxy URI) over a date range, on any engine: every aggregate is computed by the
engine (queries/investigation.yaml); Python only enriches the small aggregated frames
(network context and geolocation, each distinct IP once) and writes the summary.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab import queries
from spot_lab.dates import date_range as make_range
from spot_lab.dates import parse_date
from spot_lab.enrich.netcontext import parse_ips
from spot_lab.errors import InputError, SpotLabError
from spot_lab.investigation.report import ThreatReport
from spot_lab.store.lake import WORK_PREFIX

TYPES = ("flow", "dns", "proxy")
_DOMAIN = re.compile(
    r"^(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$",
    re.IGNORECASE,
)
_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")  # RFC 3986
_IPISH = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
MAX_LANES = 30  # timeline lanes queried (the plot shows fewer)
BEACON_MIN_GAPS = 3  # RITA needs 4 connections, i.e. 3 gaps
BEACON_MAX_CV = 0.25  # gaps this regular look scheduled, not human
RARE_PORT_SHARE = 0.9  # a service port nobody but the anchor uses in the range is rare
HIGH_ENTROPY = 3.5  # bits per character of a DNS subdomain
HIGH_URI_ENTROPY = 4.8  # bits per character of a URI path and query (long random strings)
RARE_HOST_CLIENTS = 5  # a web host this few clients visited in the range is rare
_RISKY_FILES = r"\.(?:exe|dll|scr|iso|img|zip|rar|7z|js|vbs|hta|ps1|bat|msi|jar)(?:$|\?)"


# ---- the anchor ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Anchor:
    value: str  # normalised (lower-case names, no URI scheme)
    kind: str  # ip | name | uri
    data_type: str  # flow | dns | proxy


def classify(anchor: Any, data_type: str = "auto") -> Anchor:
    """Validate the anchor and decide the data type; one-line InputError otherwise."""
    wanted = str(data_type or "auto").strip().lower()
    if wanted not in (*TYPES, "auto"):
        raise InputError(f"unknown type {data_type!r}: use flow, dns, proxy or auto")
    text = "" if anchor is None else str(anchor).strip()
    if not text:
        raise InputError(
            "empty anchor: give an IP (10.0.0.5), a domain name (evil.example) or a URI "
            "(host/path), e.g. %spot_threat 10.0.0.5"
        )
    if len(text) > 4096:
        raise InputError("anchor longer than 4096 characters: give the IP, name or URI itself")
    if _IPISH.match(text):
        try:
            value = str(ipaddress.ip_address(text))
        except ValueError:
            raise InputError(f"malformed IP {text!r}: write it as a.b.c.d, e.g. 10.0.0.5") from None
        kind = "ip"
    elif _DOMAIN.match(text):
        value, kind = text.lower().rstrip("."), "name"
    elif _looks_like_uri(text):
        value, kind = _SCHEME.sub("", text), "uri"
    else:
        raise InputError(
            f"{text[:80]!r} is not an IP, a domain name or a URI: check for stray quotes or spaces"
        )
    if wanted == "auto":
        wanted = {"ip": "flow", "name": "dns", "uri": "proxy"}[kind]
    if wanted == "flow" and kind != "ip":
        raise InputError(f"flow investigations take an IP, not {text[:80]!r}")
    if wanted == "dns" and kind == "uri":
        raise InputError(f"dns investigations take a client IP or a query name, not {text[:80]!r}")
    if wanted == "proxy" and kind == "name":
        kind = "uri"  # a bare host is a valid Spot fulluri (path and query are optional)
    return Anchor(value, kind, wanted)


def _looks_like_uri(text: str) -> bool:
    if not _URI_CHARS.match(text):
        return False
    rest = _SCHEME.sub("", text)
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = re.sub(r":\d+$", "", host)
    if not host or not ("/" in rest or "?" in rest or _SCHEME.match(text)):
        return False
    if _DOMAIN.match(host) or host.startswith("["):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# ---- days ----------------------------------------------------------------------------------
def available_days(engine, data_type: str) -> list[dt.date]:
    """Days holding raw data of the type: the lake's folders, or the engine's partitions."""
    lake = getattr(engine, "lake", None)
    if lake is not None:
        return lake.days(data_type)
    rows = engine.df(queries.sql("investigation", f"days_with_data_{data_type}"))
    return sorted({dt.date(int(r.y), int(r.m), int(r.d)) for r in rows.itertuples()})


def resolve_range(
    date_range: Any, available: Sequence[dt.date], data_type: str
) -> tuple[dt.date, dt.date, list[dt.date]]:
    """(first, last, days with data inside); the latest day when no range is given."""
    if not available:
        raise InputError(
            f"no {data_type} data on this engine: load some (spot-lab generate --lake DIR "
            "--date YYYY-MM-DD) or connect to the cluster that holds it"
        )
    if date_range is None:
        first = last = available[-1]
    elif isinstance(date_range, (str, dt.date)):
        first = last = parse_date(date_range)
    else:
        try:
            start, end = date_range
        except (TypeError, ValueError):
            raise InputError("date_range is a (first, last) pair of YYYY-MM-DD dates") from None
        first, last = make_range(start=start, end=end)
    inside = [d for d in available if first <= d <= last]
    if not inside:
        raise InputError(
            f"no {data_type} data {_span(first, last)}: {data_type} data exists on "
            f"{_list_days(available)}"
        )
    return first, last, inside


def _span(first: dt.date, last: dt.date) -> str:
    return f"on {first}" if first == last else f"from {first} to {last}"


def _list_days(days: Sequence[dt.date]) -> str:
    text = [str(d) for d in days]
    if len(text) > 12:
        text = [*text[:5], f"... ({len(days) - 10} more) ...", *text[-5:]]
    return ", ".join(text)


def day_params(first: dt.date, last: dt.date) -> dict[str, Any]:
    key = lambda d: d.year * 10000 + d.month * 100 + d.day  # noqa: E731
    return {
        "k1": key(first),
        "k2": key(last),
        "y1": first.year,
        "y2": last.year,
        "s1": first.strftime("%Y%m%d"),
        "s2": last.strftime("%Y%m%d"),
        "sy1": f"{first.year:04d}",
        "sy2": f"{last.year:04d}",
    }


# ---- the investigation -----------------------------------------------------------------------
def investigate(
    anchor: str,
    *,
    data_type: str = "auto",
    date_range: Any = None,
    top: int | None = None,
    engine=None,
    settings=None,
) -> ThreatReport:
    """Investigate one anchor over a date range (default: the latest day with data).

    `date_range` is None, one day ('YYYY-MM-DD' or a date) or a (first, last) pair.
    """
    if settings is None:
        from spot_lab.config import load_settings

        settings = load_settings()
    target = classify(anchor, data_type)
    top = settings.top_n if top is None else top
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top <= 0:
        raise InputError(f"--top must be a whole number greater than 0, not {top!r}")
    if engine is None:
        from spot_lab.engines.connections import current_engine

        engine = current_engine()
    first, last, days = resolve_range(
        date_range, available_days(engine, target.data_type), target.data_type
    )
    run = _Run(engine, settings, target, first, last, days, int(top))
    return run.execute()


def query_sql(
    query: str, data_type: str, *, anchor: str = "", rows: str | None = None, **fragments: str
) -> str:
    """The named query with its fragments spliced in (never values: those are bound).

    {rows} is the anchor's flows (the `rows` temp table, else pushdown-friendly scans), {days}
    the day predicate of the table the query reads, {anchor} the `anchor` fragment."""
    text = queries.sql("investigation", query)
    if "{rows}" in text:
        text = text.replace("{rows}", rows or queries.sql("investigation", "rows_flow_ip"))
    table = query.split("_", 1)[0]
    oa = table == "storyboard" or any(w in query for w in ("score", "rank", "beacons"))
    days = "days_oa" if oa else f"days_{table if table in TYPES else data_type}"
    fragments.setdefault("days", queries.sql("investigation", days))
    if anchor:
        fragments.setdefault("anchor", queries.sql("investigation", anchor))
    return queries.splice(text, **fragments)


# The anchor's flows on the embedded engine: a temp table of the engine's own connection
# (one investigation at a time per connection). A fixed name keeps the SQL of every
# aggregate the same from run to run, so each is parsed and rendered once per process.
_ROWS_TABLE = WORK_PREFIX + "threat_rows"

_ANCHOR_FRAGMENTS = {
    ("flow", "ip"): "anchor_flow_ip",
    ("dns", "ip"): "anchor_dns_client",
    ("dns", "name"): "anchor_dns_name",
    ("proxy", "uri"): "anchor_proxy_uri",
    ("proxy", "ip"): "anchor_proxy_client",
}


class _Run:
    """State of one investigation: the engine, the bound values and the report being built."""

    def __init__(self, engine, settings, target: Anchor, first, last, days, top: int) -> None:
        self.engine, self.settings, self.target, self.top = engine, settings, target, top
        self.locator = None
        self.rows: str | None = None  # the anchor's flows: a temp table or a rows_* fragment
        self.indexed = False  # flow rows and port counts come from the per-day IP index
        self.params: dict[str, Any] = day_params(first, last)
        if target.kind == "ip":
            self.params["ip"] = target.value
        elif target.kind == "name":
            self.params |= {
                "name": target.value,
                "suffix": "." + target.value,
                "suffix_len": len(target.value) + 1,
            }
        else:
            self.params["uri"] = target.value
            self.params["refs"] = [
                target.value,
                f"http://{target.value}",
                f"https://{target.value}",
            ]
        self.report = ThreatReport(
            anchor=target.value,
            data_type=target.data_type,
            kind=target.kind,
            first_day=first,
            last_day=last,
            days=list(days),
            engine=getattr(engine, "kind", "?"),
            top=top,
        )
        self.report._engine = engine
        self.report._settings = settings

    # -- SQL ---------------------------------------------------------------------------------
    def sql(self, query: str, **fragments: str) -> str:
        t = self.target
        anchor = _ANCHOR_FRAGMENTS[(t.data_type, t.kind)]
        return query_sql(query, t.data_type, anchor=anchor, rows=self.rows, **fragments)

    def df(self, name: str, extra: dict | None = None, **fragments: str) -> pd.DataFrame:
        params = self.params | (extra or {})
        # small aggregates: Arrow's conversion thread pool costs more than it saves here
        return self.engine.arrow(self.sql(name, **fragments), params).to_pandas(use_threads=False)

    def optional(self, name: str, extra: dict | None = None, **fragments: str) -> pd.DataFrame:
        """A query on a table a cluster may lack (OA and spot-lab tables): a note, not a failure."""
        try:
            return self.df(name, extra, **fragments)
        except SpotLabError as exc:
            self.report.notes.append(f"{name.replace('_', ' ')} unavailable: {exc}")
            return pd.DataFrame()

    # -- flow --------------------------------------------------------------------------------
    def execute(self) -> ThreatReport:
        handler = {"flow": self.flow, "dns": self.dns, "proxy": self.proxy}[self.target.data_type]
        handler()
        self.what_scores()
        self.load_storyboard()
        self.report._locator = self.locator
        self.report.finish()
        return self.report

    def flow(self) -> None:
        if getattr(self.engine, "kind", "") != "duckdb":
            return self.flow_queries()  # clusters: every aggregate reads the raw table
        # embedded engine: read the anchor's rows once (from the per-day IP index when every
        # day has a fresh one, else one scan of the raw days), aggregate them from memory
        from spot_lab.store.ipindex import covers

        self.indexed = covers(self.engine.lake, self.report.days)
        if self.indexed:
            self.rows = queries.sql("investigation", "rows_flow_index")
        name = _ROWS_TABLE
        self.engine.arrow(self.sql("materialize_rows", name=name), self.params)
        self.rows = name
        try:
            self.flow_queries()
        finally:
            self.rows = None
            self.engine.arrow(self.sql("drop_rows", name=name))

    def flow_queries(self) -> None:
        r = self.report
        peers = self.df("flow_peers")
        if peers.empty:
            r.mark_empty(f"no flow connections of {r.anchor} {_span(r.first_day, r.last_day)}")
            return
        peers["cv_interval"] = peers["sd_interval"] / peers["mean_interval"].where(
            peers["mean_interval"] > 0
        )
        _epoch_columns(peers, "first_seen", "last_seen", "first_contact")
        me = pd.DataFrame(
            {
                "peer": [r.anchor],
                "direction": [_mirror(peers["direction"])],
                "connections": [int(peers["connections"].sum())],
                "bytes": [int(peers["bytes"].sum())],
            }
        )
        both = self.enrich(pd.concat([me, peers], ignore_index=True), "peer")  # one lookup
        me, peers = both.iloc[:1], both.iloc[1:].reset_index(drop=True)
        r.peers = peers
        r.details = _epoch_columns(self.df("flow_details"))
        for direction, attr in (
            ("inbound", "inbound"),
            ("outbound", "outbound"),
            ("two-way", "two_way"),
        ):
            setattr(r, attr, peers[peers["direction"] == direction].reset_index(drop=True))
        r.top_by_bytes = _top_per_group(peers, "bytes", self.top)
        r.top_by_connections = _top_per_group(peers, "connections", self.top)
        lanes = _lanes("peer", r.top_by_connections, r.top_by_bytes)
        r.top_peers = lanes
        r.timeline = _minutes(self.df("flow_timeline", {"peers": lanes}))
        profile = self.df("flow_profile")
        self.profile(profile)
        r.protocols = _share(profile, "proto", "connections")
        r.impact = _impact(peers)
        r.where = _where(both, "peer")
        r.endpoints = both[["peer", "direction", "connections", "bytes"]].rename(
            columns={"peer": "ip"}
        )
        self.patient_zero(peers, "peer", "first_contact")
        self.flow_evidence(peers, me)

    def flow_evidence(self, peers: pd.DataFrame, me: pd.DataFrame) -> None:
        r, ev = self.report, self.report.add_evidence
        mine = self.df("flow_anchor_ports")
        mine = mine[mine["dport"] < 49152]  # service ports, not the clients' ephemeral ones
        mine = mine.sort_values(["connections", "dport"], ascending=[False, True]).head(5)
        if not mine.empty:
            ours = dict(zip(mine["dport"].tolist(), mine["connections"].tolist(), strict=True))
            query = "flow_port_usage_index" if self.indexed else "flow_port_usage"
            usage = self.df(query, {"ports": list(ours)})
            totals = zip(usage["dport"].tolist(), usage["connections"].tolist(), strict=True)
            for port, total in sorted(totals):
                share = ours[port] / total
                rare = share >= RARE_PORT_SHARE
                ev(
                    "rare port" if rare else "port",
                    round(share, 3),
                    f"port {port}: {ours[port]:,} of the {total:,} connections on it "
                    f"in the range involve {r.anchor} ({share:.1%})",
                    rare,
                )
        regular = peers[(peers["gaps"] >= BEACON_MIN_GAPS) & (peers["cv_interval"] < BEACON_MAX_CV)]
        beacons = sorted(regular.to_dict("records"), key=lambda b: (b["cv_interval"], b["peer"]))
        for row in beacons[:5]:  # a few rows: sorted in Python, not by a pandas string sort
            ev(
                "beacon-like intervals",
                round(float(row["cv_interval"]), 3),
                f"{row['peer']}: {row['connections']} connections every "
                f"{row['mean_interval']:.0f} s (sd {row['sd_interval']:.1f} s, "
                f"coefficient of variation {row['cv_interval']:.3f})",
                True,
            )
        table = self.optional("flow_beacons_of")
        if not table.empty:
            r.beacons = table
            best = table.iloc[0]
            ev(
                "beacon score (flow_beacons)",
                round(float(best["score"]), 3),
                f"{best['srcip']} -> {best['dstip']}:{best['dport']} scored {best['score']:.2f} "
                f"over {best['connections']} connections, mean interval {best['mean_interval']:.0f} s",
                float(best["score"]) >= 0.7,
            )
        sent, received = int(peers["bytes_sent"].sum()), int(peers["bytes_received"].sum())
        ratio = sent / received if received else math.inf if sent else 0.0
        internal = bool(me["internal"].iloc[0])  # private space or the configured ranges
        # data leaving the network: an internal anchor sending, or an external one receiving
        leaving = ratio if internal else (1 / ratio if ratio else math.inf)
        ev(
            "outbound/inbound byte ratio",
            round(ratio, 3) if math.isfinite(ratio) else ratio,
            f"{r.anchor} sent {sent:,} bytes and received {received:,}",
            leaving >= 3,
        )
        ev("distinct peers", len(peers), f"{len(peers)} peers in the range", len(peers) >= 100)

    # -- dns ---------------------------------------------------------------------------------
    def dns(self) -> None:
        r = self.report
        names = self.df("dns_by_name")
        if names.empty:
            r.mark_empty(f"no DNS responses for {r.anchor} {_span(r.first_day, r.last_day)}")
            return
        _epoch_columns(names)
        subdomains = _subdomains(names["dns_qry_name"])
        names["entropy"] = _entropies(subdomains)
        r.queries = names
        if self.target.kind == "name":
            clients = self.enrich(_epoch_columns(self.df("dns_by_client")), "client")
            r.clients = clients
            lanes = clients["client"].head(MAX_LANES).tolist()
            lane_col = "ip_dst"
        else:
            r.clients = self.enrich(
                pd.DataFrame({"client": [r.anchor], "total": [int(names["total"].sum())]}), "client"
            )
            lanes = names["dns_qry_name"].head(MAX_LANES).tolist()
            lane_col = "dns_qry_name"
        r.top_peers = lanes
        r.timeline = _minutes(self.df("dns_timeline", {"lanes": lanes}, lane=lane_col))
        profile = self.df("dns_profile")
        self.profile(profile)
        r.protocols = _share(
            profile.assign(qtype=profile["qtype"].map(_qtype)), "qtype", "connections"
        )
        r.rcodes = _share(
            profile.assign(rcode=profile["rcode"].map(_rcode)), "rcode", "connections"
        )
        answers = _split_answers(names["answer"])
        r.where = (
            _where(self.enrich(pd.DataFrame({"ip": answers}), "ip"), "ip")
            if answers
            else pd.DataFrame()
        )
        r.endpoints = _endpoints(r.clients, "client", "total", answers)
        self.patient_zero(r.clients, "client", "first_seen")
        total = int(names["total"].sum())
        ev = r.add_evidence
        nx, txt = int(names["nxdomain"].sum()), int(names["txt"].sum())
        _rate(ev, "NXDOMAIN rate", nx, total, "responses were NXDOMAIN", 0.2)
        _rate(ev, "TXT share", txt, total, "queries asked for TXT records", 0.2)
        unique = len(names)
        ev(
            "distinct names",
            unique,
            f"{unique:,} distinct names in {total:,} responses",
            unique >= 200,
        )
        high = names[names["entropy"] >= HIGH_ENTROPY]
        mean_entropy = float(names["entropy"].mean())
        ev(
            "high-entropy names",
            len(high),
            f"{len(high):,} names with subdomain entropy >= {HIGH_ENTROPY} bits/char "
            f"(mean {mean_entropy:.2f})",
            len(high) >= 10 or (unique and len(high) / unique >= 0.5),
        )
        ev(
            "mean subdomain length",
            round(float(subdomains.str.len().mean()), 1),
            "characters before the registered domain",
            False,
        )

    # -- proxy -------------------------------------------------------------------------------
    def proxy(self) -> None:
        r, uri = self.report, self.target.kind == "uri"
        clients = self.df("proxy_by_client")
        if clients.empty:
            r.mark_empty(f"no proxy requests for {r.anchor} {_span(r.first_day, r.last_day)}")
            return
        r.clients = self.enrich(clients, "client")
        related = queries.sql(
            "investigation", "related_proxy_uri" if uri else "anchor_proxy_client"
        )
        r.requests = self.df("proxy_requests", related=related)
        r.uris = self.df("proxy_by_uri")
        breakdown = self.df("proxy_breakdown")
        r.methods = _share(breakdown, "reqmethod", "requests")
        r.content_types = _share(breakdown, "resconttype", "requests")
        r.respcodes = _share(breakdown, "respcode", "requests")
        r.categories = _share(breakdown, "webcat", "requests")
        r.agents = _share(breakdown, "useragent", "requests")
        r.protocols = r.methods
        if uri:
            r.referers = self.df("proxy_referers")
            r.referred = self.df("proxy_referred")
            lanes, lane_col = r.clients["client"].head(MAX_LANES).tolist(), "clientip"
        else:
            lanes, lane_col = _busiest_hosts(r.uris).head(MAX_LANES).tolist(), "host"
        r.top_peers = lanes
        timeline = self.df("proxy_timeline", {"lanes": lanes}, lane=lane_col)
        if not timeline.empty:
            timeline["minute"] = pd.to_datetime(
                timeline["minute"], format="%Y-%m-%d %H:%M", utc=True
            )
        r.timeline = timeline
        profile = self.df("proxy_profile")
        profile["day"] = pd.to_datetime(profile["p_date"]).dt.date
        self.profile(profile)
        hosts = _distinct_ips(r.uris["host"])
        r.where = (
            _where(self.enrich(pd.DataFrame({"ip": hosts}), "ip"), "ip")
            if hosts
            else pd.DataFrame()
        )
        r.endpoints = _endpoints(r.clients, "client", "requests", hosts)
        self.patient_zero(r.clients, "client", "first_contact")
        self.proxy_evidence(breakdown)

    def proxy_evidence(self, breakdown: pd.DataFrame) -> None:
        r, ev = self.report, self.report.add_evidence
        total = int(breakdown["requests"].sum())
        posts = int(breakdown.loc[breakdown["reqmethod"] == "POST", "requests"].sum())
        ev(
            "POST volume",
            posts,
            f"{posts:,} of {total:,} requests were POSTs",
            posts >= 5 and posts / total >= 0.3,
        )
        sent, received = int(breakdown["bytes_sent"].sum()), int(breakdown["bytes_received"].sum())
        ratio = sent / received if received else math.inf if sent else 0.0
        ev(
            "upload/download byte ratio",
            round(ratio, 3) if math.isfinite(ratio) else ratio,
            f"clients sent {sent:,} bytes and received {received:,}",
            ratio >= 1,
        )
        entropy = _entropies(pd.Series(r.uris["fulluri"].str.split("/", n=1).str[1].fillna("")))
        top = float(entropy.max()) if len(entropy) else 0.0
        ev(
            "URI entropy",
            round(top, 2),
            f"highest path/query entropy {top:.2f} bits/char over {len(r.uris)} URI(s)",
            top >= HIGH_URI_ENTROPY,
        )
        hosts = _busiest_hosts(r.uris)
        if len(hosts):
            host = str(hosts.iloc[0])
            usage = self.df("proxy_host_usage", {"host": host})
            clients = int(usage["clients"].iloc[0])
            ev(
                "rare host",
                clients,
                f"{host}: {clients} client(s) asked it in the range "
                f"({int(usage['requests'].iloc[0]):,} requests)",
                clients <= RARE_HOST_CLIENTS,
            )
        if self.target.kind == "uri" and len(r.referred):
            risky = r.referred[r.referred["fulluri"].str.lower().str.contains(_RISKY_FILES)]
            ev(
                "led to downloads",
                len(risky),
                f"{len(r.referred)} URI(s) requested with it as referer, {len(risky)} of them "
                f"executables or archives ({', '.join(risky['fulluri'].head(3))})",
                len(risky) > 0,
            )
        errors = int(
            breakdown.loc[
                breakdown["respcode"].astype(str).str[:1].isin(["4", "5"]), "requests"
            ].sum()
        )
        _rate(ev, "error responses", errors, total, "answered 4xx/5xx", 0.5)
        uncategorised = int(
            breakdown.loc[
                breakdown["webcat"]
                .fillna("-")
                .isin(["-", "", "Uncategorized", "Uncategorised", "unknown"]),
                "requests",
            ].sum()
        )
        what = "requests went to an uncategorised site"
        _rate(ev, "uncategorised share", uncategorised, total, what, 0.5)
        agents = len(r.agents)
        ev("distinct user agents", agents, f"{agents} user agent(s)", False)

    # -- shared pieces -----------------------------------------------------------------------
    def profile(self, profile: pd.DataFrame) -> None:
        r = self.report
        if "day" not in profile.columns:
            profile = profile.assign(
                day=[
                    dt.date(int(y), int(m), int(d))
                    for y, m, d in zip(profile["y"], profile["m"], profile["d"], strict=False)
                ]
            )
        r.hourly = _totals(profile, "hour", list(range(24)))
        r.daily = _totals(profile, "day", r.days)
        if len(r.days) >= 2:
            r.forecast, r.forecast_method = forecast(r.daily, "connections")

    def enrich(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        """Network-context names, internal flags and geolocation, each distinct IP once."""
        from spot_lab.enrich import netcontext

        ips = pd.Series(frame[column].dropna().unique(), dtype=object)
        info: dict[str, Any] = {column: ips}  # one DataFrame at the end, not a column at a time
        root = self.context_root()
        try:
            context = netcontext.load_context(netcontext.context_path(self.settings, root))
            info["name"] = context.name_of(ips.tolist()).fillna("").to_numpy()
        except SpotLabError as exc:
            self._note_once(f"network context unavailable: {exc}")
            info["name"] = ""
        located = self.locate(ips)
        if located is None:
            ranges = netcontext.load_internal(netcontext.internal_path(self.settings, root))
            parsed = netcontext.parse_ips(netcontext.to_arrow_strings(ips.tolist()))
            info["internal"] = ranges.is_internal(parsed) & parsed.valid
            for col in ("country", "city", "owner", "lat", "lon"):
                info[col] = None
        else:
            info["internal"] = located["internal"].to_numpy(dtype=bool)
            for col, src in (("country", "country"), ("city", "city"), ("owner", "owner"),
                             ("lat", "latitude"), ("lon", "longitude")):  # fmt: skip
                info[col] = located[src].to_numpy()
        return frame.merge(pd.DataFrame(info), on=column, how="left")

    def context_root(self):
        lake = getattr(self.engine, "lake", None)
        return lake.root if lake is not None else Path(self.settings.lake).expanduser()

    def locate(self, ips: pd.Series) -> pd.DataFrame | None:
        from spot_lab.enrich import geo

        try:
            if self.locator is None:
                self.locator = geo.default_geolocator(self.settings, lake=self.context_root())
            return self.locator.locate(ips.tolist()).reset_index(drop=True)
        except SpotLabError as exc:
            self._note_once(f"geolocation unavailable: {exc}")
            return None

    def _note_once(self, text: str) -> None:
        if text not in self.report.notes:
            self.report.notes.append(text)

    def patient_zero(self, frame: pd.DataFrame, column: str, time_col: str) -> None:
        r = self.report
        if self.target.kind == "ip" and self.target.data_type != "flow":
            # a client anchor is its own patient zero
            first = (
                r.queries["first_seen"].min() if not r.queries.empty else r.clients[time_col].min()
            )
            r.patient_zero = {
                "ip": r.anchor,
                "name": _first(frame, "name"),
                "first_seen": str(first),
            }
            return
        candidates = frame[frame["internal"].astype(bool) & frame[time_col].notna()]
        if candidates.empty:
            r.patient_zero = None
            return
        row = candidates.sort_values([time_col, column]).iloc[0]
        r.patient_zero = {
            "ip": row[column],
            "name": row.get("name", ""),
            "first_seen": str(row[time_col]),
        }

    def what_scores(self) -> None:
        r, t = self.report, self.target
        if t.data_type == "flow":
            scores = self.optional("flow_model_score")
            analyst = self.optional("flow_analyst_score")
        elif t.data_type == "dns":
            scores = self.optional("dns_model_score")
            analyst = self.optional(
                "dns_analyst_score_client" if t.kind == "ip" else "dns_analyst_score_name"
            )
        else:
            scores = self.optional("proxy_model_score")
            analyst = self.optional("proxy_analyst_score") if t.kind == "uri" else pd.DataFrame()
        if not scores.empty and pd.notna(scores["ml_score"].iloc[0]):
            r.model = {
                "ml_score": float(scores["ml_score"].iloc[0]),
                "flagged": int(scores["flagged"].iloc[0]),
                "reputation": _clean(scores["reputation"].iloc[0]),
            }
            if "rank" in scores.columns:
                r.model["rank"] = int(scores["rank"].iloc[0])
            else:
                rank = self.optional(f"{t.data_type}_model_rank", {"score": r.model["ml_score"]})
                if not rank.empty:
                    r.model["rank"] = int(rank["rank"].iloc[0])
        if not analyst.empty and pd.notna(analyst["analyst_score"].iloc[0]):
            r.analyst_score = int(analyst["analyst_score"].iloc[0])

    def load_storyboard(self) -> None:
        from spot_lab.investigation.storyboard import load_storyboard

        try:
            saved = load_storyboard(
                self.engine,
                self.target.data_type,
                (self.report.first_day, self.report.last_day),
                self.target.value,
            )
        except SpotLabError as exc:
            self.report.notes.append(f"storyboard unavailable: {exc}")
            return
        if saved:
            self.report.storyboard_title, self.report.storyboard_text = saved


# ---- helpers on small aggregated frames --------------------------------------------------------
def _totals(profile: pd.DataFrame, key: str, index: list) -> pd.DataFrame:
    """Connections and bytes summed per `key` value, one row per item of `index` (0 when
    absent). numpy on these few rows: a pandas groupby + reindex costs milliseconds."""
    at = pd.Index(index).get_indexer(profile[key])
    known = at >= 0
    out = pd.DataFrame({key: index})
    for col in ("connections", "bytes"):
        values = profile[col].to_numpy()
        sums = np.zeros(len(index), dtype=values.dtype)
        np.add.at(sums, at[known], np.nan_to_num(values[known]))  # NULL bytes count as 0
        out[col] = sums
    return out


def _top_per_group(peers: pd.DataFrame, metric: str, top: int) -> pd.DataFrame:
    ordered = peers.sort_values([metric, "peer"], ascending=[False, True])
    return ordered.groupby("direction", sort=False).head(top).reset_index(drop=True)


def _lanes(column: str, *frames: pd.DataFrame) -> list[str]:
    """The distinct values of `column` across the frames, in order of first appearance."""
    seen = pd.unique(pd.concat([frame[column] for frame in frames], ignore_index=True))
    return list(seen[:MAX_LANES]) or ["-"]


def _minutes(timeline: pd.DataFrame) -> pd.DataFrame:
    if not timeline.empty:
        timeline["minute"] = pd.to_datetime(timeline["minute"], unit="s", utc=True)
    return timeline


def _share(frame: pd.DataFrame, key: str, metric: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[key, metric, "share"])
    out = frame.groupby(key, dropna=False, as_index=False)[metric].sum()
    out = out.sort_values([metric, key], ascending=[False, True]).reset_index(drop=True)
    out["share"] = out[metric] / out[metric].sum()
    return out


def _impact(peers: pd.DataFrame) -> pd.DataFrame:
    """Spot's impact analysis: peers per direction and network-context category.

    A named host gets Spot's category (VPN/DMZ/Proxy/FW, else DMZ); unnamed hosts are kept
    apart as Internal / External instead of Spot's blanket DMZ. Summed in Python: a pandas
    groupby on two string keys costs milliseconds even for a single peer."""
    from spot_lab.enrich.netcontext import category_of

    totals: dict[tuple[str, str], list] = {}
    rows = zip(peers["direction"].tolist(), peers["name"].fillna("").astype(str).tolist(),
               peers["internal"].fillna(False).astype(bool).tolist(),
               peers["connections"].tolist(), peers["bytes"].tolist(), strict=True)  # fmt: skip
    for direction, name, internal, connections, size in rows:
        category = category_of(name) if name else "Internal" if internal else "External"
        total = totals.setdefault((direction, category), [0, 0, 0])
        total[0] += 1
        total[1] += connections
        total[2] += 0 if pd.isna(size) else size  # as pandas' sum, a missing value adds 0
    keys = sorted(totals)  # pandas' groupby order
    return pd.DataFrame(
        {
            "direction": pd.array([k[0] for k in keys], dtype="str"),
            "category": pd.array([k[1] for k in keys], dtype="str"),
            "peers": [totals[k][0] for k in keys],
            "connections": [totals[k][1] for k in keys],
            "bytes": [totals[k][2] for k in keys],
        }
    )


def _where(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    ext = frame[~frame["internal"].astype(bool)]
    keep = [
        c
        for c in (
            column,
            "direction",
            "connections",
            "bytes",
            "country",
            "city",
            "owner",
            "lat",
            "lon",
        )
        if c in ext.columns
    ]
    return ext[keep].rename(columns={column: "ip"}).reset_index(drop=True)


def _mirror(directions: pd.Series) -> str:
    """The anchor's own direction on the map: the peers' direction seen from the other end."""
    seen = set(directions)
    if len(seen) != 1:
        return "two-way"
    return {"inbound": "outbound", "outbound": "inbound"}.get(seen.pop(), "two-way")


def _endpoints(clients: pd.DataFrame, column: str, metric: str, others: list[str]) -> pd.DataFrame:
    """Map input: our clients and the external IPs they reached (answers, IP hosts)."""
    ours = pd.DataFrame({"ip": clients[column], "connections": clients[metric]})
    theirs = pd.DataFrame({"ip": others, "connections": 1})
    return pd.concat([ours, theirs], ignore_index=True).assign(direction="outbound", bytes=0)


def _busiest_hosts(uris: pd.DataFrame) -> pd.Series:
    """The web hosts of the URIs, most requested first."""
    hosts = uris.groupby("host", as_index=False)["requests"].sum()
    return hosts.sort_values(["requests", "host"], ascending=[False, True])["host"]


def _rate(ev, item: str, part: int, total: int, what: str, threshold: float) -> None:
    """Evidence that is a share of the total, suspicious from `threshold` up."""
    ev(item, round(part / total, 3), f"{part:,} of {total:,} {what}", part / total >= threshold)


def _first(frame: pd.DataFrame, column: str) -> str:
    return str(frame[column].iloc[0]) if column in frame and len(frame) else ""


def _clean(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def epoch_text(values: pd.Series) -> pd.Series:
    """Epoch seconds as Spot's 'YYYY-MM-DD HH:MM:SS' (UTC) text; missing stays missing."""
    # Arrow's strftime: a fraction of pandas' to_datetime + dt.strftime on small frames
    seconds = pa.array(values, from_pandas=True).cast(pa.int64()).cast(pa.timestamp("s"))
    text = pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")
    return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype="str")


def _epoch_columns(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Turn the epoch columns (first/last seen by default) into text, in place."""
    for col in columns or ("first_seen", "last_seen"):
        frame[col] = epoch_text(frame[col])
    return frame


def _subdomains(names: pd.Series) -> pd.Series:
    """Labels before the last two (the registered domain, roughly): where tunnels hide data."""
    parts = names.fillna("").str.split(".")
    return parts.map(lambda p: ".".join(p[:-2]) if len(p) > 2 else "")


def _entropies(texts: pd.Series) -> pd.Series:
    """Shannon entropy in bits per character of each string (0 for empty)."""

    def one(text: str) -> float:
        if not text:
            return 0.0
        _, counts = np.unique(np.frombuffer(text.encode(), dtype=np.uint8), return_counts=True)
        p = counts / counts.sum()
        return float(-(p * np.log2(p)).sum())

    return texts.fillna("").map(one).astype(float)


def _split_answers(answers: pd.Series) -> list[str]:
    """The distinct IPs in DNS answers ('a|b', 'a,b' or 'a b'), in order of appearance."""
    parts = answers.dropna().astype(str).str.split(r"[|,\s]+", regex=True).explode()
    return _distinct_ips(parts[parts.notna() & (parts != "")])


def _distinct_ips(values: pd.Series) -> list[str]:
    """The distinct values that are IP addresses (parsed at once), in order of appearance."""
    distinct = pd.unique(values.dropna().astype(str))
    if not len(distinct):
        return []
    return [str(v) for v in distinct[parse_ips(list(distinct)).valid]]


_QTYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    255: "ANY",
    10: "NULL",
}
_RCODES = {0: "NoError", 1: "FormErr", 2: "ServFail", 3: "NXDomain", 4: "NotImp", 5: "Refused"}


def _qtype(code) -> str:
    return _QTYPES.get(int(code), str(code)) if pd.notna(code) else "?"


def _rcode(code) -> str:
    return _RCODES.get(int(code), str(code)) if pd.notna(code) else "?"


# ---- when: a forecast of the next days ----------------------------------------------------------
def forecast(daily: pd.DataFrame, metric: str, horizon: int = 3) -> tuple[pd.DataFrame, str]:
    """Holt's linear trend (double exponential smoothing) on the daily series.

    alpha and beta are chosen on a 0.1 grid by the smallest sum of squared one-step errors;
    with two days it is the straight line through them. Forecasts never go below zero.
    """
    y = daily[metric].to_numpy(dtype=float)
    last = daily["day"].iloc[-1]
    if len(y) < 2:
        return pd.DataFrame(columns=["day", metric]), "none (one day of data)"
    best = (math.inf, 0.5, 0.5)
    grid = np.round(np.arange(0.1, 1.0, 0.1), 1)
    for alpha in grid:
        for beta in grid:
            sse = _holt(y, alpha, beta)[2]
            if sse < best[0] - 1e-9:
                best = (sse, alpha, beta)
    _, alpha, beta = best
    level, trend, _ = _holt(y, alpha, beta)
    values = np.maximum(level + trend * np.arange(1, horizon + 1), 0.0)
    days = [last + dt.timedelta(days=i) for i in range(1, horizon + 1)]
    method = f"Holt's linear trend (alpha={alpha:.1f}, beta={beta:.1f}) over {len(y)} days"
    return pd.DataFrame({"day": days, metric: np.round(values, 1)}), method


def _holt(y: np.ndarray, alpha: float, beta: float) -> tuple[float, float, float]:
    level, trend, sse = y[0], y[1] - y[0], 0.0
    for value in y[1:]:
        predicted = level + trend
        sse += (value - predicted) ** 2
        new_level = alpha * value + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * trend
        level = new_level
    return level, trend, sse
