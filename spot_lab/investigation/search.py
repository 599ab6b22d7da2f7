"""`%spot_threat`: gather every connection of one threat and answer the five Ws.

One call runs Spot's expanded search (reference 2.3-2.5) for an anchor (an IP, a DNS
name or a proxy URI) over a date range, on any engine: every aggregate is computed by the
engine (queries/investigation.yaml); Python only enriches the small aggregated frames
(network context and geolocation, each distinct IP once) and writes the summary.

`Search` holds one investigation's state and the steps every data type shares; the
searchers of each type (flow.py, dns.py, proxy.py) fill the report, and their evidence
follows rules.yaml (evidence.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spot_lab.engines.days import available_days, range_params, resolve_range
from spot_lab.enrich import geo, netcontext
from spot_lab.errors import InputError, SpotLabError
from spot_lab.investigation import dns, flow, proxy
from spot_lab.investigation import frames as F
from spot_lab.investigation.anchors import Anchor, classify
from spot_lab.investigation.detections import detector_evidence
from spot_lab.investigation.evidence import Evidence
from spot_lab.investigation.forecast import forecast
from spot_lab.investigation.report import ThreatReport
from spot_lab.investigation.sql import ANCHOR_FRAGMENTS, query_sql
from spot_lab.investigation.storyboard import load_storyboard

SEARCHERS = {"flow": flow.search, "dns": dns.search, "proxy": proxy.search}


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
    return Search(engine, settings, target, first, last, days, int(top)).execute()


class Search:
    """State of one investigation: the engine, the bound values and the report being built."""

    def __init__(self, engine, settings, target: Anchor, first, last, days, top: int) -> None:
        self.engine, self.settings, self.target, self.top = engine, settings, target, top
        self.locator = None
        self.rows: str | None = None  # the anchor's flows: a temp table or a rows_* fragment
        self.indexed = False  # flow rows and port counts come from the per-day IP index
        self.params: dict[str, Any] = range_params(first, last) | _anchor_params(target)
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
        self.evidence = Evidence(self.report)

    def execute(self) -> ThreatReport:
        SEARCHERS[self.target.data_type](self)
        if not self.report.empty:
            detector_evidence(self)
        self.what_scores()
        self.load_storyboard()
        self.report._locator = self.locator
        self.report.finish()
        return self.report

    # -- SQL ---------------------------------------------------------------------------------
    def sql(self, query: str, **fragments: str) -> str:
        anchor = ANCHOR_FRAGMENTS[(self.target.data_type, self.target.kind)]
        return query_sql(query, anchor=anchor, rows=self.rows, **fragments)

    def df(self, name: str, extra: dict | None = None, **fragments: str) -> pd.DataFrame:
        params = self.params | (extra or {})
        # small aggregates: Arrow's conversion thread pool costs more than it saves here
        return self.engine.arrow(self.sql(name, **fragments), params).to_pandas(use_threads=False)

    def counts(self, name: str, **fragments: str) -> dict[str, int]:
        """The one row of an aggregate query, as integers (a sum over no rows: 0)."""
        return {k: int(v or 0) for k, v in self.df(name, **fragments).iloc[0].items()}

    def optional(self, name: str, extra: dict | None = None, **fragments: str) -> pd.DataFrame:
        """A query on a table a cluster may lack (OA and spot-lab tables): a note, not a failure."""
        try:
            return self.df(name, extra, **fragments)
        except SpotLabError as exc:
            self.report.notes.append(f"{name.replace('_', ' ')} unavailable: {exc}")
            return pd.DataFrame()

    # -- shared pieces for the searchers -------------------------------------------------------
    def profile(self, profile: pd.DataFrame) -> None:
        r = self.report
        if "day" not in profile.columns:
            profile = profile.assign(
                day=[
                    dt.date(int(y), int(m), int(d))
                    for y, m, d in zip(profile["y"], profile["m"], profile["d"], strict=False)
                ]
            )
        r.hourly = F.totals(profile, "hour", list(range(24)))
        r.daily = F.totals(profile, "day", r.days)
        if len(r.days) >= 2:
            r.forecast, r.forecast_method = forecast(r.daily, "connections")

    def enrich(self, frame: pd.DataFrame, column: str) -> pd.DataFrame:
        """Network-context names, internal flags and geolocation, each distinct IP once."""
        ips = pd.Series(frame[column].dropna().unique(), dtype=object)
        info: dict[str, Any] = {column: ips}  # one DataFrame at the end, not a column at a time
        root = self.context_root()
        try:
            context = netcontext.load_context(netcontext.context_path(self.settings, root))
            info["name"] = context.name_of(ips.tolist()).fillna("").to_numpy()
        except SpotLabError as exc:
            self.note_once(f"network context unavailable: {exc}")
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
        try:
            if self.locator is None:
                self.locator = geo.default_geolocator(self.settings, lake=self.context_root())
            return self.locator.locate(ips.tolist()).reset_index(drop=True)
        except SpotLabError as exc:
            self.note_once(f"geolocation unavailable: {exc}")
            return None

    def note_once(self, text: str) -> None:
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
                "name": F.first_value(frame, "name"),
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
            analyst = (
                self.optional("proxy_analyst_score")
                if t.kind in ("uri", "host")
                else pd.DataFrame()
            )
        if not scores.empty and pd.notna(scores["ml_score"].iloc[0]):
            r.model = {
                "ml_score": float(scores["ml_score"].iloc[0]),
                "flagged": int(scores["flagged"].iloc[0]),
                "reputation": F.clean(scores["reputation"].iloc[0]),
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


def _anchor_params(target: Anchor) -> dict[str, Any]:
    """The bound values of the anchor's predicate (queries/investigation.yaml anchor_*)."""
    if target.kind == "ip":
        return {"ip": target.value}
    if target.kind == "name":
        return {"name": target.value, "suffix": "." + target.value,
                "suffix_len": len(target.value) + 1}  # fmt: skip
    refs = [target.value, f"http://{target.value}", f"https://{target.value}"]
    return {"uri": target.value, "refs": refs}
