"""Input limits: the one place that bounds what users hand to spot-lab (limits.yaml).

The magics, the Jupyter server and the CLI call these checks before parsing or any work,
so a hostile size costs a length comparison, not a quadratic parse, a huge IN list or a
90 MB rewrite. Each refusal is one InputError line that names the input, the limit and
what to do. docs/limits.md is the table of limits.yaml (a test keeps them equal).
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from typing import Any

import yaml

from spot_lab.errors import InputError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls but tab, CR, LF
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # unpaired: cannot be written as UTF-8
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@functools.cache
def table() -> dict[str, dict[str, Any]]:
    """limits.yaml: name -> {max | min | min_exclusive, unit, where, why}."""
    text = resources.files("spot_lab").joinpath("limits.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def limit(name: str) -> int:
    """The `max` of one limit."""
    return table()[name]["max"]


def text(value: Any, name: str, what: str, *, lines: bool = False) -> str:
    """`value` as a str of at most limit(name) characters, with no NUL or other control
    character, no unpaired surrogate, and no line break unless `lines`; else InputError."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}")
    most = limit(name)
    if len(value) > most:
        raise InputError(
            f"{what} is {len(value):,} characters long, at most {most:,} are accepted: "
            f"shorten it ({table()[name]['why']})"
        )
    if _SURROGATE.search(value):
        raise InputError(f"{what} holds an unpaired surrogate (\\udXXX): send valid UTF-8 text")
    bad = _CONTROL.search(value) or (None if lines else re.search(r"[\r\n]", value))
    if bad:
        char = repr(bad.group())[1:-1]
        raise InputError(f"{what} holds the control character {char}: remove it")
    return value


def name(value: Any, what: str) -> str:
    """A connection alias: a short name (letters, digits, _ - .)."""
    value = text(value, "alias", what)
    if not _NAME.match(value):
        raise InputError(
            f"{what} {value[:40]!r} is not a name: use letters, digits, _, - and ., "
            "starting with a letter or _"
        )
    return value


def count(values: Any, name: str, what: str) -> None:
    """A sequence's length within limit(name)."""
    most = limit(name)
    if len(values) > most:
        raise InputError(
            f"{what} has {len(values):,} elements, at most {most:,} are accepted: "
            f"{table()[name]['why']}"
        )


def number(value: Any, name: str, what: str, kind: type = int) -> Any:
    """A number within the limit's bounds (min, min_exclusive, max), as `kind`."""
    spec = table()[name]
    try:
        if isinstance(value, bool):
            raise ValueError
        number_ = kind(value)
        if kind is float and not math.isfinite(number_):
            raise ValueError
        if kind is int and isinstance(value, float) and value != number_:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} {str(value)[:40]!r} is not a {_KIND[kind]}") from None
    low, low_open, high = spec.get("min"), spec.get("min_exclusive"), spec.get("max")
    if (low is not None and number_ < low) or (low_open is not None and number_ <= low_open):
        bound = f"> {low_open}" if low_open is not None else f">= {low}"
        raise InputError(f"{what} {number_} must be {bound} ({spec['why']})")
    if high is not None and number_ > high:
        raise InputError(f"{what} {number_} must be <= {high:,} ({spec['why']})")
    return number_


_KIND = {int: "whole number", float: "number"}


def json_depth(data: bytes | str, most: int | None = None) -> int:
    """The nesting depth of a JSON text, counted without parsing it (strings skipped), so a
    body nested 100,000 deep is refused before Python's recursive parser sees it."""
    most = limit("json_depth") if most is None else most
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub(b"", raw)):
        depth += 1 if match.group() in b"[{" else -1
        if depth > most:
            raise InputError(
                f"the JSON body is nested deeper than {most} levels: send a flat object"
            )
        deepest = max(deepest, depth)
    return deepest


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def markdown() -> str:
    """limits.yaml as the Markdown table of docs/limits.md."""
    lines = ["| input | limit | where | why |", "| --- | --- | --- | --- |"]
    for key, spec in table().items():
        bounds = []
        if "min" in spec:
            bounds.append(f">= {spec['min']:,}")
        if "min_exclusive" in spec:
            bounds.append(f"> {spec['min_exclusive']:,}")
        bounds.append(f"<= {spec['max']:,} {spec['unit']}")
        lines.append(f"| `{key}` | {', '.join(bounds)} | {spec['where']} | {spec['why']} |")
    return "\n".join(lines) + "\n"
