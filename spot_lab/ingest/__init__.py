"""Real sensor data into Spot's tables (issue 12): `spot-lab ingest` and `ingest()`.

Zeek (TSV and JSON), Suricata EVE, nfdump CSV and nfcapd files, pcaps (tshark for DNS,
softflowd + nfcapd for flows), squid and Blue Coat proxy logs, plain or gzip/bz2/zstd/xz,
are detected from their content and mapped onto Spot's flow, dns and proxy tables by the
YAML mappings in spot_lab/ingest/mappings/ (DHCP leases onto spot-lab's ip_leases).
Incremental (a manifest in the lake), streaming (memory bound by the block size), atomic
(staged files renamed in after a journal), with rejected lines kept under <lake>/rejects/.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable

__all__ = ["ingest"]


def ingest(
    sources: str | os.PathLike | Iterable[str | os.PathLike],
    lake: str | os.PathLike | None = None,
    *,
    format: str = "auto",
    progress: bool = True,
    max_skew_days: float = 7.0,
):
    """Ingest log files, folders or globs into a lake (the configured one by default);
    returns an IngestReport (`print(report)` shows one line per file)."""
    from spot_lab.ingest import sources as S
    from spot_lab.ingest.run import Ingest, open_lake

    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if lake is None:
        from spot_lab.config import load_settings

        lake = load_settings().lake
    target = open_lake(lake)
    files, missing = S.expand(sources, exclude=target.root)
    run = Ingest(target, format=format, progress=progress, max_skew_days=max_skew_days)
    return run.run(files, missing)


class _CallableModule(types.ModuleType):
    """`spot_lab.ingest(...)` calls `spot_lab.ingest.ingest(...)`."""

    def __call__(self, *args, **kwargs):
        return ingest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
