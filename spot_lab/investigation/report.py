"""`ThreatReport`: the result of `%spot_threat`, its displays and its exports.

Every table is a pandas DataFrame attribute. Displays: a compact ipywidgets Tab (Summary,
Connections, Timeline, Map, Storyboard) in a widget-capable front end, published together
with a plain HTML version that nbconvert and terminals fall back to. Plots are matplotlib
PNGs so they survive export. `to_html(path)` writes a self-contained executive report
(inline CSS and images, no external URL); `to_pdf(path)` prints it with headless Chromium.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spot_lab.errors import InputError, SpotLabError
from spot_lab.store.schema import SEVERITIES

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
    "evidence",
]

_CSS = """
.spot-report{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;color:#1b1f24;max-width:1100px}
.spot-report h1{font-size:20px;margin:4px 0}.spot-report h2{font-size:15px;margin:14px 0 4px;border-bottom:1px solid #d0d7de}
.spot-report table{border-collapse:collapse;margin:4px 0 8px}.spot-report th,.spot-report td{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}
.spot-report th{background:#f6f8fa}.spot-report .ws td:first-child{font-weight:600;width:70px}
.spot-report .bad{color:#b42318;font-weight:600}.spot-report .note{color:#57606a;font-style:italic}
.spot-report img{max-width:100%}
"""


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
    evidence: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["item", "value", "detail", "suspicious"])
    )
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
        self.summary = self._five_ws()

    # ---- the five Ws -----------------------------------------------------------------------
    def _five_ws(self) -> dict[str, dict[str, Any]]:
        what: dict[str, Any] = {"anchor": self.anchor, "type": f"{self.data_type} {self.kind}"}
        what |= self._volume()
        if self.model:
            what["model score"] = f"{self.model['ml_score']:.3g}"
            if "rank" in self.model:
                what["model rank"] = self.model["rank"]
            if self.model.get("reputation"):
                what["reputation"] = self.model["reputation"]
        if self.analyst_score:
            what["analyst score"] = (
                f"{self.analyst_score} ({SEVERITIES.get(self.analyst_score, '?')})"
            )
        if len(self.protocols):
            key = self.protocols.columns[0]
            what["profile"] = ", ".join(
                f"{k} {s:.0%}"
                for k, s in zip(
                    self.protocols[key].head(4), self.protocols["share"].head(4), strict=False
                )
            )
        who: dict[str, Any] = {}
        hosts = self._internal_hosts()
        if hosts is not None:
            who["internal hosts"] = len(hosts)
            who["hosts"] = ", ".join(_label(ip, n) for ip, n in hosts[:6]) + (
                " ..." if len(hosts) > 6 else ""
            )
        if self.patient_zero:
            pz = self.patient_zero
            who["patient zero"] = f"{_label(pz['ip'], pz.get('name'))} at {pz['first_seen']}"
        when: dict[str, Any] = {}
        first, last = self._seen()
        if first:
            when["first seen"], when["last seen"] = first, last
        if len(self.hourly) and self.hourly["connections"].sum():
            busiest = self.hourly.sort_values(
                ["connections", "hour"], ascending=[False, True]
            ).iloc[0]
            when["busiest hour"] = (
                f"{int(busiest['hour']):02d}:00 UTC ({int(busiest['connections']):,})"
            )
        if len(self.daily) > 1:
            when["daily trend"] = ", ".join(
                f"{d:%m-%d} {int(c):,}"
                for d, c in zip(self.daily["day"], self.daily["connections"], strict=False)
            )
        if len(self.forecast):
            when["forecast"] = ", ".join(
                f"{d:%m-%d} ~{v:,.0f}"
                for d, v in zip(self.forecast["day"], self.forecast.iloc[:, 1], strict=False)
            )
            when["forecast method"] = self.forecast_method
        where: dict[str, Any] = {}
        if len(self.where):
            where["external endpoints"] = len(self.where)
            for col in ("country", "city", "owner"):
                if col in self.where:  # a Counter: pandas' value_counts costs ms on a few rows
                    values = (v for v in self.where[col].tolist() if v != "" and not pd.isna(v))
                    counts = Counter(values).most_common(5)  # ties: first seen first, as pandas
                    if counts:
                        where[col] = ", ".join(f"{k} ({v})" for k, v in counts)
        why: dict[str, Any] = {}
        for row in self.evidence.itertuples():
            if row.suspicious:
                key, n = row.item, 1
                while key in why:  # several rare ports or beacons: keep each
                    n += 1
                    key = f"{row.item} ({n})"
                why[key] = f"{_num(row.value)}: {row.detail}"
        if self.storyboard_title or self.storyboard_text:
            why["analyst storyboard"] = self.storyboard_title or self.storyboard_text[:80]
        if self.empty:
            what["result"] = self.message
        return {"what": what, "who": who, "when": when, "where": where, "why": why}

    def _volume(self) -> dict[str, Any]:
        if self.empty:
            return {}
        if self.data_type == "flow":
            return {
                "connections": f"{int(self.peers['connections'].sum()):,}",
                "bytes": f"{int(self.peers['bytes'].sum()):,}",
                "peers": f"{len(self.peers):,} ({len(self.inbound)} inbound-only, "
                f"{len(self.outbound)} outbound-only, {len(self.two_way)} two-way)",
            }
        if self.data_type == "dns":
            return {
                "responses": f"{int(self.queries['total'].sum()):,}",
                "distinct names": f"{len(self.queries):,}",
                "clients": f"{len(self.clients):,}",
            }
        return {
            "requests": f"{int(self.clients['requests'].sum()):,}",
            "clients": f"{len(self.clients):,}",
            "URIs": f"{len(self.uris):,}",
        }

    def _internal_hosts(self) -> list[tuple[str, str]] | None:
        frame, col = (self.peers, "peer") if self.data_type == "flow" else (self.clients, "client")
        if frame.empty or "internal" not in frame:
            return None
        inside = frame[frame["internal"].astype(bool)]
        return list(zip(inside[col], inside.get("name", [""] * len(inside)), strict=True))

    def _seen(self) -> tuple[str, str]:
        frame = {"flow": self.peers, "dns": self.queries, "proxy": self.clients}[self.data_type]
        if frame.empty or "first_seen" not in frame:
            return "", ""
        return str(frame["first_seen"].min()), str(frame["last_seen"].max())

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
        self.summary = self._five_ws()

    def score(self, severity: int) -> Any:
        """Record the analyst's High (1) / Medium (2) / Low (3) score for the anchor."""
        from spot_lab.investigation.analyst import record_score

        return record_score(self._engine, self.data_type, self.day, self.anchor, int(severity))

    # ---- figures -------------------------------------------------------------------------------
    def timeline_png(self) -> bytes | None:
        if self.timeline.empty:
            return None
        from matplotlib.figure import Figure

        totals = self.timeline.groupby("lane")["connections"].sum().sort_values(ascending=False)
        lanes = list(totals.index[:15])
        data = self.timeline[self.timeline["lane"].isin(lanes)]
        fig = Figure(figsize=(9, 0.35 * len(lanes) + 1.4), dpi=96)
        ax = fig.add_subplot()
        ypos = {lane: i for i, lane in enumerate(reversed(lanes))}
        size = 8 + 60 * data["connections"] / max(1, data["connections"].max())
        ax.scatter(
            data["minute"].dt.tz_localize(None),
            data["lane"].map(ypos),
            s=size,
            alpha=0.6,
            color="#cf222e",
        )
        ax.set_yticks(list(ypos.values()), [str(v)[:40] for v in ypos])
        ax.set_title(f"Timeline of {self.anchor} (minute buckets, top lanes)", fontsize=10)
        ax.tick_params(labelsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        return _png(fig)

    def profile_png(self) -> bytes | None:
        if self.hourly.empty:
            return None
        from matplotlib.figure import Figure

        multi = len(self.daily) > 1
        fig = Figure(figsize=(9, 2.6), dpi=96)
        ax = fig.add_subplot(1, 2 if multi else 1, 1)
        ax.bar(self.hourly["hour"], self.hourly["connections"], color="#0969da")
        ax.set_title("Hourly profile (UTC)", fontsize=10)
        ax.set_xticks(range(0, 24, 3))
        ax.tick_params(labelsize=8)
        if multi:
            ax2 = fig.add_subplot(1, 2, 2)
            ax2.plot(
                self.daily["day"],
                self.daily["connections"],
                marker="o",
                color="#0969da",
                label="observed",
            )
            if len(self.forecast):
                joined = pd.concat(
                    [
                        self.daily.tail(1)[["day", "connections"]],
                        self.forecast[["day", "connections"]],
                    ]
                )
                ax2.plot(
                    joined["day"],
                    joined["connections"],
                    linestyle="--",
                    marker="x",
                    color="#bf8700",
                    label="forecast",
                )
            ax2.set_title("Daily trend and forecast", fontsize=10)
            ax2.legend(fontsize=7)
            ax2.tick_params(labelsize=7)
            for label in ax2.get_xticklabels():
                label.set_rotation(30)
        fig.tight_layout()
        return _png(fig)

    def map_png(self) -> bytes | None:
        frame = self._map_frame()
        if frame.empty:
            return None
        try:
            from spot_lab.display.maps import endpoints_figure

            figure = endpoints_figure(
                frame, title=f"Endpoints of {self.anchor}", **self._map_options()
            )
            return _png(figure)
        except ImportError:
            pass
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 4.2), dpi=96)
        ax = fig.add_subplot()
        ax.set_xlim(-180, 180)
        ax.set_ylim(-70, 85)
        ax.grid(True, color="#d0d7de")
        size = 20 + 200 * frame["bytes"] / max(1, frame["bytes"].max())
        ax.scatter(frame["lon"], frame["lat"], s=size, alpha=0.6, color="#cf222e")
        for row in frame.head(15).itertuples():
            ax.annotate(str(row.ip), (row.lon, row.lat), fontsize=7)
        ax.set_title(f"External endpoints of {self.anchor} (lon/lat)", fontsize=10)
        fig.tight_layout()
        return _png(fig)

    def _map_frame(self) -> pd.DataFrame:
        """Endpoints to draw (internal ones too, so lines start at our sites)."""
        frame = self.endpoints if not self.endpoints.empty else self.where
        if frame.empty or "ip" not in frame:
            return pd.DataFrame()
        frame = frame.copy()
        for col, default in (("bytes", 0), ("connections", 1), ("direction", "unknown")):
            if col not in frame:
                frame[col] = default
        return frame[["ip", "bytes", "connections", "direction"]]

    def _map_options(self) -> dict[str, Any]:
        # reuse the investigation's geolocator (same database and sites; None: the default)
        return {"geolocator": self._locator}

    # ---- HTML ----------------------------------------------------------------------------------
    def _summary_html(self) -> str:
        rows = []
        for w, items in self.summary.items():
            text = (
                "<br>".join(
                    f"<b>{html.escape(str(k))}</b>: {html.escape(str(v))}" for k, v in items.items()
                )
                or "-"
            )
            rows.append(f"<tr><td>{w.capitalize()}</td><td>{text}</td></tr>")
        head = (
            f"<h1>{html.escape(self.data_type)} threat: {html.escape(self.anchor)}</h1>"
            f"<div>{html.escape(self.span)} &middot; {len(self.days)} day(s) with data &middot; "
            f"engine {html.escape(self.engine)}</div>"
        )
        notes = "".join(f"<div class='note'>{html.escape(n)}</div>" for n in self.notes)
        empty = f"<p class='bad'>{html.escape(self.message)}</p>" if self.empty else ""
        return f"{head}{empty}<table class='ws'>{''.join(rows)}</table>{notes}"

    def _tables_html(self, rows: int = 20) -> str:
        parts = []
        for title, frame in self._sections():
            if frame is None or frame.empty:
                continue
            shown = frame.head(rows)
            more = (
                f"<div class='note'>first {rows} of {len(frame):,} rows</div>"
                if len(frame) > rows
                else ""
            )
            parts.append(f"<h2>{html.escape(title)}</h2>{_frame_html(shown)}{more}")
        return "".join(parts)

    def _sections(self) -> list[tuple[str, pd.DataFrame]]:
        common = [("Evidence (why)", self.evidence)]
        if self.data_type == "flow":
            cols = [
                "peer",
                "direction",
                "connections",
                "bytes",
                "name",
                "country",
                "first_seen",
                "last_seen",
            ]
            pick = lambda f: f[[c for c in cols if c in f]] if not f.empty else f  # noqa: E731
            return common + [
                ("Top peers by bytes", pick(self.top_by_bytes)),
                ("Top peers by connections", pick(self.top_by_connections)),
                ("Impact analysis", self.impact),
                ("Connections (expanded search)", self.details),
                ("Geolocated external peers (where)", self.where),
            ]
        if self.data_type == "dns":
            return common + [
                ("Query names", self.queries),
                ("Clients", self.clients),
                ("Query types", self.protocols),
                ("Response codes", self.rcodes),
                ("Answers geolocated (where)", self.where),
            ]
        return common + [
            ("Clients", self.clients),
            ("Requests (expanded search)", self.requests),
            ("URIs", self.uris),
            ("Methods", self.methods),
            ("Content types", self.content_types),
            ("Referers (what led to it)", self.referers),
            ("Referred (what it led to)", self.referred),
        ]

    def _storyboard_html(self) -> str:
        if not (self.storyboard_title or self.storyboard_text):
            return "<div class='note'>No storyboard saved yet.</div>"
        text = html.escape(self.storyboard_text).replace("\n", "<br>")
        return f"<h2>Storyboard: {html.escape(self.storyboard_title)}</h2><p>{text}</p>"

    def _images_html(self, *figures: str) -> str:
        """The named figures ("profile", "timeline", "map") as inline PNGs, skipping empty ones."""
        pngs = ((getattr(self, f"{name}_png")(), name) for name in figures)
        return "".join(_img(png, name) for png, name in pngs if png)

    def _repr_html_(self) -> str:
        images = self._images_html("profile", "timeline")
        return _styled(
            f"{self._summary_html()}{self._storyboard_html()}{images}{self._tables_html(10)}"
        )

    def to_html(self, path: str | Path) -> Path:
        """A self-contained executive report: summary, tables, timeline and map images."""
        path = Path(path)
        images = self._images_html("profile", "timeline", "map")
        body = (
            f"<div class='spot-report'>{self._summary_html()}{self._storyboard_html()}"
            f"<h2>When and where</h2>{images}{self._tables_html(25)}"
            f"<div class='note'>Generated by spot-lab on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC."
            f" IP geolocation by DB-IP where the DB-IP database is used.</div></div>"
        )
        doc = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>spot-lab threat report: {html.escape(self.anchor)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc, encoding="utf-8")
        return path

    def to_pdf(self, path: str | Path, chromium: str | None = None) -> Path:
        """Print the HTML report to PDF with headless Chromium (a clear error if it is absent)."""
        browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            raise SpotLabError(
                "to_pdf needs Chromium (apt-get install chromium); to_html(path) works without it"
            )
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="spot-lab-pdf-") as tmp:
            source = self.to_html(Path(tmp) / "report.html")
            command = [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={Path(tmp) / 'profile'}",
                "--no-pdf-header-footer", f"--print-to-pdf={path}", source.as_uri(),
            ]  # fmt: skip
            try:
                done = subprocess.run(command, capture_output=True, timeout=120, check=False)
            except subprocess.TimeoutExpired:
                raise SpotLabError(
                    "Chromium did not finish printing the PDF within 120 s"
                ) from None
            except OSError as exc:
                raise SpotLabError(
                    f"to_pdf needs Chromium, which could not start ({exc.strerror}: {browser}): "
                    "install it (apt-get install chromium); to_html(path) works without it"
                ) from None
        if done.returncode != 0 or not path.exists() or path.stat().st_size == 0:
            tail = " ".join(done.stderr.decode(errors="replace").split()[-30:])
            raise SpotLabError(f"Chromium could not print the PDF: {tail}")
        return path

    # ---- widgets -----------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        widget = self.widget() if _widget_frontend() else None
        if widget is None:
            display({"text/html": self._repr_html_(), "text/plain": self.five_ws()}, raw=True)
            return
        bundle = widget._repr_mimebundle_()
        bundle = bundle[0] if isinstance(bundle, tuple) else bundle
        bundle["text/html"] = self._repr_html_()  # what nbconvert shows without widget state
        display(bundle, raw=True)

    def widget(self):
        """The tabbed widget: Summary, Connections, Timeline, Map, Storyboard."""
        import ipywidgets as w

        summary = w.HTML(_styled(self._summary_html()))
        tables = w.HTML(_styled(self._tables_html(20)))
        images = [png for png in (self.timeline_png(), self.profile_png()) if png]
        timeline = (
            w.VBox([w.Image(value=png, format="png") for png in images])
            if images
            else w.HTML("No timeline.")
        )
        tab = w.Tab(
            children=[summary, tables, timeline, self._map_widget(), self._storyboard_widget()]
        )
        for i, title in enumerate(["Summary", "Connections", "Timeline", "Map", "Storyboard"]):
            tab.set_title(i, title)
        return tab

    def _map_widget(self):
        import ipywidgets as w

        frame = self._map_frame()
        if frame.empty:
            return w.HTML("No geolocated external endpoints.")
        try:
            from spot_lab.display.maps import endpoints_map

            return endpoints_map(frame, **self._map_options())
        except ImportError:
            png = self.map_png()
            return w.Image(value=png, format="png") if png else w.HTML("No map.")

    def _storyboard_widget(self):
        import ipywidgets as w

        title = w.Text(
            value=self.storyboard_title, description="Title", layout=w.Layout(width="95%")
        )
        text = w.Textarea(
            value=self.storyboard_text,
            description="Text",
            layout=w.Layout(width="95%", height="140px"),
        )
        save = w.Button(description="Save storyboard", button_style="primary")
        status = w.Label()

        def on_save(_):
            try:
                self.save_storyboard(title.value, text.value)
                status.value = f"saved for {self.anchor} on {self.day}"
            except SpotLabError as exc:
                status.value = f"not saved: {exc}"

        save.on_click(on_save)
        buttons = []
        for sev, (label, style) in {
            1: ("High", "danger"),
            2: ("Medium", "warning"),
            3: ("Low", "success"),
        }.items():
            button = w.Button(description=label, button_style=style, layout=w.Layout(width="90px"))

            def on_score(_, sev=sev, label=label):
                try:
                    self.score(sev)
                    status.value = f"scored {label} ({sev})"
                except (SpotLabError, ImportError) as exc:
                    status.value = f"not scored: {exc}"

            button.on_click(on_score)
            buttons.append(button)
        return w.VBox([title, text, w.HBox([save, w.Label("Analyst score:"), *buttons]), status])


# ---- helpers -----------------------------------------------------------------------------------
def _widget_frontend() -> bool:
    """True inside a Jupyter kernel with ipywidgets importable (not a terminal IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _styled(body: str) -> str:
    """HTML in the report's own style block (front ends that show a fragment, not a page)."""
    return f"<div class='spot-report'><style>{_CSS}</style>{body}</div>"


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f"<img alt='{alt}' src='data:image/png;base64,{data}'>"


def _frame_html(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:,.4g}")
    return shown.to_html(index=False, border=0, escape=True, na_rep="")


def _label(ip: str, name: Any) -> str:
    return f"{ip} ({name})" if name and not (isinstance(name, float) and pd.isna(name)) else str(ip)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else str(value)
