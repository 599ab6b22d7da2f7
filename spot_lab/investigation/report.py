"""`ThreatReport`: the result of `%spot_threat`: its tables, evidence and five Ws.

Every table is a pandas DataFrame attribute. How it is shown lives in spot_lab.display: a
compact ipywidgets Tab in a widget-capable front end, published together with a plain HTML
version that nbconvert and terminals fall back to (widget.py, html.py); matplotlib PNGs so
plots survive export (figures.py); `to_html(path)`, a self-contained executive report, and
`to_pdf(path)`, printed by headless Chromium (pdf.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spot_lab.display import figures, html, pdf, widget
from spot_lab.errors import InputError
from spot_lab.investigation.five_ws import five_ws

_TABLES = [
    "peers",
    "details",
    "inbound",
    "outbound",
    "two_way",
    "top_by_bytes",
    "top_by_connections",
    "impact",
    "timeline",
    "hourly",
    "daily",
    "forecast",
    "protocols",
    "rcodes",
    "queries",
    "clients",
    "requests",
    "uris",
    "methods",
    "content_types",
    "respcodes",
    "categories",
    "agents",
    "referers",
    "referred",
    "where",
    "endpoints",
    "beacons",
    "threats",
    "evidence",
]

_EMPTY = pd.DataFrame()


def _empty() -> pd.DataFrame:
    return _EMPTY.copy()  # a report starts with ~30 of these: a copy is 4x cheaper than a new one


@dataclass
class ThreatReport:
    """Everything found about one anchor, with the five Ws in `summary`."""

    anchor: str
    data_type: str
    kind: str  # ip | name | uri
    first_day: dt.date
    last_day: dt.date
    days: list[dt.date]
    engine: str = "?"
    top: int = 20
    peers: pd.DataFrame = field(default_factory=_empty)
    details: pd.DataFrame = field(default_factory=_empty)
    inbound: pd.DataFrame = field(default_factory=_empty)
    outbound: pd.DataFrame = field(default_factory=_empty)
    two_way: pd.DataFrame = field(default_factory=_empty)
    top_by_bytes: pd.DataFrame = field(default_factory=_empty)
    top_by_connections: pd.DataFrame = field(default_factory=_empty)
    impact: pd.DataFrame = field(default_factory=_empty)
    timeline: pd.DataFrame = field(default_factory=_empty)
    hourly: pd.DataFrame = field(default_factory=_empty)
    daily: pd.DataFrame = field(default_factory=_empty)
    forecast: pd.DataFrame = field(default_factory=_empty)
    forecast_method: str = ""
    protocols: pd.DataFrame = field(default_factory=_empty)
    rcodes: pd.DataFrame = field(default_factory=_empty)
    queries: pd.DataFrame = field(default_factory=_empty)
    clients: pd.DataFrame = field(default_factory=_empty)
    requests: pd.DataFrame = field(default_factory=_empty)
    uris: pd.DataFrame = field(default_factory=_empty)
    methods: pd.DataFrame = field(default_factory=_empty)
    content_types: pd.DataFrame = field(default_factory=_empty)
    respcodes: pd.DataFrame = field(default_factory=_empty)
    categories: pd.DataFrame = field(default_factory=_empty)
    agents: pd.DataFrame = field(default_factory=_empty)
    referers: pd.DataFrame = field(default_factory=_empty)
    referred: pd.DataFrame = field(default_factory=_empty)
    where: pd.DataFrame = field(default_factory=_empty)
    endpoints: pd.DataFrame = field(default_factory=_empty)
    beacons: pd.DataFrame = field(default_factory=_empty)
    threats: pd.DataFrame = field(default_factory=_empty)  # triage-list rows naming the anchor
    evidence: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["item", "value", "detail", "suspicious"])
    )
    # whole counts (DNS responses, names, clients; proxy requests...): the lists stop at 5,000
    totals: dict[str, int] = field(default_factory=dict)
    top_peers: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    analyst_score: int | None = None
    patient_zero: dict[str, Any] | None = None
    storyboard_title: str = ""
    storyboard_text: str = ""
    notes: list[str] = field(default_factory=list)
    empty: bool = False
    message: str = ""
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._engine = None
        self._settings = None
        self._locator = None
        self._evidence_rows: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        state = self.message if self.empty else f"{len(self.evidence)} evidence items"
        return f"<ThreatReport {self.data_type} {self.anchor} {self.span}: {state}>"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every non-empty table of the report by attribute name."""
        return {name: getattr(self, name) for name in _TABLES if not getattr(self, name).empty}

    # ---- building (used by spot_lab.investigation.search) ----------------------------------------
    @property
    def span(self) -> str:
        return (
            str(self.first_day)
            if self.first_day == self.last_day
            else f"{self.first_day}..{self.last_day}"
        )

    @property
    def day(self) -> dt.date:
        """The analysis day a storyboard is saved under (Spot keys storyboards by day)."""
        return self.last_day

    def add_evidence(self, item: str, value: Any, detail: str, suspicious: bool) -> None:
        self._evidence_rows.append(
            {"item": item, "value": value, "detail": detail, "suspicious": bool(suspicious)}
        )

    def mark_empty(self, message: str) -> None:
        self.empty, self.message = True, message

    def finish(self) -> None:
        if self._evidence_rows:
            ev = pd.DataFrame(
                self._evidence_rows, columns=["item", "value", "detail", "suspicious"]
            )
            ev["value"] = pd.Series([row["value"] for row in self._evidence_rows], dtype=object)
            self.evidence = ev.sort_values(
                "suspicious", ascending=False, kind="stable"
            ).reset_index(drop=True)
        self.summary = five_ws(self)

    def five_ws(self) -> str:
        """The summary as markdown lines (for notes and tickets)."""
        lines = [f"**{self.data_type} {self.anchor}**, {self.span}"]
        for w, items in self.summary.items():
            text = "; ".join(f"{k}: {v}" for k, v in items.items()) or "-"
            lines.append(f"- **{w.capitalize()}**: {text}")
        return "\n".join(lines)

    # ---- storyboard and scoring ------------------------------------------------------------
    def save_storyboard(self, title: str, text: str) -> None:
        """Save the analyst's title and text (and Spot's timeline/dendro rows) for this anchor."""
        from spot_lab.investigation.storyboard import save_storyboard

        if self._engine is None:
            raise InputError("this report has no engine attached: run spot_lab.investigate() again")
        save_storyboard(
            self._engine, self.data_type, self.day, self.anchor, title, text, report=self
        )
        self.storyboard_title, self.storyboard_text = title, text
        self.summary = five_ws(self)

    def score(self, severity: int) -> Any:
        """Record the analyst's High (1) / Medium (2) / Low (3) score for the anchor."""
        from spot_lab.investigation.analyst import record_score

        return record_score(self._engine, self.data_type, self.day, self.anchor, int(severity))

    # ---- displays (spot_lab.display) -----------------------------------------------------
    def timeline_png(self) -> bytes | None:
        return figures.timeline_png(self)

    def profile_png(self) -> bytes | None:
        return figures.profile_png(self)

    def map_png(self) -> bytes | None:
        return figures.map_png(self)

    def _repr_html_(self) -> str:
        return html.notebook_html(self)

    def _ipython_display_(self) -> None:
        widget.show(self)

    def widget(self):
        """The tabbed widget: Summary, Connections, Timeline, Map, Storyboard."""
        return widget.report_widget(self)

    def to_html(self, path: str | Path) -> Path:
        """A self-contained executive report: summary, tables, timeline and map images."""
        return html.write_html(self, path)

    def to_pdf(self, path: str | Path, chromium: str | None = None) -> Path:
        """Print the HTML report to PDF with headless Chromium (a clear error if it is absent)."""
        return pdf.write_pdf(self, path, chromium)
