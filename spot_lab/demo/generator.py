"""Realistic demo days of flow, DNS and proxy data, with injected threats and their ground truth.

`generate()` writes raw hour partitions (through `Lake.append`, in the Arrow schemas of
spot_lab.store.schema), the per-minute `*_ingest_summary` rows, Spot's context files and
`<lake>/ground_truth.json`. It never writes scores: those come from the scoring model.

Everything is vectorised with numpy/Arrow; the only Python loops build the small world (a
few thousand hosts and names) and the scenarios' few thousand rows. Output depends only on
the arguments: same seed, same rows.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import string
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.dates import parse_date
from spot_lab.demo import world as W
from spot_lab.errors import InputError, LakeError
from spot_lab.store.lake import DEMO_MARK, Lake, foreign_entries, is_demo_lake
from spot_lab.store.schema import DATA_TYPES, TABLES

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
MAX_FLOWS_PER_DAY = 100_000_000
MAX_DAYS = 366
GROUND_TRUTH = "ground_truth.json"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class GenerateSummary:
    """What `generate` wrote; str() is the human summary printed by the CLI."""

    lake: Path
    dates: list[dt.date]
    rows: dict[str, int]
    scenarios: int
    seconds: float
    ground_truth: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ground_truth = self.lake / GROUND_TRUTH

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        rate = self.total_rows / self.seconds if self.seconds > 0 else 0.0
        span = f"{self.dates[0]}" + (f" to {self.dates[-1]}" if len(self.dates) > 1 else "")
        lines = [f"generated {span} into {self.lake} in {self.seconds:.1f} s ({rate:,.0f} rows/s)"]
        lines += [f"  {name:<6}{count:>12,} rows" for name, count in self.rows.items()]
        lines.append(f"  {self.scenarios} injected scenarios, ground truth in {self.ground_truth}")
        return "\n".join(lines)


# ---- validation -----------------------------------------------------------------------------
def _count(value: Any, what: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{what} must be a whole number, got {value!r}")
    if value <= 0:
        raise InputError(f"{what} must be greater than zero, got {value}")
    if value > limit:
        raise InputError(f"{what} {value:,} is too large: use at most {limit:,}")
    return int(value)


def _check_target(root: Path, force: bool) -> None:
    """Generate writes into a missing or empty folder, or (with force) replaces a demo lake
    it made itself; it never removes a folder or a file that spot-lab did not write."""
    if root.exists() and not root.is_dir():
        raise LakeError(f"{root} is a file, not a folder: choose another --lake path")
    if not root.is_dir() or not any(root.iterdir()):
        return
    if not is_demo_lake(root):
        first = next(iter(sorted(root.iterdir()))).name
        raise LakeError(
            f"{root} holds files spot-lab did not write (such as {first!r}): demo data goes "
            "only into an empty folder or a demo lake spot-lab made; choose another --lake"
        )
    if not force:
        raise LakeError(f"{root} is a demo lake already: add --force to replace it")
    foreign = foreign_entries(root)
    if foreign:
        raise LakeError(
            f"{root} is a demo lake but also holds {foreign[0].name!r}, which spot-lab did "
            "not write: move it out first, or choose another --lake"
        )


# ---- entry point ----------------------------------------------------------------------------
def generate(
    lake: str | os.PathLike,
    start: dt.date | str,
    *,
    days: int = 1,
    flows_per_day: int = 200_000,
    seed: int = 7,
    force: bool = False,
    progress: bool = True,
) -> GenerateSummary:
    """Write `days` demo days from `start` into a new lake folder; see the module docstring."""
    first = parse_date(start)
    days = _count(days, "the number of days", MAX_DAYS)
    flows_per_day = _count(flows_per_day, "flows per day", MAX_FLOWS_PER_DAY)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number >= 0, got {seed!r}")
    root = Path(lake).expanduser().absolute()
    _check_target(root, force)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(f"cannot create {root.parent}: {exc.strerror}") from None

    began = time.perf_counter()
    # Build beside the target and swap it in at the end: a failure leaves the old lake intact.
    staging = root.parent / f".{root.name}.generating-{uuid.uuid4().hex[:8]}"
    try:
        dates = [first + dt.timedelta(days=i) for i in range(days)]
        rows, scenarios = _write_lake(Lake(staging, create=True), dates, flows_per_day, seed,
                                      progress)  # fmt: skip
        mark = {"made_by": "spot-lab generate", "seed": seed, "dates": [str(d) for d in dates]}
        (staging / DEMO_MARK).write_text(json.dumps(mark) + "\n")
        _swap_in(staging, root)
    except OSError as exc:  # disk full, permissions: the old lake is untouched
        raise LakeError(f"cannot write the lake {root}: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return GenerateSummary(root, dates, rows, scenarios, time.perf_counter() - began)


def _swap_in(staging: Path, root: Path) -> None:
    if root.is_dir() and any(root.iterdir()):
        old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(root, old)
        os.rename(staging, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, root)  # replaces a missing or empty folder


def _write_lake(
    lake: Lake, dates: list[dt.date], flows_per_day: int, seed: int, progress: bool
) -> tuple[dict[str, int], int]:
    world = World(seed)
    world.write_context(lake)
    totals = dict.fromkeys(DATA_TYPES, 0)
    truth: list[dict] = []
    for day in dates:
        rng = np.random.default_rng([seed, day.toordinal()])
        sizes = {"flow": flows_per_day, "dns": max(1, flows_per_day // 3),
                 "proxy": max(1, flows_per_day // 5)}  # fmt: skip
        parts: dict[str, list[tuple[pa.Table, np.ndarray]]] = {k: [] for k in DATA_TYPES}
        truth += _inject_scenarios(world, rng, day, sizes, parts)
        for kind in DATA_TYPES:
            tick = time.perf_counter()
            totals[kind] += _write_day(lake, world, rng, kind, day, sizes[kind], parts.pop(kind))
            if progress:
                print(f"  {day} {kind:<5} written in {time.perf_counter() - tick:.1f} s",
                      file=sys.stderr)  # fmt: skip
    ground = {
        "generator": {
            "seed": seed,
            "first_date": dates[0].isoformat(),
            "dates": [d.isoformat() for d in dates],
            "flows_per_day": flows_per_day,
            "rows": totals,
            "user_domain": W.USER_DOMAIN,
        },
        "scenarios": truth,
    }
    (lake.root / GROUND_TRUTH).write_text(json.dumps(ground, indent=1) + "\n")
    return totals, len(truth)


def _write_day(
    lake: Lake, world: World, rng: np.random.Generator, kind: str, day: dt.date, n: int,
    scenario: list[tuple[pa.Table, np.ndarray]],
) -> int:  # fmt: skip
    """Generate and write one type's day hour by hour (memory stays at one hour's rows),
    merging the scenario rows in time order, then the per-minute ingest summary."""
    extra = pa.concat_tables([t for t, _ in scenario])
    extra_us = np.concatenate([u for _, u in scenario])
    extra_hour = extra_us // US_PER_HOUR
    per_hour = rng.multinomial(n, _DIURNAL)
    minutes = np.zeros(1440, dtype=np.int64)
    written = 0
    for hour in range(24):
        us = hour * US_PER_HOUR + np.sort(rng.integers(0, US_PER_HOUR, per_hour[hour]))
        mine = np.flatnonzero(extra_hour == hour)
        parts = [_BULK[kind](world, rng, day, us)] if len(us) else []
        if len(mine):
            parts.append((extra.take(pa.array(mine)), extra_us[mine]))
        if not parts:
            continue
        table = pa.concat_tables([t for t, _ in parts])
        stamps = np.concatenate([u for _, u in parts])
        order = np.argsort(stamps, kind="stable")
        lake.append(kind, table.take(pa.array(order)), day, hour)
        minutes += np.bincount(stamps // 60_000_000, minlength=1440)
        written += table.num_rows
    busy = np.flatnonzero(minutes)
    if kind == "flow":  # Spot's flow OA writes it unpadded (reference 1.4)
        stamp = [f"{day.year}-{day.month}-{day.day} {m // 60}:{m % 60}" for m in busy]
    else:
        stamp = [f"{day.isoformat()} {m // 60:02d}:{m % 60:02d}" for m in busy]
    summary = pa.table({"tdate": stamp, "total": minutes[busy].astype(np.int64)})
    lake.replace_partition(f"{kind}_ingest_summary", summary, day)
    return written


# ---- the world: hosts, names, agents (fixed for a seed) -------------------------------------
def _zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def _weights(pairs: tuple) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([v for v, _ in pairs], dtype=object)
    p = np.array([w for _, w in pairs], dtype=float)
    return values, p / p.sum()


def _registered(name: str) -> str:
    labels = name.split(".")
    keep = 3 if labels[-2] in ("co", "com") and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


class World:
    """The demo organisation and the Internet it talks to; fixed for a seed."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        self.rng = rng
        ips: list[str] = []
        asn: list[int] = []
        router: list[str] = []

        def add(ip: str, as_number: int = 0, rip: str = "") -> int:
            ips.append(ip)
            asn.append(as_number)
            router.append(rip)
            return len(ips) - 1

        # internal hosts by role
        def hosts(cidr: str, first: int, count: int, rip: str) -> np.ndarray:
            net = ipaddress.ip_network(cidr)
            offsets = np.sort(rng.choice(np.arange(first, net.num_addresses - 1), count, False))
            return np.array([add(str(net[int(o)]), 0, rip) for o in offsets])

        for ip in W.ROUTERS:
            add(ip, 0, ip)
        self.resolvers = np.array([add(ip, 0, W.ROUTERS[0]) for ip in W.RESOLVERS])
        named = [ip for ip in W.NAMED_HOSTS if ip.startswith("10.0.1.") and ip not in W.RESOLVERS]
        servers = [add(ip, 0, W.ROUTERS[0]) for ip in named]
        servers += list(hosts("10.0.1.0/24", 60, 25, W.ROUTERS[0]))
        self.servers = np.array(servers)
        self.dmz = hosts("10.0.2.0/24", 10, 8, W.ROUTERS[2])
        hq = hosts("10.0.10.0/23", 20, 260, W.ROUTERS[0])
        branch = hosts("10.0.20.0/24", 20, 70, W.ROUTERS[1])
        vpn = hosts("10.0.30.0/24", 10, 40, W.ROUTERS[0])
        self.clients = np.concatenate([hq, branch, vpn])
        self.n_internal = len(ips)

        # public hosts: popular sites' servers first (the popular end), then the long tail
        self.prefix_asn = {p: a for _, p, a, _ in W.PUBLIC_PREFIXES}
        self.used: set[str] = set(ips)
        # Big sites answer from pools of addresses (CDNs, load balancers), as in real traffic:
        # no single public IP carries a large share of the day.
        site_ips = {}
        for name, _cat, prefix, _app in W.POPULAR_SITES:
            site_ips[name] = [add(self._fresh(prefix), self.prefix_asn[prefix]) for _ in range(16)]
        self.n_popular_ips = len(ips) - self.n_internal
        prefixes = [p for _, p, _, _ in W.PUBLIC_PREFIXES]
        for i in range(1800):
            prefix = prefixes[i % len(prefixes)]
            add(self._fresh(prefix), self.prefix_asn[prefix])
        self.public = np.arange(self.n_internal, len(ips))
        self.ips = pa.array(ips, pa.string())
        self.ip_list = ips
        self.asn = np.array(asn, dtype=np.int32)
        self.router = np.array(router, dtype=object)
        site_share = np.repeat(_zipf(len(W.POPULAR_SITES), 1.0) / 16, 16)
        tail_share = _zipf(len(self.public) - self.n_popular_ips, 0.8)
        self.public_p = np.concatenate([0.55 * site_share, 0.45 * tail_share])
        self.client_p = rng.lognormal(0, 0.7, len(self.clients))
        self.client_p /= self.client_p.sum()

        # names: popular sites, the benign long tail, internal names, PTR names
        names: list[str] = []
        answer: list[str] = []
        webcat: list[str] = []
        app: list[str] = []
        for name, cat, _prefix, bcapp in W.POPULAR_SITES:
            names.append(name)
            pool = rng.choice(site_ips[name], int(rng.integers(1, 3)), replace=False)
            answer.append("|".join(ips[int(i)] for i in pool))
            webcat.append(cat)
            app.append(bcapp)
        self.n_popular_names = len(names)
        tail_ips = self.public[self.n_popular_ips :]
        seen = set(names)
        while len(names) < self.n_popular_names + 900:
            a, b = rng.choice(W.TAIL_WORDS, 2, replace=False)
            tld = W.TAIL_TLDS[int(rng.integers(len(W.TAIL_TLDS)))]
            name = f"{'www.' if rng.random() < 0.6 else ''}{a}{b}.{tld}"
            if name in seen:
                continue
            seen.add(name)
            names.append(name)
            answer.append(ips[int(rng.choice(tail_ips))])
            webcat.append(W.TAIL_CATEGORIES[int(rng.integers(len(W.TAIL_CATEGORIES)))])
            app.append("-")
        self.n_web_names = len(names)
        for name in W.INTERNAL_NAMES:
            names.append(name)
            answer.append("" if name.startswith("_") else ips[int(rng.choice(self.servers))])
            webcat.append("Intranet")
            app.append("-")
        self.n_internal_names = len(W.INTERNAL_NAMES)
        for idx in rng.choice(self.public, 300, replace=False):
            names.append(".".join(reversed(ips[int(idx)].split("."))) + ".in-addr.arpa")
            answer.append("")
            webcat.append("-")
            app.append("-")
        self.names = np.array(names, dtype=object)
        self.name_len = np.array([len(n) for n in names], dtype=np.int32)
        self.answer = np.array(answer, dtype=object)
        self.webcat = np.array(webcat, dtype=object)
        self.app = np.array(app, dtype=object)
        self.referer = np.array([f"https://{n}/" for n in names], dtype=object)

        # per-client habits: main browser and user name
        first = [
            "anna",
            "ben",
            "carla",
            "dan",
            "eva",
            "finn",
            "gina",
            "hugo",
            "ines",
            "jack",
            "kara",
            "leo",
            "mia",
            "nils",
            "olga",
            "paul",
        ]
        last = [
            "smith",
            "jones",
            "garcia",
            "muller",
            "rossi",
            "novak",
            "kim",
            "silva",
            "brown",
            "lopez",
            "weber",
            "meyer",
        ]
        self.client_agent = rng.choice(6, len(self.clients), p=[0.45, 0.25, 0.12, 0.08, 0.06, 0.04])
        self.username = np.array(
            [f"{rng.choice(first)}.{rng.choice(last)}{int(rng.integers(1, 99))}"
             for _ in self.clients], dtype=object)  # fmt: skip

        # threat actors: fixed for the seed so they persist across days
        self.c2_ip = self._fresh(W.ACTOR_PREFIXES["c2"])
        self.exfil_ip = self._fresh(W.ACTOR_PREFIXES["exfil"])
        self.scanner_ip = self._fresh(W.ACTOR_PREFIXES["scanner"])
        self.phish_ip = self._fresh(W.ACTOR_PREFIXES["phishing"])
        self.dga_ip = self._fresh(W.ACTOR_PREFIXES["dga"])
        self.c2_name = "api.telemetry-cdn-sync.com"
        self.exfil_host = "upload.safe-backup-share.net"
        self.tunnel_domain = "cloudsync-metrics.net"
        self.phish_host = "sharepoint-docview.com"
        busiest = self.clients[np.argsort(-self.client_p, kind="stable")[:12]]
        # infected machines are busy workstations in daily use: the attack is a small share of
        # their traffic, which is what makes it stand out for a per-host model
        actors = rng.choice(busiest, 6, replace=False)
        self.c2_host, self.exfil_client, self.tunnel_client, self.dga_client = (
            self.ip_list[int(i)] for i in actors[:4])  # fmt: skip
        self.actor_clients = {self.ip_list[int(i)] for i in actors}

    def _fresh(self, prefix: str) -> str:
        net = ipaddress.ip_network(prefix)
        while True:
            ip = net[int(self.rng.integers(1, net.num_addresses - 1))]
            text = str(ip)
            if text not in self.used and text.split(".")[-1] not in ("0", "255"):
                self.used.add(text)
                return text

    def asn_of(self, ip: str) -> int:
        addr = ipaddress.ip_address(ip)
        for _, prefix, as_number, _ in W.PUBLIC_PREFIXES:
            if addr in ipaddress.ip_network(prefix):
                return as_number
        return 0

    def write_context(self, lake: Lake) -> None:
        """Spot's context files: network context, internal ranges, sites, a top-domains list."""
        folder = lake.root / "context"
        folder.mkdir(parents=True, exist_ok=True)
        rows = ["ip,name"] + [f"{ip},{name}" for ip, name in W.NAMED_HOSTS.items()]
        rows += [f"{where},{name}" for name, where, _site, _role in W.SUBNETS]
        (folder / "network_context.csv").write_text("\n".join(rows) + "\n")
        ranges, sites = [], ["subnet,name,site,lat,lon"]
        for name, where, site, _role in W.SUBNETS:
            lo, hi = _bounds(where)
            ranges.append(f"{lo},{hi},{name}")
            lat, lon = W.SITES[site]
            sites.append(f"{where},{name},{site},{lat},{lon}")
        (folder / "ipranges.csv").write_text("\n".join(ranges) + "\n")
        (folder / "sites.csv").write_text("\n".join(sites) + "\n")
        top = list(dict.fromkeys(_registered(n) for n, *_ in W.POPULAR_SITES))
        (folder / "top-1m.csv").write_text("".join(f"{i},{d}\n" for i, d in enumerate(top, 1)))


def _bounds(where: str) -> tuple[str, str]:
    if "-" in where:
        lo, hi = where.split("-")
        return lo, hi
    net = ipaddress.ip_network(where)
    return str(net.network_address), str(net.broadcast_address)


# ---- shared row assembly --------------------------------------------------------------------
def _hour_weights() -> np.ndarray:
    """Share of a day's records per hour: low at night, peak mid-afternoon."""
    hours = np.arange(24)
    w = 0.08 + np.exp(-(((hours - 14.0) / 4.5) ** 2))
    return w / w.sum()


_DIURNAL = _hour_weights()


def _column(value: Any, arrow_type: pa.DataType, n: int) -> pa.Array:
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return value.cast(arrow_type)
    if isinstance(value, np.ndarray):
        return pa.array(value, arrow_type)
    if isinstance(value, list):
        return pa.array(value, arrow_type)
    return pa.repeat(pa.scalar(value, arrow_type), n)


def _rows(kind: str, day: dt.date, us: np.ndarray, **cols: Any) -> tuple[pa.Table, np.ndarray]:
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
        prefix = f"{_MONTHS[day.month - 1]} {day.day:>2} {day.year} "
        time_of_day = pc.utf8_slice_codeunits(clock, 11)
        cols.update(
            frame_time=pc.binary_join_element_wise(prefix, time_of_day, "000 UTC", ""),
            unix_tstamp=epoch + seconds,
        )
    else:
        cols.update(p_date=day.isoformat(), p_time=pc.utf8_slice_codeunits(clock, 11))
        if "fulluri" not in cols:
            cols["fulluri"] = _fulluri(cols["host"], cols["uripath"], cols["uriquery"], n)
    schema = TABLES[kind].arrow_schema
    arrays = [_column(cols.pop(f.name), f.type, n) for f in schema]
    if cols:
        raise KeyError(f"unknown {kind} columns {sorted(cols)}")
    return pa.Table.from_arrays(arrays, schema=schema), us


def _fulluri(host: Any, path: Any, query: Any, n: int) -> pa.Array:
    """Spot's rule: host + path + query, path and query only when longer than one character."""
    host, path, query = (_column(v, pa.string(), n) for v in (host, path, query))
    path = pc.if_else(pc.greater(pc.utf8_length(path), 1), path, "")
    query = pc.if_else(pc.greater(pc.utf8_length(query), 1), query, "")
    return pc.binary_join_element_wise(host, path, query, "")


def _ephemeral(rng: np.random.Generator, n: int) -> np.ndarray:
    windows = rng.integers(49152, 65536, n)
    linux = rng.integers(32768, 61000, n)
    return np.where(rng.random(n) < 0.75, windows, linux)


# ---- bulk traffic ---------------------------------------------------------------------------
def _bulk_flows(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    kind = rng.choice(5, n, p=[0.60, 0.13, 0.15, 0.08, 0.04])  # out, reply, internal, in, icmp
    client = rng.choice(w.clients, n, p=w.client_p)
    public = rng.choice(w.public, n, p=w.public_p)
    eph = _ephemeral(rng, n)
    out = rng.choice(len(W.OUTBOUND_SERVICES), n, p=_weights_of(W.OUTBOUND_SERVICES))
    out_port = np.array([s[0] for s in W.OUTBOUND_SERVICES])[out]
    out_tcp = np.array([s[1] == "TCP" for s in W.OUTBOUND_SERVICES])[out]
    inn = rng.choice(len(W.INTERNAL_SERVICES), n, p=_weights_of(W.INTERNAL_SERVICES))
    in_port = np.array([s[0] for s in W.INTERNAL_SERVICES])[inn]
    in_tcp = np.array([s[1] == "TCP" for s in W.INTERNAL_SERVICES])[inn]
    server = np.where(in_port == 53, rng.choice(w.resolvers, n), rng.choice(w.servers, n))
    visitor = rng.choice(w.public, n)
    dmz = rng.choice(w.dmz, n)
    web = np.where(rng.random(n) < 0.8, 443, 80)
    icmp_codes, icmp_p = _weights(W.ICMP_CODES)
    icmp = rng.choice(icmp_codes.astype(np.int64), n, p=icmp_p)

    sip = np.select([kind == 1, kind == 3], [public, visitor], client)
    dip = np.select([kind == 1, kind == 2, kind == 3], [client, server, dmz], public)
    sport = np.select([kind == 1, kind == 4], [out_port, 0], eph)
    dport = np.select([kind == 0, kind == 1, kind == 2, kind == 3], [out_port, eph, in_port, web],
                      icmp)  # fmt: skip
    tcp = np.select([kind <= 1, kind == 2, kind == 3], [out_tcp, in_tcp, True], False)
    proto = np.where(kind == 4, "ICMP", np.where(tcp, "TCP", "UDP")).astype(object)

    flag_values, flag_p = _weights(W.TCP_FLAGS)
    flag = np.where(tcp, rng.choice(flag_values, n, p=flag_p), "......").astype(object)
    syn_only = (flag == "....S.") | (flag == ".A.R..")
    # habitual sizes per service (lognormal around its median) plus a heavy tail of bulk transfers
    out_size = np.array([s[3:5] for s in W.OUTBOUND_SERVICES], dtype=float)[out]
    in_size = np.array([s[3:5] for s in W.INTERNAL_SERVICES], dtype=float)[inn]
    size = np.select([kind[:, None] <= 1, kind[:, None] == 2], [out_size, in_size], [10.0, 500.0])
    bulk = np.where(rng.random(n) < 0.02, rng.lognormal(3.0, 1.5, n), 1.0)
    ipkt = np.clip(np.ceil(size[:, 0] * rng.lognormal(0, 0.6, n) * bulk), 1, 100_000)
    ipkt = np.where(syn_only | (kind == 4), rng.integers(1, 3, n), ipkt).astype(np.int64)
    ipkt = np.where(size[:, 0] == 1, 1, ipkt)  # DNS and NTP: one datagram
    per_packet = np.clip(
        size[:, 1] * rng.lognormal(0, 0.25, n) * np.where(kind == 1, 1.5, 1), 40, 1500
    )
    per_packet = np.where(syn_only, rng.choice([40, 44, 52, 60], n), per_packet)
    per_packet = np.where(kind == 4, rng.integers(64, 85, n), per_packet)
    ibyt = (ipkt * per_packet).astype(np.int64)
    both = rng.random(n) < 0.3
    opkt = np.where(both, np.maximum(1, (ipkt * rng.uniform(0.4, 1.2, n)).astype(np.int64)), 0)
    obyt = (opkt * np.clip(rng.lognormal(6.0, 0.8, n), 40, 1500)).astype(np.int64)
    tdur = np.where(ipkt == 1, 0.0, np.clip(ipkt * rng.lognormal(-2.5, 0.8, n), 0.001, 120.0))
    tos = rng.choice([0, 8, 32, 46, 184], n, p=[0.9, 0.03, 0.03, 0.02, 0.02])
    internal_src = sip < w.n_internal
    rip = np.where(internal_src, w.router[sip], w.router[dip])
    return _rows(
        "flow", day, us,
        tdur=np.round(tdur, 3).astype(np.float32), sip=w.ips.take(pa.array(sip)),
        dip=w.ips.take(pa.array(dip)), sport=sport, dport=dport, proto=proto, flag=flag, fwd=0,
        stos=tos, ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt,
        input=rng.integers(1, 13, n), output=rng.integers(1, 13, n),
        sas=w.asn[sip], das=w.asn[dip], dtos=np.where(rng.random(n) < 0.95, 0, tos),
        dir=internal_src.astype(np.int32), rip=rip,
    )  # fmt: skip


def _weights_of(services: tuple) -> np.ndarray:
    p = np.array([s[2] for s in services], dtype=float)  # (port, proto, weight, ...)
    return p / p.sum()


def _bulk_dns(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    group = rng.choice(4, n, p=[0.58, 0.27, 0.10, 0.05])  # popular, tail, internal, PTR
    popular = rng.choice(w.n_popular_names, n, p=_zipf(w.n_popular_names, 1.0))
    tail = w.n_popular_names + rng.choice(
        w.n_web_names - w.n_popular_names, n, p=_zipf(w.n_web_names - w.n_popular_names, 0.7)
    )
    internal = w.n_web_names + rng.integers(0, w.n_internal_names, n)
    ptr = w.n_web_names + w.n_internal_names + rng.integers(0, 300, n)
    name = np.select([group == 0, group == 1, group == 2], [popular, tail, internal], ptr)
    client = rng.choice(w.clients, n, p=w.client_p)
    server = rng.random(n) < 0.1
    client = np.where(server, rng.choice(w.servers, n), client)
    # workstations ask for A/AAAA; mail relays and domain controllers also MX, TXT, ANY
    qtype = np.where(
        server,
        rng.choice([1, 28, 5, 15, 16, 255], n, p=[0.6, 0.2, 0.05, 0.08, 0.05, 0.02]),
        rng.choice([1, 28, 5, 16], n, p=[0.7, 0.28, 0.015, 0.005]),
    )
    srv = np.array([s.startswith("_") for s in w.names])[name]
    qtype = np.select([group == 3, srv], [12, 33], qtype)
    rcode = np.select(
        [group == 0, group == 1, group == 2],
        [rng.choice([0, 2], n, p=[0.995, 0.005]),
         rng.choice([0, 3, 2, 5], n, p=[0.955, 0.035, 0.008, 0.002]),
         rng.choice([0, 3], n, p=[0.97, 0.03])],
        rng.choice([0, 3], n, p=[0.75, 0.25]),
    )  # fmt: skip
    answer = np.where((qtype == 1) & (rcode == 0), w.answer[name], "").astype(object)
    n_answers = np.where(answer == "", 0, np.char.count(answer.astype(str), "|") + 1)
    extra = np.select([qtype == 28, qtype == 12, qtype == 16, rcode == 3],
                      [28, 40, rng.integers(60, 200, n), rng.integers(60, 95, n)], 0)  # fmt: skip
    frame_len = 60 + w.name_len[name] + 16 * n_answers + extra + rng.choice([0, 11], n)
    return _rows(
        "dns", day, us, frame_len=frame_len, ip_dst=w.ips.take(pa.array(client)),
        ip_src=w.ips.take(pa.array(rng.choice(w.resolvers, n))), dns_qry_name=w.names[name],
        dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode, dns_a=answer,
    )  # fmt: skip


def _bulk_proxy(w: World, rng: np.random.Generator, day: dt.date, us: np.ndarray):
    n = len(us)
    host = np.where(
        rng.random(n) < 0.7,
        rng.choice(w.n_popular_names, n, p=_zipf(w.n_popular_names, 1.0)),
        w.n_popular_names + rng.integers(0, w.n_web_names - w.n_popular_names, n),
    )
    # each site has its usual pages: a host's requests go to a few paths of its own
    usual = rng.choice(4, n, p=[0.55, 0.25, 0.12, 0.08])
    path_i = (host * 7 + usual * 5) % len(W.PATHS)
    paths = np.array([p for p, _, _ in W.PATHS], dtype=object)
    ext = np.array([e for _, e, _ in W.PATHS], dtype=object)[path_i]
    ctype = np.array([c for _, _, c in W.PATHS], dtype=object)[path_i]
    query = np.where(rng.random(n) < 0.15, np.array(W.QUERIES, dtype=object)[host % 8], "-")
    methods, method_p = _weights(W.METHODS)
    method = rng.choice(methods, n, p=method_p)
    codes, code_p = _weights(W.RESPCODES)
    code = rng.choice(codes, n, p=code_p)
    connect = method == "CONNECT"
    path = np.where(connect, "/", paths[path_i]).astype(object)
    query = np.where(connect, "-", query).astype(object)
    ext = np.where(connect, "-", ext).astype(object)
    empty = np.isin(code, ["204", "304"]) | connect
    ctype = np.where(empty, "-", np.where(np.isin(code, ["200"]), ctype, "text/html")).astype(
        object
    )
    port = np.where(connect, "443", rng.choice(["443", "80", "8080"], n, p=[0.8, 0.18, 0.02]))
    scheme = np.where(connect, "tcp", np.where(port == "443", "https", "http")).astype(object)
    ci = rng.choice(len(w.clients), n, p=w.client_p)
    agents = np.array(W.COMMON_AGENTS, dtype=object)
    agent = np.select(
        [rng.random(n) < 0.95, rng.random(n) < 0.9],
        [agents[w.client_agent[ci]], rng.choice(agents, n)],
        rng.choice(np.array(W.RARE_AGENTS, dtype=object), n),
    )
    denied = np.isin(code, ["403", "407"])
    scbytes = np.where(empty, rng.integers(150, 450, n), rng.lognormal(8.5, 1.6, n).clip(200, 2e8))
    post = np.isin(method, ["POST", "PUT"])
    csbytes = np.where(post, rng.lognormal(7.5, 1.3, n).clip(300, 5e6), rng.integers(250, 1400, n))
    referer = np.where(
        rng.random(n) < 0.45, "-",
        np.where(rng.random(n) < 0.6, w.referer[host], "https://www.google.com/"),
    ).astype(object)  # fmt: skip
    return _rows(
        "proxy", day, us,
        clientip=w.ips.take(pa.array(w.clients[ci])), host=w.names[host], reqmethod=method,
        useragent=agent, resconttype=ctype,
        duration=rng.lognormal(4.5, 1.3, n).clip(1, 120_000).astype(np.int32),
        username=np.where(code == "407", "-", w.username[ci]).astype(object), authgroup="-",
        exceptionid=np.select([code == "403", code == "407"],
                              ["policy_denied", "authentication_required"], "-").astype(object),
        filterresult=np.where(denied, "DENIED",
                              rng.choice(["OBSERVED", "PROXIED"], n, p=[0.9, 0.1])).astype(object),
        webcat=w.webcat[host], referer=referer, respcode=code,
        action=np.select([denied, code == "500"], ["DENIED", "SERVER_ERROR"],
                         "ALLOWED").astype(object),
        urischeme=scheme, uriport=port, uripath=path, uriquery=query, uriextension=ext,
        serverip=rng.choice(np.array(W.PROXIES, dtype=object), n),
        scbytes=scbytes.astype(np.int32), csbytes=csbytes.astype(np.int32), virusid="-",
        bcappname=w.app[host], bcappoper="-",
    )  # fmt: skip


_BULK = {"flow": _bulk_flows, "dns": _bulk_dns, "proxy": _bulk_proxy}
# nmap's most frequently open TCP ports (nmap-services), what a slow scan probes first
TOP_PORTS = (21, 22, 23, 25, 53, 80, 88, 110, 111, 135, 139, 143, 389, 443, 445, 465, 587, 636,
             993, 995, 1025, 1433, 1521, 1723, 2049, 3306, 3389, 5432, 5900, 5985, 6379, 8000,
             8080, 8443, 8888, 9200, 27017)  # fmt: skip


# ---- injected scenarios ---------------------------------------------------------------------
def _stamp(day: dt.date, us: int) -> str:
    moment = dt.datetime(day.year, day.month, day.day) + dt.timedelta(microseconds=int(us))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _truth(name, data_type, day, description, us, *, ips=(), query_names=(), uris=(),
           hosts=(), patient_zero=None) -> dict:  # fmt: skip
    return {
        "name": name,
        "data_type": data_type,
        "date": day.isoformat(),
        "description": description,
        "anchors": {"ips": list(ips), "query_names": list(query_names), "uris": list(uris)},
        "internal_hosts": list(hosts),
        "patient_zero": patient_zero,
        "window": {"start": _stamp(day, us.min()), "end": _stamp(day, us.max())},
    }


def _flow(day, us, sip, dip, sport, dport, ipkt, ibyt, *, flag=".AP.SF", opkt=0, obyt=0,
          tdur=None, sas=0, das=0, rip=W.ROUTERS[0], proto="TCP", internal_src=True):  # fmt: skip
    n = len(us)
    tdur = np.zeros(n, np.float32) if tdur is None else np.round(tdur, 3).astype(np.float32)
    return _rows(
        "flow", day, us, tdur=tdur, sip=sip, dip=dip, sport=sport, dport=dport, proto=proto,
        flag=flag, fwd=0, stos=0, ipkt=ipkt, ibyt=ibyt, opkt=opkt, obyt=obyt, input=1, output=2,
        sas=sas, das=das, dtos=0, dir=int(internal_src), rip=rip,
    )  # fmt: skip


def _dns(day, us, client, names, qtype, rcode, answer, frame_len, rng):
    n = len(us)
    return _rows(
        "dns", day, us, frame_len=frame_len, ip_dst=client,
        ip_src=rng.choice(np.array(W.RESOLVERS, dtype=object), n), dns_qry_name=names,
        dns_qry_class="0x00000001", dns_qry_type=qtype, dns_qry_rcode=rcode, dns_a=answer,
    )  # fmt: skip


def _proxy(day, us, client, host, method, path, query, *, agent, referer="-", code="200",
           ctype="text/html", ext="-", scbytes, csbytes, webcat="Uncategorized", user="-",
           rng):  # fmt: skip
    n = len(us)
    return _rows(
        "proxy", day, us, clientip=client, host=host, reqmethod=method, useragent=agent,
        resconttype=ctype, duration=rng.integers(80, 2500, n).astype(np.int32), username=user,
        authgroup="-", exceptionid="-", filterresult="OBSERVED", webcat=webcat, referer=referer,
        respcode=code, action="ALLOWED", urischeme="https", uriport="443", uripath=path,
        uriquery=query, uriextension=ext, serverip=rng.choice(np.array(W.PROXIES, dtype=object), n),
        scbytes=scbytes, csbytes=csbytes, virusid="-", bcappname="-", bcappoper="-",
    )  # fmt: skip


def _random_labels(
    rng: np.random.Generator, count: int, lo: int, hi: int, alphabet: str
) -> list[str]:
    letters = np.array(list(alphabet))
    lengths = rng.integers(lo, hi + 1, count)
    return ["".join(rng.choice(letters, int(k))) for k in lengths]


def _inject_scenarios(
    w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts
) -> list[dict]:
    truth: list[dict] = []
    user_of = dict(zip((w.ip_list[int(i)] for i in w.clients), w.username, strict=True))
    agent_of = dict(zip((w.ip_list[int(i)] for i in w.clients),
                        np.array(W.COMMON_AGENTS, dtype=object)[w.client_agent], strict=True))  # fmt: skip

    # C2 beaconing: every ~5 min all day (a common sleep setting), near-constant small sizes,
    # unusual port, plus tasking; the host keeps its normal traffic, so the beacon stays a
    # modest share of its events (the beacon detector finds the regularity)
    start = int(rng.integers(0, 300_000_000))
    gaps = 300_000_000 + rng.normal(0, 3_000_000, 300).astype(np.int64)
    us = start + np.cumsum(gaps) - gaps[0]
    us = us[us < US_PER_DAY]
    n = len(us)
    c2_asn = w.asn_of(w.c2_ip)
    beacons = _flow(day, us, w.c2_host, w.c2_ip, _ephemeral(rng, n), 995,
                    rng.integers(4, 7, n), rng.integers(310, 361, n), opkt=rng.integers(3, 6, n),
                    obyt=rng.integers(220, 261, n), tdur=rng.uniform(0.2, 0.5, n), das=c2_asn)  # fmt: skip
    task_us = np.sort(rng.choice(us, 6, replace=False)) + 2_000_000
    task_bytes = rng.integers(1_000_000, 8_000_000, 6)
    tasks = _flow(day, task_us, w.c2_host, w.c2_ip, _ephemeral(rng, 6), 995, task_bytes // 1400,
                  task_bytes, opkt=task_bytes // 2800, obyt=(task_bytes // 2800) * 52,
                  tdur=rng.uniform(20, 90, 6), das=c2_asn)  # fmt: skip
    parts["flow"] += [beacons, tasks]
    dns_us = np.arange(24) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    dns_us = dns_us[dns_us < US_PER_DAY]
    parts["dns"].append(_dns(day, dns_us, w.c2_host, w.c2_name, 1, 0, w.c2_ip,
                             rng.integers(100, 120, len(dns_us)), rng))  # fmt: skip
    truth.append(_truth(
        "c2_beaconing", "flow", day,
        f"{w.c2_host} beacons to {w.c2_ip}:995 every ~60 s all day with near-constant small "
        f"sizes (and resolves {w.c2_name}); a few larger tasking transfers",
        np.concatenate([us, task_us]), ips=[w.c2_ip], query_names=[w.c2_name], hosts=[w.c2_host]))  # fmt: skip

    # Data exfiltration: huge outbound volume at night to a rare host, and POSTs through the proxy
    k = int(rng.integers(4, 7))  # a handful, one per night hour: rare for a busy workstation
    us = np.sort(rng.choice(np.arange(0, 6), k, replace=False) * US_PER_HOUR
                 + rng.integers(0, US_PER_HOUR, k))  # fmt: skip
    volume = rng.integers(100_000_000, 800_000_000, k)
    packets = volume // rng.integers(1200, 1461, k)
    parts["flow"].append(_flow(day, us, w.exfil_client, w.exfil_ip, _ephemeral(rng, k), 443,
                               packets, volume, opkt=packets // 2, obyt=(packets // 2) * 52,
                               tdur=rng.uniform(30, 120, k), das=w.asn_of(w.exfil_ip)))  # fmt: skip
    truth.append(_truth(
        "data_exfiltration", "flow", day,
        f"{w.exfil_client} sends {volume.sum() / 1e9:.1f} GB in {k} transfers to {w.exfil_ip}:443 "
        "between 00:00 and 06:00", us, ips=[w.exfil_ip], hosts=[w.exfil_client]))  # fmt: skip
    k = int(np.clip(sizes["proxy"] // 1500, 8, 40))  # a few dozen at most, spread over the night
    us = np.sort(rng.integers(0, 6 * US_PER_HOUR, k))
    sid = "".join(rng.choice(list("0123456789abcdef"), 32))
    queries = [f"?sid={sid}&part={i}" for i in range(k)]
    posts = _proxy(day, us, w.exfil_client, w.exfil_host, "POST", "/api/v2/upload", queries,
                   agent="curl/8.4.0", ctype="application/json",
                   scbytes=rng.integers(300, 600, k), csbytes=rng.integers(2_000_000, 20_000_000, k),
                   user=user_of[w.exfil_client], rng=rng)  # fmt: skip
    parts["proxy"].append(posts)
    parts["dns"].append(_dns(day, us[:3] - 1_000_000, w.exfil_client, w.exfil_host, 1, 0,
                             w.exfil_ip, np.array([104, 104, 104]), rng))  # fmt: skip
    truth.append(_truth(
        "data_exfiltration_http", "proxy", day,
        f"{w.exfil_client} POSTs {k} large uploads to the uncategorised host {w.exfil_host} "
        "at night with a command-line agent", us, ips=[w.exfil_ip], query_names=[w.exfil_host],
        uris=posts[0].column("fulluri").to_pylist(), hosts=[w.exfil_client]))  # fmt: skip

    # Inbound port scan: SYN-only single-packet flows to a few dozen ports of DMZ hosts that
    # serve normal web traffic all day (the probes are a small share of each target's flows)
    targets = [w.ip_list[int(i)] for i in rng.choice(w.dmz, 4, replace=False)]
    # a "top ports" scan (the services worth attacking, as nmap's --top-ports picks them)
    # looking for exposed Windows/directory services first (SMB, RDP, LDAP, Kerberos, RPC,
    # MSSQL, SSH, SMTP), then a sample of the other usual suspects
    first = np.array([22, 25, 88, 135, 389, 445, 1433, 3389])
    rest = np.setdiff1d(np.array(TOP_PORTS), first)
    n_more = int(np.clip(sizes["flow"] // 1000, 12, len(rest)))
    ports = np.sort(np.r_[first, rng.choice(rest, n_more, replace=False)])
    dst = np.repeat(np.array(targets, dtype=object), len(ports))
    dports = np.tile(ports, len(targets))
    k = len(dports)
    # low and slow: one target per hour, all its ports within 15 minutes
    begin = int(rng.integers(0, 24 - len(targets))) * US_PER_HOUR
    offset = np.repeat(np.arange(len(targets)) * US_PER_HOUR, len(ports))
    us = begin + offset + rng.integers(0, 15 * 60_000_000, k)
    parts["flow"].append(_flow(day, us, w.scanner_ip, dst, int(rng.integers(40000, 65000)),
                               dports, 1, rng.choice([40, 44], k), flag="....S.",
                               sas=w.asn_of(w.scanner_ip), rip=W.ROUTERS[2],
                               internal_src=False))  # fmt: skip
    truth.append(_truth(
        "port_scan", "flow", day,
        f"{w.scanner_ip} probes {len(ports)} ports on {', '.join(targets)} with SYN-only "
        "one-packet flows", us, ips=[w.scanner_ip], hosts=targets))  # fmt: skip

    # DNS tunnelling: long high-entropy labels under one rare domain, TXT queries; a few dozen
    # to ~100 from a busy workstation that keeps resolving its usual names
    k = int(np.clip(sizes["dns"] // 100, 40, 120))
    payload = _random_labels(rng, k, 30, 60, "abcdefghijklmnopqrstuvwxyz234567")
    cut = rng.integers(12, 26, k)  # dnscat-style: about half split the payload in two labels
    split = rng.random(k) < 0.5
    names = [f"{x[:c]}.{x[c:]}.{w.tunnel_domain}" if two else f"{x}.{w.tunnel_domain}"
             for x, c, two in zip(payload, cut, split, strict=True)]  # fmt: skip
    us = np.sort(rng.integers(6 * US_PER_HOUR, US_PER_DAY, k))  # the session lasts all day
    frame_len = np.array([len(x) for x in names]) + rng.integers(100, 900, k)  # TXT payloads
    parts["dns"].append(_dns(day, us, w.tunnel_client, names, 16, 0, "", frame_len, rng))
    truth.append(_truth(
        "dns_tunnelling", "dns", day,
        f"{w.tunnel_client} sends {k} TXT queries with 30-60 character random subdomains under "
        f"{w.tunnel_domain}", us, ips=[w.tunnel_client], query_names=names,
        hosts=[w.tunnel_client]))  # fmt: skip

    # DGA / NXDOMAIN: the malware tries a small batch of random names every ~40 minutes until
    # one resolves; a few dozen lookups from a busy workstation, nearly all NXDOMAIN
    batches = int(np.clip(sizes["dns"] // 1500, 12, 30))
    per_batch = rng.integers(1, 4, batches)
    k = int(per_batch.sum())
    soa = {"com": 61, "net": 61, "org": 48, "info": 44, "biz": 40, "ru": 27}  # TLD's SOA record
    tlds = rng.choice(list(soa), k)
    names = [f"{label}.{tld}" for label, tld in
             zip(_random_labels(rng, k, 10, 18, "abcdefghijklmnopqrstuvwxyz"), tlds, strict=True)]  # fmt: skip
    begin = int(rng.integers(6, 10)) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    tries = begin + np.cumsum(rng.integers(30, 50, batches)) * 60_000_000
    us = np.repeat(tries, per_batch) + rng.integers(0, 3_000_000, k)
    us = np.sort(np.minimum(us, US_PER_DAY - 1))
    rcode = np.full(k, 3)
    rcode[-1] = 0  # the one registered domain of the day answers
    answer = np.where(rcode == 0, w.dga_ip, "").astype(object)
    # response: headers and question (~60 bytes + name), the TLD's SOA or the A record
    frame_len = np.array([len(x) + 60 + (soa[t] if c == 3 else 16)
                          for x, t, c in zip(names, tlds, rcode, strict=True)])  # fmt: skip
    parts["dns"].append(_dns(day, us, w.dga_client, names, 1, rcode, answer, frame_len, rng))
    truth.append(_truth(
        "dga_nxdomain", "dns", day,
        f"{w.dga_client} looks up {k} random-looking names in {batches} small batches about "
        f"every 40 minutes, {k - 1} of them NXDOMAIN", us, ips=[w.dga_client], query_names=names, hosts=[w.dga_client]))  # fmt: skip

    # Phishing chain: webmail -> phishing page (several clients, in order) -> credential POST ->
    # payload download whose referer is the phishing page
    # busy users (they live in their mailbox) who open the mail at different times of the day
    busy = w.clients[np.argsort(-w.client_p, kind="stable")[:30]]
    victims = [w.ip_list[int(i)] for i in rng.choice(busy, 6, replace=False)
               if w.ip_list[int(i)] not in w.actor_clients][:4]  # fmt: skip
    t0 = int(rng.integers(8, 10)) * US_PER_HOUR + int(rng.integers(0, US_PER_HOUR))
    visit = t0 + np.cumsum(np.r_[0, rng.integers(70, 150, len(victims) - 1)]) * 60_000_000
    token = _random_labels(rng, 1, 32, 32, string.ascii_letters + string.digits + "-_")[0]
    path, query = "/auth/login.php", f"?doc=INV-88213&src=mail&token={token}"
    phish_uri = w.phish_host + path + query
    post_uri = w.phish_host + "/auth/verify.php"
    payload_uri = w.phish_host + "/files/INV-88213.iso"
    mail = [f"https://outlook.office365.com/mail/inbox/id/AAQkAD{rng.integers(10**9, 10**10)}"
            for _ in victims]  # fmt: skip
    chain_us = []
    for i, (client, at) in enumerate(zip(victims, visit, strict=True)):
        agent, user = agent_of[client], user_of[client]
        steps = [  # (offset s, host, method, path, query, referer, ctype, ext, scbytes, csbytes)
            (-40, "outlook.office365.com", "GET", "/mail/inbox", "-", "-", "text/html", "-",
             48_000, 900),
            (0, w.phish_host, "GET", path, query, mail[i], "text/html", "php", 14_500, 700),
            (35, w.phish_host, "POST", "/auth/verify.php", "-", "https://" + phish_uri,
             "text/html", "php", 2_100, 1_300),
        ]  # fmt: skip
        if i % 2 == 0:
            steps.append((50, w.phish_host, "GET", "/files/INV-88213.iso", "-",
                          "https://" + phish_uri, "application/octet-stream", "iso",
                          2_400_000, 650))  # fmt: skip
        for off, host, method, p, q, ref, ctype, ext, sc, cs in steps:
            one = np.array([at + off * 1_000_000])
            parts["proxy"].append(_proxy(
                day, one, client, host, method, p, q, agent=agent, referer=ref, ctype=ctype,
                ext=ext, scbytes=sc, csbytes=cs, user=user, rng=rng,
                webcat="Email" if host.startswith("outlook") else "Uncategorized"))  # fmt: skip
            if host == w.phish_host:
                chain_us.append(one[0])
        parts["dns"].append(_dns(day, np.array([at - 1_000_000]), client, w.phish_host, 1, 0,
                                 w.phish_ip, np.array([98]), rng))  # fmt: skip
        parts["flow"].append(_flow(day, np.array([at]), client, w.phish_ip, _ephemeral(rng, 1),
                                   443, np.array([42]), np.array([21_000]),
                                   tdur=np.array([3.2]), das=w.asn_of(w.phish_ip)))  # fmt: skip
    truth.append(_truth(
        "phishing", "proxy", day,
        f"{len(victims)} users follow a webmail link to {phish_uri}, post credentials and "
        f"some download a payload; patient zero is {victims[0]}", np.array(chain_us),
        ips=[w.phish_ip], query_names=[w.phish_host], uris=[phish_uri, post_uri, payload_uri],
        hosts=victims, patient_zero=victims[0]))  # fmt: skip
    return truth
