"""Captures mixed into a generated day: where the attackers rank in the triage lists.

    .venv-test/bin/python bench/mix_capture.py capture.pcap [zeek-logs/ ...] \\
        --attacker flow=192.168.56.101 --attacker dns=c2.example.net [--seed 7] \\
        [--date 2026-11-28]
        [--flows 200k] [--history 7] [--top 20] [--internal 147.32.84.0/24] [--keep DIR]

--attacker TYPE=VALUE names an attacking IP or name (and its registered domain) expected in
TYPE's triage list (flow, dns or proxy); the exit status is 1 when one is not in the top.

Issue 13's target for real captures: "the attacking hosts and domains in the top 20 threats of
their type". Steps:
1. the captures (anything `spot-lab ingest` takes: pcaps, Zeek, Suricata, nfdump, squid...)
   are ingested by spot-lab's own ingest into a scratch lake;
2. a lake is generated (--seed, --flows a day) ending on --date, with --history days before the
   capture's first day (so "first seen" and "new pair" have a past);
3. the capture's rows move onto the lake's days: its last day onto --date, earlier days before
   it, times of day kept, every Spot time column recomputed with ingest's own conversions
   (spot_lab/ingest/mappings/conversions.yaml);
4. each day holding capture rows is scored as `spot-lab score` does; per data type, the best
   rank of a triage-list row naming an attacker (an IP, or a name and its registered domain, as
   bench/evaluate.py matches) is printed, found when <= --top; and the generated attacks found
   in the top 50 as evaluate.py counts them, so a capture that pushes them out shows.
Addresses in private ranges are internal by default; --internal adds a capture's own (CTU-13's
hosts are public addresses). A note names the capture's private addresses that generated hosts
use too (the generated site is 10.0.0.0/16; a sandbox's 10.0.2.15 is one of its DMZ hosts):
their rows would read as one host's. --keep keeps the mixed lake for a look in the notebook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evaluate import parse_size  # noqa: E402
from spot_lab.enrich.netcontext import is_ip  # noqa: E402
from spot_lab.ingest.mapping import conversions  # noqa: E402
from spot_lab.ingest.sql import fill  # noqa: E402
from spot_lab.scoring.evaluation import (  # noqa: E402
    DATA_TYPES,
    Anchors,
    evaluate_day,
    name_terms,
    ranked_rows,
)
from spot_lab.store.lake import INGEST_STATE, Lake  # noqa: E402
from spot_lab.store.schema import TABLES  # noqa: E402

EVERY_ROW = 10**9  # rank cut of ranked_rows: the whole list


def _conv(name: str, *args: str) -> str:
    return fill(conversions()[name]["duckdb"], list(args), [])


def shifted_select(table: str, shift: int) -> str:
    """SELECT of a raw table's rows `shift` seconds later: Spot's time columns recomputed from
    the shifted time `_ts` by ingest's conversions; `_ts` kept for the partition."""
    if table == "flow":
        ts = f"make_timestamp((unix_tstamp + {shift}) * 1000000)"
        parts = {"treceived": "spot_datetime", "tryear": "year", "trmonth": "month",
                 "trday": "day", "trhour": "hour", "trminute": "minute", "trsec": "second"}  # fmt: skip
        cols = {c: _conv(f, "_ts") for c, f in parts.items()}
        cols["unix_tstamp"] = f"unix_tstamp + {shift}"
    elif table == "dns":  # tshark's frame_time keeps microseconds: carry them over
        frac = r"CAST(rpad(regexp_extract(frame_time, '\.([0-9]{1,6})', 1), 6, '0') AS BIGINT)"
        ts = f"make_timestamp((unix_tstamp + {shift}) * 1000000 + {frac})"
        cols = {"frame_time": _conv("tshark_time", "_ts"), "unix_tstamp": f"unix_tstamp + {shift}"}
    else:
        ts = f"CAST(p_date || ' ' || p_time AS TIMESTAMP) + to_seconds({shift})"
        cols = {"p_date": _conv("spot_date", "_ts"), "p_time": _conv("spot_clock", "_ts")}
    replace = ", ".join(f"{sql} AS {col}" for col, sql in cols.items())
    partitions = ", ".join(c.name for c in TABLES[table].partitions)
    return (f"SELECT * EXCLUDE (_ts) REPLACE ({replace}), _ts FROM "
            f"(SELECT * EXCLUDE ({partitions}), {ts} AS _ts FROM {table})")  # fmt: skip


def capture_days(lake: Lake) -> list[dt.date]:
    return sorted({day for t in DATA_TYPES for day in lake.days(t)})


def move_rows(scratch: Lake, lake: Lake, shift: int) -> dict[str, int]:
    """Write the scratch lake's raw rows, `shift` seconds later, into `lake`'s hour partitions
    (new files; the views then read ingest's extension columns, as on any ingested lake)."""
    con = scratch.connect()
    moved = {}
    for table in DATA_TYPES:
        if not scratch.has_data(table):
            continue
        rows = con.sql(shifted_select(table, shift))
        moved[table] = rows.num_rows
        day_hour = rows["_ts"].to_pandas()
        keys = sorted(set(zip(day_hour.dt.date, day_hour.dt.hour, strict=True)))
        for i, (day, hour) in enumerate(keys):
            mask = (day_hour.dt.date == day) & (day_hour.dt.hour == hour)
            part = rows.filter(mask.to_numpy()).drop(["_ts"])
            target = lake.partition_path(table, day, hour) / f"part-capture-{i}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(part.select(TABLES[table].file_schema.names)
                           .cast(TABLES[table].file_schema), target, compression="zstd")  # fmt: skip
    con.close()
    (lake.root / INGEST_STATE).mkdir(parents=True, exist_ok=True)
    return moved


ADDRESS_COLUMNS = {"flow": ("sip", "dip"), "dns": ("ip_dst",), "proxy": ("clientip",)}


def _addresses(lake: Lake) -> set[str]:
    con = lake.connect()
    found: set[str] = set()
    for table, cols in ADDRESS_COLUMNS.items():
        if lake.has_data(table):
            for col in cols:
                found |= set(con.sql(f"SELECT DISTINCT {col} AS ip FROM {table}")["ip"].to_pylist())
    con.close()
    return found


def shared_hosts(scratch: Lake, lake: Lake) -> list[str]:
    """Private addresses both the capture and the generated days hold (a sandbox's 10.0.2.15
    may be a generated DMZ host): their rows would be one host's."""
    both = _addresses(scratch) & _addresses(lake)
    return sorted(a for a in both if is_ip(a) and ipaddress.ip_address(a).is_private)


def add_internal(lake: Lake, cidrs: list[str]) -> None:
    path = lake.context_path("ipranges.csv")
    lines = [f"{n[0]},{n[-1]},capture" for n in map(ipaddress.ip_network, cidrs)]
    with path.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def parse_attacker(text: str) -> tuple[str, str]:
    data_type, sep, value = text.partition("=")
    if not sep or data_type not in DATA_TYPES or not value:
        raise argparse.ArgumentTypeError(f"{text!r}: give TYPE=VALUE, TYPE one of "
                                         f"{', '.join(DATA_TYPES)} (e.g. dns=c2.example.net)")  # fmt: skip
    return data_type, value.strip()


def attacker_rank(lake: Lake, day: dt.date, data_type: str, attacker: str) -> dict:
    """The triage list's length and the best rank of a row naming the attacker (an IP, or a
    name and its registered domain)."""
    if is_ip(attacker):
        anchors = Anchors(frozenset([attacker]), frozenset(), ())
    else:
        anchors = Anchors(frozenset(), frozenset(name_terms(attacker)), ())
    rows = ranked_rows(lake, data_type, day, "threats", EVERY_ROW)
    ranks = [r.rank for r in rows if anchors.involved_in(r)]
    return {"threats": len(rows), "rank": min(ranks) if ranks else None}


def run(args) -> int:
    from spot_lab.demo.command import score_lake
    from spot_lab.demo.generator import generate
    from spot_lab.ingest import ingest

    work = Path(tempfile.mkdtemp(prefix="spot-mix-"))
    try:
        scratch = Lake(work / "capture", create=True)
        report = ingest(args.captures, scratch.root, progress=False)
        print(report)
        days = capture_days(scratch)
        if not days:
            raise SystemExit("the captures gave no flow, DNS or proxy rows: nothing to mix")
        target = dt.date.fromisoformat(args.date)
        shift = (target - days[-1]).days * 86400
        mapped = [d + dt.timedelta(days=(target - days[-1]).days) for d in days]
        first = mapped[0] - dt.timedelta(days=args.history)
        root = args.keep or work / "lake"
        generate(root, first, days=(target - first).days + 1, flows_per_day=args.flows,
                 seed=args.seed, progress=False)  # fmt: skip
        lake = Lake(root)
        if args.internal:
            add_internal(lake, args.internal)
        shared = shared_hosts(scratch, lake)
        if shared:
            print(f"note: {len(shared)} private address(es) of the capture are generated hosts "
                  f"too, and their rows mix (e.g. {', '.join(shared[:3])})")  # fmt: skip
        moved = move_rows(scratch, lake, shift)
        print(f"capture days {days[0]}..{days[-1]} -> {mapped[0]}..{mapped[-1]}; rows moved: "
              + ", ".join(f"{t} {n:,}" for t, n in moved.items()))  # fmt: skip
        missed = 0
        for day in sorted(set(mapped)):
            score_lake(root, day, progress=False)
            print(f"\n{day} (seed {args.seed}, {args.flows:,} generated flows a day)")
            for t, value in args.attacker:
                r = attacker_rank(lake, day, t, value)
                found = r["rank"] is not None and r["rank"] <= args.top
                shown = f"rank {r['rank']}" if r["rank"] else "not listed"
                print(f"  {t:<6} {value}: {shown} of {r['threats']} threats "
                      f"({'in' if found else 'NOT in'} the top {args.top})")  # fmt: skip
                missed += day == target and not found
            generated = [s for s in evaluate_day(root, day)["scenarios"] if not s["benign"]]
            print(
                f"  generated attacks in their type's top 50: "
                f"{sum(s['found'] for s in generated)} of {len(generated)}"
            )
        return 1 if missed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="+", type=Path, help="what spot-lab ingest takes")
    parser.add_argument("--attacker", action="append", required=True, type=parse_attacker,
                        help="TYPE=IP or TYPE=NAME, TYPE flow, dns or proxy (repeat)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--date", default="2026-11-28", help="where the capture's last day goes")
    parser.add_argument("--flows", type=parse_size, default=parse_size("200k"))
    parser.add_argument("--history", type=int, default=7, help="days generated before")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--internal", action="append", help="a CIDR of the capture's own hosts")
    parser.add_argument("--keep", type=Path, help="write the mixed lake here (a new folder)")
    args = parser.parse_args()
    if args.keep and args.keep.exists():
        raise SystemExit(f"{args.keep} exists: --keep takes a new folder")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
