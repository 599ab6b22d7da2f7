"""Rows in Spot's exact formats (reference 1.2): the time columns of each type derived from
microseconds since midnight, Spot's fulluri rule, ephemeral ports, the diurnal load."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.demo import world_data as W
from spot_lab.store.schema import TABLES

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _hour_weights() -> np.ndarray:
    """Share of a day's records per hour: low at night, peak mid-afternoon."""
    hours = np.arange(24)
    w = 0.08 + np.exp(-(((hours - 14.0) / 4.5) ** 2))
    return w / w.sum()


DIURNAL = _hour_weights()


def column(value: Any, arrow_type: pa.DataType, n: int) -> pa.Array:
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return value.cast(arrow_type)
    if isinstance(value, np.ndarray):
        return pa.array(value, arrow_type)
    if isinstance(value, list):
        return pa.array(value, arrow_type)
    return pa.repeat(pa.scalar(value, arrow_type), n)


def make_rows(kind: str, day: dt.date, us: np.ndarray, **cols: Any) -> tuple[pa.Table, np.ndarray]:
    """One type's rows in its exact schema; time columns are derived from `us` here only."""
    us = np.asarray(us, dtype=np.int64)
    n = len(us)
    epoch = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())
    seconds = us // 1_000_000
    # Arrow's cast of a timestamp to text is ISO 'YYYY-MM-DD HH:MM:SS[.ffffff]' and ~10x faster
    # than strftime; every row here is of `day`, so date prefixes are constants.
    if kind == "dns":
        clock = pa.array((epoch * 10**6 + us).astype("datetime64[us]")).cast(pa.string())
    else:
        clock = pa.array((epoch + seconds).astype("datetime64[s]")).cast(pa.string())
    if kind == "flow":
        cols.update(
            treceived=clock, unix_tstamp=epoch + seconds,
            tryear=day.year, trmonth=day.month, trday=day.day,
            trhour=seconds // 3600, trminute=seconds // 60 % 60, trsec=seconds % 60,
        )  # fmt: skip
    elif kind == "dns":
        # tshark: 'Jan  4 2017 04:41:06.337519000 UTC' (day padded with a space)
        prefix = f"{MONTHS[day.month - 1]} {day.day:>2} {day.year} "
        time_of_day = pc.utf8_slice_codeunits(clock, 11)
        cols.update(
            frame_time=pc.binary_join_element_wise(prefix, time_of_day, "000 UTC", ""),
            unix_tstamp=epoch + seconds,
        )
    else:
        cols.update(p_date=day.isoformat(), p_time=pc.utf8_slice_codeunits(clock, 11))
        if "fulluri" not in cols:
            cols["fulluri"] = fulluri(cols["host"], cols["uripath"], cols["uriquery"], n)
    schema = TABLES[kind].arrow_schema
    arrays = [column(cols.pop(f.name), f.type, n) for f in schema]
    if cols:
        raise KeyError(f"unknown {kind} columns {sorted(cols)}")
    return pa.Table.from_arrays(arrays, schema=schema), us


def fulluri(host: Any, path: Any, query: Any, n: int) -> pa.Array:
    """Spot's rule: host + path + query, path and query only when longer than one character."""
    host, path, query = (column(v, pa.string(), n) for v in (host, path, query))
    path = pc.if_else(pc.greater(pc.utf8_length(path), 1), path, "")
    query = pc.if_else(pc.greater(pc.utf8_length(query), 1), query, "")
    return pc.binary_join_element_wise(host, path, query, "")


def ephemeral(rng: np.random.Generator, n: int) -> np.ndarray:
    windows = rng.integers(49152, 65536, n)
    linux = rng.integers(32768, 61000, n)
    return np.where(rng.random(n) < 0.75, windows, linux)


def flow_rows(day, us, sip, dip, sport, dport, ipkt, ibyt, *, flag=".AP.SF", opkt=0, obyt=0,
              tdur=None, sas=0, das=0, rip=W.ROUTERS[0], proto="TCP", internal_src=True):  # fmt: skip
    """Flow records of an injected scenario (scalars broadcast to every row)."""
    n = len(us)
    tdur = np.zeros(n, np.float32) if tdur is None else np.round(tdur, 3).astype(np.float32)
    return make_rows(
        "flow", day, us, tdur=tdur, sip=sip, dip=dip, sport=sport, dport=dport, proto=proto,
        flag=flag, fwd=0, stos=0, ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt, input=1, output=2,
        sas=sas, das=das, dtos=0, dir=int(internal_src), rip=rip,
    )  # fmt: skip


def dns_rows(day, us, client, names, qtype, rcode, answer, frame_len, rng):
    """DNS responses to `client` as tshark writes them, from one of the resolvers."""
    n = len(us)
    return make_rows(
        "dns", day, us, frame_len=frame_len, ip_dst=client,
        ip_src=rng.choice(np.array(W.RESOLVERS, dtype=object), n), dns_qry_name=names,
        dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode, dns_a=answer,
    )  # fmt: skip


def proxy_rows(day, us, client, host, method, path, query, *, agent, referer="-", code="200",
               ctype="text/html", ext="-", scbytes, csbytes, webcat="Uncategorized", user="-",
               scheme="https", port="443", rng):  # fmt: skip
    """Blue Coat proxy requests of `client` (scalars broadcast to every row)."""
    n = len(us)
    return make_rows(
        "proxy", day, us, clientip=client, host=host, reqmethod=method, useragent=agent,
        resconttype=ctype, duration=rng.integers(80, 2500, n).astype(np.int32), username=user,
        authgroup="-", exceptionid="-", filterresult="OBSERVED", webcat=webcat, referer=referer,
        respcode=code, action="ALLOWED", urischeme=scheme, uriport=port, uripath=path,
        uriquery=query, uriextension=ext, serverip=rng.choice(np.array(W.PROXIES, dtype=object), n),
        scbytes=scbytes, csbytes=csbytes, virusid="-", bcappname="-", bcappoper="-",
    )  # fmt: skip
