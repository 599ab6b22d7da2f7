"""Network context: which of our networks an IP belongs to, vectorized (reference 4.1-4.3).

- `parse_ips(values)`: strings -> validity, IP version and integer keys (IPv4 parsed with
  Arrow kernels; only IPv6 text goes through the `ipaddress` module); `parse_distinct(values)`
  parses each distinct IP once and says how to map the answers back to the rows.
- `RangeTable`: "first matching entry wins" over IPs, CIDRs and ranges, answered with one
  `numpy.searchsorted` over pre-painted elementary intervals (IPv4 and IPv6 kept apart).
- `NetworkContext`: Spot's `networkcontext_1.csv` (header, then `ip|cidr|a-b,name`) and the
  DNS/proxy context file (header, then `ip,description`); optional `latitude,longitude`
  columns place a site on maps. `name_of(ips)`, `category_of(name)`.
- `InternalRanges`: Spot's `ipranges.csv` (`start,end[,name]`, no header) plus the
  private/reserved ranges, so `is_internal(ips)` answers Spot's `*_internal` flags.
"""

from __future__ import annotations

import csv
import functools
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.errors import InputError

IPValues = pd.Series | pa.Array | pa.ChunkedArray | Sequence[str | None]

# Non-global space (IANA special-purpose registries, as Python's ipaddress module knows it):
# private, shared (CGNAT), loopback, link-local, documentation, benchmarking, multicast, reserved.
SPECIAL_NETWORKS = tuple(
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    ]
)

CATEGORIES = ("VPN", "DMZ", "Proxy", "FW")


@dataclass
class ParsedIPs:
    """Distinct IP strings with their parse: `valid`, `v6`, and integer `key4` / `key6`."""

    text: np.ndarray  # object array of the stripped strings (None for nulls)
    valid: np.ndarray  # bool
    v6: np.ndarray  # bool (only meaningful where valid)
    key4: np.ndarray  # int64, 0 where not a valid IPv4
    key6: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))  # Python ints


def is_ip(text: str) -> bool:
    """True for one IPv4 or IPv6 address written in the usual notation."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def to_arrow_strings(values: IPValues) -> pa.Array:
    """Any column of IPs (Series, Arrow, list) as one Arrow string array; order kept."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        try:
            values = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            values = pa.array([None if v is None else str(v) for v in values], pa.string())
    if isinstance(values, pa.ChunkedArray):  # also what Arrow-backed pandas Series give
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_null(values.type):
        return pa.array([None] * len(values), pa.string())
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.large_string()).cast(pa.string())
    elif isinstance(values, pa.LargeStringArray):
        values = values.cast(pa.string())
    return values


def parse_ips(values: IPValues) -> ParsedIPs:
    """Parse IP strings; malformed or null entries are `valid=False`, never an exception."""
    arr = pc.utf8_trim_whitespace(to_arrow_strings(values))
    n = len(arr)
    text = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
    parts = pc.split_pattern(arr, ".")
    is4 = pc.fill_null(pc.equal(pc.list_value_length(parts), 4), False).to_numpy(
        zero_copy_only=False
    )
    key4 = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    if is4.any():
        octets = pc.list_flatten(parts.filter(pa.array(is4)))
        length = pc.utf8_length(octets)
        ok = pc.and_(
            pc.and_(pc.utf8_is_digit(octets), pc.less_equal(length, 3)),
            pc.or_(pc.equal(length, 1), pc.invert(pc.starts_with(octets, "0"))),
        )
        ok = pc.fill_null(ok, False)
        nums = pc.if_else(ok, octets, "0").cast(pa.int64()).to_numpy().reshape(-1, 4)
        good = ok.to_numpy(zero_copy_only=False).reshape(-1, 4).all(axis=1) & (nums <= 255).all(1)
        idx = np.flatnonzero(is4)
        key4[idx] = np.where(good, nums @ np.array([1 << 24, 1 << 16, 1 << 8, 1]), 0)
        valid[idx] = good
    v6 = np.zeros(n, dtype=bool)
    key6 = np.zeros(n, dtype=object)
    maybe6 = pc.fill_null(pc.match_substring(arr, ":"), False).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(maybe6 & ~valid):  # IPv6 is rare in flow data: parse one by one
        try:
            key6[i] = int(ipaddress.IPv6Address(text[i]))
        except ValueError:
            continue
        valid[i] = v6[i] = True
    return ParsedIPs(text, valid, v6, key4, key6)


def parse_distinct(values: IPValues) -> tuple[pa.Array, pa.Array, ParsedIPs]:
    """(the strings, each row's index into its distinct values, the distinct values parsed):
    answer per distinct IP on `parsed`, then `.take(indices)` back to the rows."""
    arr = to_arrow_strings(values)
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    return arr, enc.indices, parse_ips(enc.dictionary)


def _span(value: str) -> tuple[bool, int, int]:
    """An IP, CIDR or `a-b` range as (is_v6, first, last); ValueError when malformed."""
    value = value.strip()
    if "-" in value:
        lo, hi = (ipaddress.ip_address(v.strip()) for v in value.split("-", 1))
        if lo.version != hi.version or int(lo) > int(hi):
            raise ValueError(value)
        return lo.version == 6, int(lo), int(hi)
    if "/" in value:
        net = ipaddress.ip_network(value, strict=False)
        return net.version == 6, int(net.network_address), int(net.broadcast_address)
    ip = ipaddress.ip_address(value)
    return ip.version == 6, int(ip), int(ip)


class RangeTable:
    """Inclusive integer ranges, earlier entries winning on overlap; vectorized lookup."""

    def __init__(self, spans: Iterable[tuple[bool, int, int]]) -> None:
        spans = list(spans)
        self.size = len(spans)
        self._tables = {}
        for is6 in (False, True):
            mine = [(i, lo, hi) for i, (v6, lo, hi) in enumerate(spans) if v6 == is6]
            bounds = sorted({lo for _, lo, _ in mine} | {hi + 1 for _, _, hi in mine})
            dtype = object if is6 else np.int64
            bounds = np.array(bounds, dtype=dtype)
            winner = np.full(len(bounds), -1, dtype=np.int64)
            for i, lo, hi in reversed(mine):  # paint later entries first: earlier ones win
                a, b = np.searchsorted(bounds, [lo, hi + 1]) if len(bounds) else (0, 0)
                winner[a:b] = i
            self._tables[is6] = (bounds, winner)

    def _find(self, keys: np.ndarray, is6: bool) -> np.ndarray:
        bounds, winner = self._tables[is6]
        if not len(bounds) or not len(keys):
            return np.full(len(keys), -1, dtype=np.int64)
        seg = np.searchsorted(bounds, keys, side="right") - 1
        return np.where(seg >= 0, winner[np.maximum(seg, 0)], -1)

    def lookup(self, parsed: ParsedIPs) -> np.ndarray:
        """Index of the first matching entry per IP, -1 for none (and for invalid IPs)."""
        out = np.full(len(parsed.valid), -1, dtype=np.int64)
        is4 = parsed.valid & ~parsed.v6
        out[is4] = self._find(parsed.key4[is4], False)
        is6 = parsed.valid & parsed.v6
        if is6.any():
            out[is6] = self._find(parsed.key6[is6], True)
        return out


@dataclass(frozen=True)
class ContextEntry:
    network: str
    name: str
    latitude: float | None = None
    longitude: float | None = None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


class NetworkContext:
    """Named networks (first match wins); empty when no file exists, like Spot."""

    def __init__(self, entries: Sequence[ContextEntry] = (), source: str = "") -> None:
        self.entries = list(entries)
        self.source = source
        self.spans: list[tuple[bool, int, int]] = []  # (is_v6, first, last) per entry
        for e in self.entries:
            try:
                self.spans.append(_span(e.network))
            except ValueError:
                raise InputError(
                    f"{source or 'network context'}: {e.network!r} is not an IP, CIDR or "
                    "a-b range: fix or remove that line"
                ) from None
        self.table = RangeTable(self.spans)

    @classmethod
    def from_csv(cls, path: str | Path) -> NetworkContext:
        """Read reference 4.3 / 4.2 files: a header row, then `network,name[,lat,lon]`."""
        path = Path(path).expanduser()
        if not path.is_file():
            return cls(source=str(path))
        rows = [r for r in _csv_rows(path) if r and any(c.strip() for c in r)]
        if not rows:
            return cls(source=str(path))
        header = [c.strip().lower() for c in rows[0]]
        has_header = True
        try:
            _span(rows[0][0])
            has_header = False  # a file without the header row: keep its first line
        except ValueError:
            pass
        lat = next((i for i, h in enumerate(header) if h in ("lat", "latitude")), None)
        lon = next((i for i, h in enumerate(header) if h in ("lon", "lng", "longitude")), None)
        entries = []
        for row in rows[1:] if has_header else rows:
            cell = lambda i, r=row: r[i].strip() if i is not None and i < len(r) else None  # noqa: E731
            entries.append(
                ContextEntry(cell(0) or "", cell(1) or "", _float(cell(lat)), _float(cell(lon)))
            )
        return cls(entries, str(path))

    def __len__(self) -> int:
        return len(self.entries)

    def index_of(self, parsed: ParsedIPs) -> np.ndarray:
        return self.table.lookup(parsed)

    def name_of(self, ips: IPValues, default: str | None = "") -> pd.Series:
        """The context name of each IP (`default` where none matches); order kept."""
        _, rows, parsed = parse_distinct(ips)
        names = np.array([e.name for e in self.entries] + [default], dtype=object)
        distinct = pa.array(names[self.index_of(parsed)], pa.string())
        return pd.Series(distinct.take(rows).to_pandas(), name="network_context")

    def site_of(self, parsed: ParsedIPs) -> tuple[np.ndarray, np.ndarray]:
        """Latitude/longitude given by the matching entry (NaN where none)."""
        idx = self.index_of(parsed)
        lat = np.array([e.latitude for e in self.entries] + [None], dtype=float)
        lon = np.array([e.longitude for e in self.entries] + [None], dtype=float)
        return lat[idx], lon[idx]

    def to_arrow(self) -> pa.Table:
        """One row per entry with its integer range, for SQL (`network_context` relation)."""
        spans = self.spans
        return pa.table(
            {
                "position": pa.array(range(1, len(spans) + 1), pa.int32()),
                "network": [e.network for e in self.entries],
                "name": [e.name for e in self.entries],
                "category": [category_of(e.name) for e in self.entries],
                "ip_version": pa.array([6 if s[0] else 4 for s in spans], pa.int8()),
                "range_start": pa.array([str(s[1]) for s in spans], pa.string()),
                "range_end": pa.array([str(s[2]) for s in spans], pa.string()),
                "latitude": pa.array([e.latitude for e in self.entries], pa.float64()),
                "longitude": pa.array([e.longitude for e in self.entries], pa.float64()),
            }
        )


def category_of(name: str | None) -> str:
    """Spot's impact-analysis category: VPN, DMZ, Proxy or FW from the part before the first
    dot of a context name (exact, case-sensitive words as in Spot); anything else is DMZ."""
    head = (name or "").split(".", 1)[0]
    return next((c for c in CATEGORIES if c in head), "DMZ")


class InternalRanges:
    """Spot's ipranges.csv plus the non-global special ranges: `is_internal(parsed)`."""

    def __init__(self, spans: Sequence[tuple[bool, int, int]] = (), source: str = "") -> None:
        self.source = source
        self.configured = RangeTable(spans)
        self.special = RangeTable(_span(n) for n in SPECIAL_NETWORKS)

    @classmethod
    def from_csv(cls, path: str | Path) -> InternalRanges:
        path = Path(path).expanduser()
        if not path.is_file():
            return cls(source=str(path))
        spans = []
        for line_no, row in enumerate(_csv_rows(path), 1):
            if not row or not any(c.strip() for c in row):
                continue
            try:
                spans.append(_span(f"{row[0]}-{row[1]}"))
            except (ValueError, IndexError):
                raise InputError(
                    f"{path}:{line_no}: expected `start_ip,end_ip[,name]`, got "
                    f"{','.join(row)[:80]!r}: fix or remove that line"
                ) from None
        return cls(spans, str(path))

    def special_mask(self, parsed: ParsedIPs) -> np.ndarray:
        return self.special.lookup(parsed) >= 0

    def configured_mask(self, parsed: ParsedIPs) -> np.ndarray:
        return self.configured.lookup(parsed) >= 0

    def is_internal(self, parsed: ParsedIPs) -> np.ndarray:
        return self.special_mask(parsed) | self.configured_mask(parsed)


def _csv_rows(path: Path) -> list[list[str]]:
    """A context file's rows, or an InputError naming it when it is not UTF-8 CSV text (a
    binary file ended in a UnicodeDecodeError traceback)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (byte {exc.start}): replace it with the CSV it should be"
        ) from None
    except (OSError, csv.Error) as exc:
        raise InputError(f"{path} cannot be read ({exc}): fix or replace it") from None


def file_stamp(path: str | Path) -> float:
    """The file's modification time (ns), -1 when it does not exist: a cache key part."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


@functools.lru_cache(maxsize=8)
def _context_cached(path: str, stamp: float) -> NetworkContext:
    return NetworkContext.from_csv(path)


@functools.lru_cache(maxsize=8)
def _internal_cached(path: str, stamp: float) -> InternalRanges:
    return InternalRanges.from_csv(path)


def load_context(path: str | Path) -> NetworkContext:
    """`NetworkContext.from_csv`, re-read only when the file changes."""
    return _context_cached(str(path), file_stamp(path))


def load_internal(path: str | Path) -> InternalRanges:
    """`InternalRanges.from_csv`, re-read only when the file changes."""
    return _internal_cached(str(path), file_stamp(path))


def context_path(settings, lake_root: str | Path) -> Path:
    """SpotLab.network_context, else `<lake>/context/network_context.csv`."""
    value = settings.network_context
    return (
        Path(value).expanduser() if value else Path(lake_root) / "context" / "network_context.csv"
    )


def internal_path(settings, lake_root: str | Path) -> Path:
    """SpotLab.internal_ranges, else `<lake>/context/ipranges.csv`."""
    value = settings.internal_ranges
    return Path(value).expanduser() if value else Path(lake_root) / "context" / "ipranges.csv"
