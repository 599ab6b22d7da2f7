"""Reputation services (reference 4.6), pluggable: nothing is configured by default.

A service is any object with `name` and `check(values, kind) -> {value: "svc:LABEL:level"}`
(kind: "ip", "domain" or "url"; level -1 unverified, 0 none, 1 low, 2 medium, 3 high).
Register one with `register(service)`; several services' answers are joined with "::" as
Spot's UI expects. Values no service knows stay "".
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd


class ReputationService(Protocol):
    name: str

    def check(self, values: list[str], kind: str) -> dict[str, str]: ...


_SERVICES: list[ReputationService] = []


def register(service: ReputationService) -> None:
    _SERVICES.append(service)


def clear() -> None:
    _SERVICES.clear()


def reputation_of(values: pd.Series, kind: str, settings=None) -> pd.Series:
    """One reputation string per value ("" when no service is registered or knows it)."""
    if not _SERVICES:
        return pd.Series("", index=values.index, dtype=object)
    distinct = [v for v in values.dropna().unique().tolist() if v]
    answers: dict[str, list[str]] = {v: [] for v in distinct}
    for service in _SERVICES:
        for value, text in service.check(distinct, kind).items():
            if value in answers and text:
                answers[value].append(text)
    joined = {v: "::".join(a) for v, a in answers.items()}
    return values.map(lambda v: joined.get(v, "")).astype(object)
