"""Small hand-built lakes for detector tests: rows in Spot's raw formats from a few fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES

DAY = dt.date(2026, 3, 2)
START = int(dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc).timestamp())


def _blank(kind: str) -> dict:
    return {c.name: ("" if c.hive_type == "STRING" else 0) for c in TABLES[kind].columns}


def _clock(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def flow(ts, sip, dip, dport, ibyt=500, *, sport=50000, proto="TCP", flag=".AP.SF",
         tdur=0.5, ipkt=4, obyt=300, opkt=3) -> dict:  # fmt: skip
    t = _clock(ts)
    row = _blank("flow")
    row.update(treceived=t.strftime("%Y-%m-%d %H:%M:%S"), unix_tstamp=ts, tryear=t.year,
               trmonth=t.month, trday=t.day, trhour=t.hour, trminute=t.minute, trsec=t.second,
               sip=sip, dip=dip, sport=sport, dport=dport, proto=proto, flag=flag, tdur=tdur,
               ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt)  # fmt: skip
    return row


def dns(ts, client, name, qtype=1, rcode=0, answer="", server="10.9.9.53", frame_len=110) -> dict:
    t = _clock(ts)
    row = _blank("dns")
    row.update(frame_time=t.strftime("%b %e %Y %H:%M:%S.000000000 UTC"), unix_tstamp=ts,
               frame_len=frame_len, ip_dst=client, ip_src=server, dns_qry_name=name,
               dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode,
               dns_a=answer)  # fmt: skip
    return row


def proxy(ts, client, host, method="GET", csbytes=300, scbytes=5000, path="/") -> dict:
    t = _clock(ts)
    row = _blank("proxy")
    row.update(p_date=t.strftime("%Y-%m-%d"), p_time=t.strftime("%H:%M:%S"), clientip=client,
               host=host, reqmethod=method, useragent="Mozilla/5.0", resconttype="text/html",
               respcode="200", uriport="443", uripath=path, uriquery="-", csbytes=csbytes,
               scbytes=scbytes, fulluri=f"{host}{path}")  # fmt: skip
    return row


def _hour_of(kind: str, row: dict) -> int:
    return _clock(row["unix_tstamp"]).hour if kind != "proxy" else int(row["p_time"][:2])


def write(root: Path, day: dt.date = DAY, **rows_by_kind: list[dict]) -> Lake:
    """A lake at `root` with the given rows of flow / dns / proxy on `day`, hour partitions."""
    lake = Lake(root, create=True)
    for kind, rows in rows_by_kind.items():
        frame = pd.DataFrame(rows)
        frame["_h"] = [_hour_of(kind, r) for r in rows]
        for hour, part in frame.groupby("_h"):
            lake.append(kind, part.drop(columns="_h"), day, int(hour))
    return lake
