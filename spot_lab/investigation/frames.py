"""Small helpers on the investigation's aggregated frames (a few rows to a few thousand):
shares, totals, lanes, epoch text, subdomains and their entropy, IPs in answers.

numpy and plain Python where pandas' per-call overhead (groupby, sort on strings) would cost
milliseconds on frames this small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.enrich.netcontext import category_of, parse_ips

MAX_LANES = 30  # timeline lanes queried (the plot shows fewer)


def totals(profile: pd.DataFrame, key: str, index: list) -> pd.DataFrame:
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


def top_per_group(peers: pd.DataFrame, metric: str, top: int) -> pd.DataFrame:
    ordered = peers.sort_values([metric, "peer"], ascending=[False, True])
    return ordered.groupby("direction", sort=False).head(top).reset_index(drop=True)


def lanes(column: str, *frames: pd.DataFrame) -> list[str]:
    """The distinct values of `column` across the frames, in order of first appearance."""
    seen = pd.unique(pd.concat([frame[column] for frame in frames], ignore_index=True))
    return list(seen[:MAX_LANES]) or ["-"]


def minutes(timeline: pd.DataFrame) -> pd.DataFrame:
    if not timeline.empty:
        timeline["minute"] = pd.to_datetime(timeline["minute"], unit="s", utc=True)
    return timeline


def share(frame: pd.DataFrame, key: str, metric: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[key, metric, "share"])
    out = frame.groupby(key, dropna=False, as_index=False)[metric].sum()
    out = out.sort_values([metric, key], ascending=[False, True]).reset_index(drop=True)
    out["share"] = out[metric] / out[metric].sum()
    return out


def impact(peers: pd.DataFrame) -> pd.DataFrame:
    """Spot's impact analysis: peers per direction and network-context category.

    A named host gets Spot's category (VPN/DMZ/Proxy/FW, else DMZ); unnamed hosts are kept
    apart as Internal / External instead of Spot's blanket DMZ. Summed in Python: a pandas
    groupby on two string keys costs milliseconds even for a single peer."""
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


def where_table(frame: pd.DataFrame, column: str) -> pd.DataFrame:
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


def mirror(directions: pd.Series) -> str:
    """The anchor's own direction on the map: the peers' direction seen from the other end."""
    seen = set(directions)
    if len(seen) != 1:
        return "two-way"
    return {"inbound": "outbound", "outbound": "inbound"}.get(seen.pop(), "two-way")


def endpoints(clients: pd.DataFrame, column: str, metric: str, others: list[str]) -> pd.DataFrame:
    """Map input: our clients and the external IPs they reached (answers, IP hosts)."""
    ours = pd.DataFrame({"ip": clients[column], "connections": clients[metric]})
    theirs = pd.DataFrame({"ip": others, "connections": 1})
    return pd.concat([ours, theirs], ignore_index=True).assign(direction="outbound", bytes=0)


def busiest_hosts(uris: pd.DataFrame) -> pd.Series:
    """The web hosts of the URIs, most requested first."""
    hosts = uris.groupby("host", as_index=False)["requests"].sum()
    return hosts.sort_values(["requests", "host"], ascending=[False, True])["host"]


def first_value(frame: pd.DataFrame, column: str) -> str:
    return str(frame[column].iloc[0]) if column in frame and len(frame) else ""


def clean(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def epoch_text(values: pd.Series) -> pd.Series:
    """Epoch seconds as Spot's 'YYYY-MM-DD HH:MM:SS' (UTC) text; missing stays missing."""
    # Arrow's strftime: a fraction of pandas' to_datetime + dt.strftime on small frames
    seconds = pa.array(values, from_pandas=True).cast(pa.int64()).cast(pa.timestamp("s"))
    text = pc.strftime(seconds, format="%Y-%m-%d %H:%M:%S")
    return pd.Series(text.to_numpy(zero_copy_only=False), index=values.index, dtype="str")


def epoch_columns(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Turn the epoch columns (first/last seen by default) into text, in place."""
    for col in columns or ("first_seen", "last_seen"):
        frame[col] = epoch_text(frame[col])
    return frame


def subdomains(names: pd.Series) -> pd.Series:
    """Labels before the last two (the registered domain, roughly): where tunnels hide data."""
    parts = names.fillna("").str.split(".")
    return parts.map(lambda p: ".".join(p[:-2]) if len(p) > 2 else "")


def entropies(texts: pd.Series) -> pd.Series:
    """Shannon entropy in bits per character of each string (0 for empty)."""

    def one(text: str) -> float:
        if not text:
            return 0.0
        _, counts = np.unique(np.frombuffer(text.encode(), dtype=np.uint8), return_counts=True)
        p = counts / counts.sum()
        return float(-(p * np.log2(p)).sum())

    return texts.fillna("").map(one).astype(float)


def split_answers(answers: pd.Series) -> list[str]:
    """The distinct IPs in DNS answers ('a|b', 'a,b' or 'a b'), in order of appearance."""
    parts = answers.dropna().astype(str).str.split(r"[|,\s]+", regex=True).explode()
    return distinct_ips(parts[parts.notna() & (parts != "")])


def distinct_ips(values: pd.Series) -> list[str]:
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


def qtype_name(code) -> str:
    return _QTYPES.get(int(code), str(code)) if pd.notna(code) else "?"


def rcode_name(code) -> str:
    return _RCODES.get(int(code), str(code)) if pd.notna(code) else "?"
