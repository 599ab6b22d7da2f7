"""Geolocation and network context inside SQL, so `%%spotquery` can join and filter on them.

Registered on every DuckDB engine, the functions when a query first uses one (vectorized
Arrow UDFs: DuckDB hands a whole batch of IPs to one Python call, which looks each distinct
IP up once):

- `spot_net_context(ip) -> VARCHAR`   network-context name, NULL when none matches
- `spot_net_category(ip) -> VARCHAR`  VPN / DMZ / Proxy / FW (reference 4.3), NULL when none
- `spot_internal(ip) -> BOOLEAN`       private/reserved or in the internal ranges (ipranges.csv)
- `spot_geo(ip) -> STRUCT(country_code, country, region, city, latitude, longitude, owner, asn)`
- `spot_geo_country(ip)`, `spot_geo_city(ip)` -> VARCHAR shortcuts
- relation `network_context` (position, network, name, category, ip_version, range_start,
  range_end, latitude, longitude): the context file itself.

Files are resolved on first use from the settings (SpotLab.network_context, internal_ranges,
geoip_db) with the engine's lake as the default folder. Registration never fails the engine:
a missing geolocation database only makes `spot_geo*` raise a one-line "how to configure".
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.enrich.netcontext import context_path, internal_path
from spot_lab.errors import SpotLabError

GEO_FIELDS = {
    "country_code": pa.string(),
    "country": pa.string(),
    "region": pa.string(),
    "city": pa.string(),
    "latitude": pa.float64(),
    "longitude": pa.float64(),
    "owner": pa.string(),
    "asn": pa.int64(),
}
_SQL_TYPES = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.int64(): "BIGINT"}
GEO_STRUCT = f"STRUCT({', '.join(f'{n} {_SQL_TYPES[t]}' for n, t in GEO_FIELDS.items())})"


class _Sources:
    """Settings-driven context/geo sources for one lake, loaded lazily, cached by mtime."""

    def __init__(self, lake_root: Path, settings: Any = None) -> None:
        self.lake_root = lake_root
        self._settings = settings

    @property
    def settings(self):
        if self._settings is None:
            from spot_lab.config import load_settings

            self._settings = load_settings()
        return self._settings

    def context(self):
        from spot_lab.enrich.netcontext import load_context

        return load_context(context_path(self.settings, self.lake_root))

    def internal(self):
        from spot_lab.enrich.netcontext import load_internal

        return load_internal(internal_path(self.settings, self.lake_root))

    def geolocator(self):
        from spot_lab.enrich.geo import default_geolocator

        return default_geolocator(self.settings, lake=self.lake_root)


def _udf(fn):
    def wrapped(ips: pa.Array) -> pa.Array:
        try:
            return fn(ips)
        except SpotLabError as exc:  # DuckDB shows the message; keep it one line
            raise ValueError(str(exc)) from None

    return wrapped


def register(
    con: duckdb.DuckDBPyConnection,
    lake_root: Path,
    settings: Any = None,
    *,
    functions: bool = True,
    relation: bool = True,
) -> None:
    """Register the enrichment functions and/or the `network_context` relation on `con`."""
    src = _Sources(Path(lake_root), settings)
    if functions:
        _register_functions(con, src)
    if relation:
        try:
            context = src.context().to_arrow()
        except SpotLabError as exc:  # a malformed context file must not break the engine
            warnings.warn(f"network_context relation left empty: {exc}", stacklevel=2)
            from spot_lab.enrich.netcontext import NetworkContext

            context = NetworkContext().to_arrow()
        con.register("network_context", context)


def _register_functions(con: duckdb.DuckDBPyConnection, src: _Sources) -> None:
    from spot_lab.enrich.netcontext import category_of, parse_distinct

    def net_context(ips):
        return pa.array(src.context().name_of(ips, default=None), pa.string())

    def net_category(ips):
        names = pc.dictionary_encode(net_context(ips))  # categorize each distinct name once
        categories = [category_of(n) for n in names.dictionary.to_pylist()]
        return pa.array(categories, pa.string()).take(names.indices)

    def internal(ips):
        _, rows, parsed = parse_distinct(ips)
        return pa.array(parsed.valid & src.internal().is_internal(parsed)).take(rows)

    def geo_table(ips) -> pa.Table:
        located = src.geolocator().locate(ips)
        return pa.Table.from_pandas(located[list(GEO_FIELDS)], preserve_index=False)

    def geo(ips):
        table = geo_table(ips)
        arrays = [table[name].combine_chunks().cast(t) for name, t in GEO_FIELDS.items()]
        return pa.StructArray.from_arrays(arrays, names=list(GEO_FIELDS))

    def field_of(name):
        return lambda ips: geo_table(ips)[name].combine_chunks().cast(pa.string())

    functions = [
        ("spot_net_context", net_context, "VARCHAR"),
        ("spot_net_category", net_category, "VARCHAR"),
        ("spot_internal", internal, "BOOLEAN"),
        ("spot_geo", geo, GEO_STRUCT),
        ("spot_geo_country", field_of("country"), "VARCHAR"),
        ("spot_geo_city", field_of("city"), "VARCHAR"),
    ]
    for name, fn, returns in functions:
        with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
            con.remove_function(name)
        con.create_function(
            name,
            _udf(fn),
            ["VARCHAR"],
            returns,
            type="arrow",
            null_handling="special",
            side_effects=False,
        )


def try_register(con: duckdb.DuckDBPyConnection, lake_root: Path, **parts: bool) -> None:
    """`register`, but a failure only warns: the engine must open without enrichment."""
    try:
        register(con, lake_root, **parts)
    except Exception as exc:  # noqa: BLE001 - enrichment is optional for an engine
        warnings.warn(f"spot-lab SQL enrichment functions not registered: {exc}", stacklevel=2)
