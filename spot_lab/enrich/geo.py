"""Vectorized IP geolocation: a column of IPs in, flat columns out, row count and order kept.

Sources: any MaxMind-format City database (GeoLite2/GeoIP2 City, DB-IP City Lite, IPinfo
files in MaxMind format) read through maxminddb's C extension, or Spot's `iploc.csv`
(reference 4.4). Each distinct IP is parsed and looked up once; results are mapped back to
the rows with an Arrow `take`, so repeated IPs never multiply rows (msticpy's merge does).

Internal addresses (private/reserved space, and Spot's configured internal ranges) are not
looked up: they are flagged `internal` and placed at their site (sites.csv, the network
context's lat/lon columns, or SpotLab.site_location).
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.enrich.netcontext import (
    InternalRanges,
    IPValues,
    NetworkContext,
    ParsedIPs,
    context_path,
    file_stamp,
    internal_path,
    load_context,
    load_internal,
    parse_distinct,
)
from spot_lab.errors import InputError

log = logging.getLogger(__name__)

DBIP_ATTRIBUTION = "IP Geolocation by DB-IP"
DBIP_PACKAGE = "spot_lab_dbip_city"  # spot-lab-dbip-city (geo-data/), from spot-lab[geo]
STRING_FIELDS = ("country_code", "country", "region", "city", "owner", "domain")
COLUMNS = (  # of `locate`'s result, in order
    *("ip", "valid", "internal", "country_code", "country", "region", "city"),
    *("latitude", "longitude", "owner", "asn", "domain"),
)
HOW_TO_CONFIGURE = (
    "set SpotLab.geoip_db (env SPOT_LAB_GEOIP_DB) to a MaxMind-format City .mmdb "
    "(GeoLite2-City, DB-IP City Lite...) or to Spot's iploc.csv, or "
    "`pip install 'spot-lab[geo]'` for DB-IP City Lite (package spot-lab-dbip-city)"
)


def _name(node: Any) -> str | None:
    """A MaxMind `names` record's English name, or a flat string (IPinfo-style files)."""
    if isinstance(node, dict):
        names = node.get("names")
        return names.get("en") if isinstance(names, dict) else node.get("name")
    return node if isinstance(node, str) else None


_NONE8 = (None,) * 8
_EMPTY: dict = {}


def _flat(rec: dict | None) -> tuple:
    """(country_code, country, region, city, lat, lon, owner, asn) from one mmdb record.

    The MaxMind City layout (GeoLite2, GeoIP2, DB-IP) takes the fast path: this runs once
    per distinct IP, so it costs as much as the lookup itself if written generically."""
    if not rec:
        return _NONE8
    country = rec.get("country")
    city = rec.get("city")
    if country.__class__ is dict and (city is None or city.__class__ is dict):
        subs = rec.get("subdivisions")
        loc = rec.get("location") or _EMPTY
        owner = asn = None
        if "traits" in rec or "autonomous_system_number" in rec:
            owner, asn = _flat_generic(rec)[6:]
        return (
            country.get("iso_code"),
            (country.get("names") or _EMPTY).get("en"),
            (subs[0].get("names") or _EMPTY).get("en") if subs else None,
            (city.get("names") or _EMPTY).get("en") if city else None,
            loc.get("latitude"),
            loc.get("longitude"),
            owner,
            asn,
        )
    return _flat_generic(rec)


def _flat_generic(rec: dict) -> tuple:
    """`_flat` for any layout: MaxMind (with ASN traits), IPinfo's flat fields..."""
    country = rec.get("country") or rec.get("registered_country")
    if isinstance(country, dict):
        code, cname = country.get("iso_code"), _name(country)
    else:  # IPinfo: country (code) / country_name, or country_code
        code = rec.get("country_code") or (country if isinstance(country, str) else None)
        cname = rec.get("country_name")
    subs = rec.get("subdivisions")
    region = _name(subs[0]) if isinstance(subs, list) and subs else rec.get("region")
    loc = rec.get("location")
    if isinstance(loc, dict):
        lat, lon = loc.get("latitude"), loc.get("longitude")
    else:
        lat, lon = rec.get("latitude"), rec.get("longitude")
    traits = rec.get("traits") or {}
    owner = (
        traits.get("autonomous_system_organization")
        or traits.get("isp")
        or traits.get("organization")
        or rec.get("autonomous_system_organization")
        or rec.get("as_name")
        or rec.get("org")
    )
    asn = traits.get("autonomous_system_number") or rec.get("autonomous_system_number")
    asn = asn or rec.get("asn")
    if isinstance(asn, str):
        asn = int(asn[2:]) if asn[:2].upper() == "AS" and asn[2:].isdigit() else None
    return code, cname, region, _name(rec.get("city")), _coord(lat), _coord(lon), owner, asn


def _coord(value: Any) -> float | None:
    """A latitude/longitude as float (IPinfo files store them as strings)."""
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _safe_get(get, key: str) -> dict | None:
    try:
        return get(key)
    except ValueError:
        return None


class GeoLocator:
    """Open a geolocation source once and geolocate whole columns with `locate(ips)`."""

    kind = "mmdb"

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        internal: InternalRanges | None = None,
        context: NetworkContext | None = None,
        sites: NetworkContext | None = None,
        site: tuple[float, float] | None = None,
        attribution: str = "",
    ) -> None:
        self.path = Path(path).expanduser()
        self.internal = internal or InternalRanges()
        self.context = context or NetworkContext()
        self.sites = sites or NetworkContext()
        self.site = site
        self.attribution = attribution
        self._open()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"

    @property
    def home(self) -> tuple[float, float] | None:
        """Where "our side" is drawn: SpotLab.site_location, else the first site with
        coordinates in sites.csv or the network context; None when nothing says."""
        if self.site is not None:
            return self.site
        for ctx in (self.sites, self.context):
            for entry in ctx.entries:
                if entry.latitude is not None and entry.longitude is not None:
                    return entry.latitude, entry.longitude
        return None

    def _open(self) -> None:
        import maxminddb

        if not self.path.is_file():
            raise InputError(f"no geolocation database at {self.path}: {HOW_TO_CONFIGURE}")
        try:
            self.reader = maxminddb.open_database(str(self.path), maxminddb.MODE_MMAP_EXT)
            self.fast = True
        except ValueError as exc:
            if "extension" not in str(exc).lower():
                raise self._corrupt(exc) from None
            message = (
                "maxminddb's C extension is unavailable: geolocation falls back to the pure-"
                "Python reader, 10-20x slower. Reinstall maxminddb from a binary wheel."
            )
            warnings.warn(message, RuntimeWarning, stacklevel=3)
            log.warning(message)
            self.fast = False
            try:
                self.reader = maxminddb.open_database(str(self.path), maxminddb.MODE_MMAP)
            except Exception as exc2:  # noqa: BLE001 - any reader failure means corrupt
                raise self._corrupt(exc2) from None
        except Exception as exc:  # noqa: BLE001 - InvalidDatabaseError, OSError...
            raise self._corrupt(exc) from None
        self.database_type = str(self.reader.metadata().database_type)
        kind = self.database_type.lower()
        if "city" not in kind and "location" not in kind:
            self.reader.close()
            raise InputError(
                f"{self.path} is a {self.database_type!r} database, not a City database: "
                "give a City mmdb (GeoLite2-City, GeoIP2-City, DB-IP City Lite)"
            )

    def _corrupt(self, exc: BaseException) -> InputError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return InputError(
            f"cannot read {self.path} as a MaxMind database ({reason}): "
            f"check the file or {HOW_TO_CONFIGURE}"
        )

    def close(self) -> None:
        self.reader.close()

    # ---- lookups of distinct, valid, external IPs ------------------------------------------
    def _lookup(self, parsed: ParsedIPs, todo: np.ndarray) -> dict[str, list]:
        get = self.reader.get
        keys = parsed.text[todo].tolist()
        flat = _flat
        paused = gc.isenabled()
        gc.disable()  # only flat tuples of strings survive the loop: no cycles to collect
        try:
            rows = [flat(get(key)) for key in keys]
        except ValueError:  # e.g. IPv6 in an IPv4-only file: mark those rows as not found
            rows = [flat(_safe_get(get, key)) for key in keys]
        finally:
            if paused:
                gc.enable()
        cols = list(zip(*rows, strict=True)) if rows else [()] * 8
        names = (*STRING_FIELDS[:4], "latitude", "longitude", "owner", "asn")
        return dict(zip(names, cols, strict=True))

    # ---- the public, vectorized entry point -----------------------------------------------
    def locate(self, ips: IPValues) -> pd.DataFrame:
        """Geolocate a column of IPs: one row per input row, same order, flat columns.

        Columns: ip (as given), valid, internal, country_code, country, region, city,
        latitude, longitude, owner, asn, domain. Malformed or null IPs are `valid=False`.
        """
        arr, idx, parsed = parse_distinct(ips)
        n = len(parsed.valid)
        internal = parsed.valid & self.internal.is_internal(parsed)
        todo = parsed.valid & ~internal
        cols: dict[str, Any] = {f: np.full(n, None, dtype=object) for f in STRING_FIELDS}
        cols["latitude"] = np.full(n, np.nan)
        cols["longitude"] = np.full(n, np.nan)
        cols["asn"] = np.full(n, None, dtype=object)
        if todo.any():
            for name, values in self._lookup(parsed, todo).items():
                cols[name][todo] = values
        if internal.any():
            lat, lon = self.sites.site_of(parsed)  # sites.csv first, then the context file
            ctx_lat, ctx_lon = self.context.site_of(parsed)
            lat, lon = np.where(np.isnan(lat), ctx_lat, lat), np.where(np.isnan(lon), ctx_lon, lon)
            if self.site is not None:
                lat = np.where(np.isnan(lat), self.site[0], lat)
                lon = np.where(np.isnan(lon), self.site[1], lon)
            cols["latitude"][internal] = lat[internal]
            cols["longitude"][internal] = lon[internal]
        types = {"latitude": pa.float64(), "longitude": pa.float64(), "asn": pa.int64()}
        distinct = {"valid": pa.array(parsed.valid), "internal": pa.array(internal)}
        for name in COLUMNS[3:]:
            distinct[name] = pa.array(cols[name], types.get(name, pa.string()), from_pandas=True)
        rows = {  # all-null columns (no owner in DB-IP, no domain in mmdb) need no take
            k: pa.nulls(len(idx), v.type) if v.null_count == len(v) else v.take(idx)
            for k, v in distinct.items()
        }
        table = pa.table({"ip": arr, **rows})
        frame = table.to_pandas()
        frame["asn"] = frame["asn"].astype("Int64")
        if isinstance(ips, pd.Series):
            frame.index = ips.index
        return frame


class IplocLocator(GeoLocator):
    """Spot's `context/iploc.csv` (reference 4.4), matched with the range end checked."""

    kind = "iploc"

    def _open(self) -> None:
        import pyarrow.csv as pacsv

        if not self.path.is_file():
            raise InputError(f"no iploc file at {self.path}: {HOW_TO_CONFIGURE}")
        names = ["start", "end", "country_code", "country", "region", "city"]
        names += ["latitude", "longitude", "owner", "domain"]
        types = {n: pa.string() for n in names}
        types.update(start=pa.int64(), end=pa.int64(), latitude=pa.float64())
        types["longitude"] = pa.float64()
        try:
            table = pacsv.read_csv(
                self.path,
                read_options=pacsv.ReadOptions(column_names=names),
                convert_options=pacsv.ConvertOptions(column_types=types),
            )
        except (pa.ArrowInvalid, OSError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise InputError(
                f"{self.path} is not a Spot iploc.csv (10 quoted columns: start, end, country "
                f"code, country, region, city, lat, lon, owner, domain): {reason}"
            ) from None
        table = table.sort_by("start")
        self.starts = table["start"].to_numpy()
        self.ends = table["end"].to_numpy()
        self.table = table
        self.database_type = "Spot iploc.csv"
        self.fast = True

    def close(self) -> None:
        pass

    def _lookup(self, parsed: ParsedIPs, todo: np.ndarray) -> dict[str, list]:
        keys = np.where(parsed.v6[todo], -1, parsed.key4[todo])  # iploc is IPv4-only
        row = np.searchsorted(self.starts, keys, side="right") - 1
        hit = (row >= 0) & (keys >= 0)
        hit[hit] = keys[hit] <= self.ends[row[hit]]  # Spot forgot this check (reference 1.7)
        take = pa.array(np.where(hit, row, 0)).cast(pa.int64())
        mask = pa.array(~hit)
        out = {}
        for name in (*STRING_FIELDS, "latitude", "longitude"):
            col = self.table[name].take(take)
            col = pc.if_else(mask, pa.scalar(None, col.type), col)
            out[name] = col.to_numpy(zero_copy_only=False)
        out["asn"] = [None] * len(keys)
        return out


# ---- the default source -------------------------------------------------------------------
def dbip_path() -> Path | None:
    """DB-IP City Lite from the spot-lab-dbip-city package, without importing it."""
    spec = importlib.util.find_spec(DBIP_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for candidate in sorted(Path(folder, "db").glob("*.mmdb")):
            return candidate
    return None


def open_locator(path: str | os.PathLike, **options: Any) -> GeoLocator:
    """A GeoLocator for an mmdb, or an IplocLocator for Spot's iploc.csv."""
    cls = IplocLocator if str(path).lower().endswith(".csv") else GeoLocator
    return cls(path, **options)


def _parse_site(text: str) -> tuple[float, float] | None:
    if not text.strip():
        return None
    try:
        lat, lon = (float(v) for v in text.split(",")[:2])
    except ValueError:
        raise InputError(f"site_location {text!r} must be 'latitude,longitude'") from None
    return lat, lon


@functools.lru_cache(maxsize=4)
def _cached(
    path: str, internal: str, context: str, sites: str, site: str, stamp: tuple
) -> GeoLocator:
    options = {  # the files' parses shared with the SQL functions (cached by mtime)
        "internal": load_internal(internal),
        "context": load_context(context),
        "sites": load_context(sites),
        "site": _parse_site(site),
    }
    if path:
        return open_locator(path, **options)
    found = dbip_path()
    if found is not None:
        return GeoLocator(found, attribution=DBIP_ATTRIBUTION, **options)
    raise InputError(f"no geolocation database configured: {HOW_TO_CONFIGURE}")


def default_geolocator(settings=None, lake: str | os.PathLike | None = None) -> GeoLocator:
    """The session's geolocator (opened once, reused while its files are unchanged):
    SpotLab.geoip_db if set, else DB-IP City Lite from spot-lab-dbip-city. Internal
    ranges and network context come from the settings, by default from `lake`'s (or the
    configured lake's) context folder; internal hosts are placed at the site given by
    `<lake>/context/sites.csv`, the network context (`lat,lon` columns) or
    SpotLab.site_location, in that order."""
    if settings is None:
        from spot_lab.config import load_settings

        settings = load_settings()
    root = Path(lake if lake is not None else settings.lake).expanduser()
    internal = str(internal_path(settings, root))
    context = str(context_path(settings, root))
    sites = str(root / "context" / "sites.csv")  # written by the generator: subnet,...,lat,lon
    site = getattr(settings, "site_location", "")
    path = str(Path(settings.geoip_db).expanduser()) if settings.geoip_db else ""
    stamp = tuple(file_stamp(p) for p in (path, internal, context, sites))
    return _cached(path, internal, context, sites, site, stamp)


# ---- Spot's flow_scores enrichment columns ----------------------------------------------
def spot_geoloc(located: pd.DataFrame) -> pd.Series:
    """Spot's `*_geoloc` string `"<region>;<city> <owner>"` ("" when not located)."""
    region = located["region"].fillna("").astype(str)
    city = located["city"].fillna("").astype(str)
    owner = located["owner"].fillna("").astype(str)
    text = (region + ";" + city + " " + owner).str.strip()
    return text.where(located["region"].notna() | located["city"].notna(), "").rename("geoloc")


def spot_domain(located: pd.DataFrame) -> pd.Series:
    """Spot's `*_domain` value (iploc.csv column 9; "" where the source has none)."""
    return located["domain"].fillna("").astype(str).rename("domain")


def spot_columns(ips: IPValues, locator: GeoLocator | None = None) -> pd.DataFrame:
    """`internal` (0/1), `geoloc` and `domain` for Spot's flow_scores, one row per IP."""
    located = (locator or default_geolocator()).locate(ips)
    return pd.DataFrame(
        {
            "internal": located["internal"].astype("int32"),
            "geoloc": spot_geoloc(located),
            "domain": spot_domain(located),
        },
        index=located.index,
    )
