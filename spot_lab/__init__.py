"""spot-lab: investigate Apache Spot network data (flow, DNS, proxy) in Jupyter.

`%load_ext spot_lab` registers the magics; `spot_lab.investigate(anchor)` is `%spot_threat`
from Python; `spot_lab.ingest(sources, lake)` is `spot-lab ingest`. Heavy parts (maps, cluster drivers, the model) are imported on first use.
"""

from __future__ import annotations

try:
    from spot_lab._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0.dev0"

__all__ = ["__version__", "investigate", "load_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    from spot_lab.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from spot_lab.magics import unload_ipython_extension as unload

    unload(ipython)


def investigate(anchor: str, **options):
    """Gather everything about one threat and answer the five Ws (see `%spot_threat`)."""
    from spot_lab.investigation.search import investigate as run

    return run(anchor, **options)


def __getattr__(name: str):
    if name == "ingest":  # `spot_lab.ingest(sources, lake)`: the subpackage is callable
        import spot_lab.ingest

        return spot_lab.ingest
    raise AttributeError(f"module 'spot_lab' has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "spot-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "spot_lab.server"}]
