"""A report as HTML: the fragment notebooks show, and the self-contained executive report
(inline CSS and images, no external URL) that `to_html` writes and `to_pdf` prints."""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path

import pandas as pd

from spot_lab.display import figures as figures_module

CSS = """
.spot-report{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px;color:#1b1f24;max-width:1100px}
.spot-report h1{font-size:20px;margin:4px 0}.spot-report h2{font-size:15px;margin:14px 0 4px;border-bottom:1px solid #d0d7de}
.spot-report table{border-collapse:collapse;margin:4px 0 8px}.spot-report th,.spot-report td{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}
.spot-report th{background:#f6f8fa}.spot-report .ws td:first-child{font-weight:600;width:70px}
.spot-report .bad{color:#b42318;font-weight:600}.spot-report .note{color:#57606a;font-style:italic}
.spot-report img{max-width:100%}
"""


def summary_html(report) -> str:
    rows = []
    for w, items in report.summary.items():
        text = (
            "<br>".join(
                f"<b>{html.escape(str(k))}</b>: {html.escape(str(v))}" for k, v in items.items()
            )
            or "-"
        )
        rows.append(f"<tr><td>{w.capitalize()}</td><td>{text}</td></tr>")
    head = (
        f"<h1>{html.escape(report.data_type)} threat: {html.escape(report.anchor)}</h1>"
        f"<div>{html.escape(report.span)} &middot; {len(report.days)} day(s) with data &middot; "
        f"engine {html.escape(report.engine)}</div>"
    )
    notes = "".join(f"<div class='note'>{html.escape(n)}</div>" for n in report.notes)
    empty = f"<p class='bad'>{html.escape(report.message)}</p>" if report.empty else ""
    return f"{head}{empty}<table class='ws'>{''.join(rows)}</table>{notes}"


def tables_html(report, rows: int = 20) -> str:
    parts = []
    for title, frame in sections(report):
        if frame is None or frame.empty:
            continue
        shown = frame.head(rows)
        more = (
            f"<div class='note'>first {rows} of {len(frame):,} rows</div>"
            if len(frame) > rows
            else ""
        )
        parts.append(f"<h2>{html.escape(title)}</h2>{frame_html(shown)}{more}")
    return "".join(parts)


def sections(report) -> list[tuple[str, pd.DataFrame]]:
    common = [("Evidence (why)", report.evidence)]
    if report.data_type == "flow":
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
            ("Top peers by bytes", pick(report.top_by_bytes)),
            ("Top peers by connections", pick(report.top_by_connections)),
            ("Impact analysis", report.impact),
            ("Connections (expanded search)", report.details),
            ("Geolocated external peers (where)", report.where),
        ]
    if report.data_type == "dns":
        return common + [
            ("Query names", report.queries),
            ("Clients", report.clients),
            ("Query types", report.protocols),
            ("Response codes", report.rcodes),
            ("Answers geolocated (where)", report.where),
        ]
    return common + [
        ("Clients", report.clients),
        ("Requests (expanded search)", report.requests),
        ("URIs", report.uris),
        ("Methods", report.methods),
        ("Content types", report.content_types),
        ("Referers (what led to it)", report.referers),
        ("Referred (what it led to)", report.referred),
    ]


def storyboard_html(report) -> str:
    if not (report.storyboard_title or report.storyboard_text):
        return "<div class='note'>No storyboard saved yet.</div>"
    text = html.escape(report.storyboard_text).replace("\n", "<br>")
    return f"<h2>Storyboard: {html.escape(report.storyboard_title)}</h2><p>{text}</p>"


def images_html(report, *figures: str) -> str:
    """The named figures ("profile", "timeline", "map") as inline PNGs, skipping empty ones."""
    pngs = ((getattr(figures_module, f"{name}_png")(report), name) for name in figures)
    return "".join(img(png, name) for png, name in pngs if png)


def notebook_html(report) -> str:
    """The report as one HTML fragment with its style (notebooks, nbconvert)."""
    images = images_html(report, "profile", "timeline")
    return styled(
        f"{summary_html(report)}{storyboard_html(report)}{images}{tables_html(report, 10)}"
    )


def write_html(report, path: str | Path) -> Path:
    """A self-contained executive report: summary, tables, timeline and map images."""
    path = Path(path)
    images = images_html(report, "profile", "timeline", "map")
    body = (
        f"<div class='spot-report'>{summary_html(report)}{storyboard_html(report)}"
        f"<h2>When and where</h2>{images}{tables_html(report, 25)}"
        f"<div class='note'>Generated by spot-lab on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC."
        f" IP geolocation by DB-IP where the DB-IP database is used.</div></div>"
    )
    doc = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>spot-lab threat report: {html.escape(report.anchor)}</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path


def styled(body: str) -> str:
    """HTML in the report's own style block (front ends that show a fragment, not a page)."""
    return f"<div class='spot-report'><style>{CSS}</style>{body}</div>"


def img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f"<img alt='{alt}' src='data:image/png;base64,{data}'>"


def frame_html(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:,.4g}")
    return shown.to_html(index=False, border=0, escape=True, na_rep="")
