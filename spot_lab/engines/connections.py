"""Named connections (engines) of a session; one is current.

The magics, `spot_lab.investigate()` and the server all get their engine here, so they
agree on what "the current data store" is. The embedded lake from the settings is the
default, opened on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spot_lab import limits
from spot_lab.config import SpotLab, load_settings
from spot_lab.engines.base import Engine
from spot_lab.engines.registry import open_engine
from spot_lab.errors import InputError

DEFAULT_ALIAS = "lake"  # the embedded lake from the settings


@dataclass
class Connections:
    settings: SpotLab = field(default_factory=load_settings)
    engines: dict[str, Engine] = field(default_factory=dict)
    current_alias: str | None = None

    def add(self, target: str, alias: str | None = None) -> Engine:
        """Open `target` (URL or lake folder), name it, and make it current."""
        target = limits.text(target, "connect_target", "the URL or lake folder")
        alias = limits.name(alias, "--alias") if alias else _default_alias(target, self.engines)
        engine = open_engine(
            target, timeout=self.settings.timeout, poll_interval=self.settings.poll_interval
        )
        old = self.engines.pop(alias, None)
        if old is not None:
            old.close()
        self.engines[alias] = engine
        self.current_alias = alias
        return engine

    def get(self, alias: str | None = None) -> Engine:
        if alias is not None:
            alias = limits.name(alias, "--conn")
        if alias is None:
            if self.current_alias is None:
                return self.add(self.settings.lake, alias=DEFAULT_ALIAS)
            alias = self.current_alias
        if alias not in self.engines:
            configured = self.settings.connections.get(alias)
            if configured is None and alias == DEFAULT_ALIAS:  # the embedded lake, by name
                configured = self.settings.lake
            if configured is None:
                known = (
                    ", ".join(sorted(set(self.engines) | set(self.settings.connections))) or "none"
                )
                raise InputError(
                    f"no connection named {alias!r} (known: {known}): add it with %spot_connect URL --alias {alias}"
                )
            current = self.current_alias
            self.add(configured, alias)
            self.current_alias = current  # --conn never changes the current connection
        return self.engines[alias]

    def close_all(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()


def _default_alias(target: str, taken: dict[str, Engine]) -> str:
    scheme = target.split("://", 1)[0] if "://" in target else "lake"
    if not scheme.isidentifier():
        scheme = "conn"
    alias, n = scheme, 1
    while alias in taken:
        n += 1
        alias = f"{scheme}{n}"
    return alias


_session: Connections | None = None


def session(settings: SpotLab | None = None) -> Connections:
    """The process-wide connections (created on first use)."""
    global _session
    if _session is None:
        _session = Connections(settings or load_settings())
    elif settings is not None:
        _session.settings = settings
    return _session


def current_engine(alias: str | None = None) -> Engine:
    return session().get(alias)
