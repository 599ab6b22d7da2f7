"""Which engine a URL opens: duckdb:// or a folder (the embedded lake), hive://, presto://,
trino:// (the cluster engines, imported only when asked for: they need PyHive)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from spot_lab.engines.base import Engine
from spot_lab.errors import InputError
from spot_lab.store.lake import Lake

# scheme -> "module:class"; a new engine is one line here
ENGINES = {
    "hive": "spot_lab.engines.hive:HiveEngine",
    "presto": "spot_lab.engines.presto:PrestoEngine",
    "trino": "spot_lab.engines.presto:TrinoEngine",
}


def open_engine(target: str | Path | Lake, **options: Any) -> Engine:
    """Open an engine from a URL (duckdb://, hive://, presto://, trino://) or a lake folder."""
    from spot_lab.engines.duckdb_engine import DuckDBEngine

    if isinstance(target, Lake):
        return DuckDBEngine(target)
    text = str(target)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("", "file"):
        return DuckDBEngine(text.split("://", 1)[-1])
    if scheme == "duckdb":
        return DuckDBEngine(text[len("duckdb://") :] or ".")
    return open_cluster_engine(text, **options)


def open_cluster_engine(
    url: str, timeout: float = 30.0, poll_interval: float = 0.2, **options: Any
) -> Engine:
    """Open a cluster engine from its URL (see spot_lab.engines.cluster_base for the forms)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ENGINES:
        from spot_lab.engines.cluster_base import ClusterURL

        ClusterURL.parse(url)  # raises the one-line "unsupported scheme" error
    try:
        importlib.import_module("pyhive")
    except ImportError:
        raise InputError("cluster engines need PyHive: pip install 'spot-lab[cluster]'") from None
    module, name = ENGINES[scheme].split(":")
    engine_class = getattr(importlib.import_module(module), name)
    return engine_class(url, timeout=timeout, poll_interval=poll_interval, **options)
