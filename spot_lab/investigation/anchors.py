"""The anchor of an investigation: an IP, a DNS name or a proxy URI, validated, normalised,
and the data type it is investigated in."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from spot_lab import limits
from spot_lab.errors import InputError

TYPES = ("flow", "dns", "proxy")
_DOMAIN = re.compile(
    r"^(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$",
    re.IGNORECASE,
)
# Proxy logs keep URIs as clients sent them: spaces, `<`, `"`, `{`... beyond RFC 3986 occur
# in flagged rows, so any printable character is taken once the host is valid (the value is
# always bound, never pasted into SQL); control characters and line breaks are not.
_URI_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_IPISH = re.compile(r"^[0-9.]+$|^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class Anchor:
    value: str  # normalised (lower-case names, no URI scheme)
    kind: str  # ip | name | uri | host (a bare web host, for proxy: every request to it)
    data_type: str  # flow | dns | proxy


def classify(anchor: Any, data_type: str = "auto") -> Anchor:
    """Validate the anchor and decide the data type; one-line InputError otherwise."""
    wanted = str(data_type or "auto").strip().lower()
    if wanted not in (*TYPES, "auto"):
        raise InputError(f"unknown type {data_type!r}: use flow, dns, proxy or auto")
    text = "" if anchor is None else str(anchor).strip()
    if not text:
        raise InputError(
            "empty anchor: give an IP (10.0.0.5), a domain name (evil.example) or a URI "
            "(host/path), e.g. %spot_threat 10.0.0.5"
        )
    if len(text) > limits.limit("anchor"):
        limits.text(text, "anchor", "the anchor")  # says how long and what to do
    if _IPISH.match(text):
        try:
            value = str(ipaddress.ip_address(text))
        except ValueError:
            raise InputError(f"malformed IP {text!r}: write it as a.b.c.d, e.g. 10.0.0.5") from None
        kind = "ip"
    elif _DOMAIN.match(text):
        value, kind = text.lower().rstrip("."), "name"
    elif _looks_like_uri(text):
        value, kind = _SCHEME.sub("", text), "uri"
    else:
        raise InputError(
            f"{text[:80]!r} is not an IP, a domain name or a URI: check for stray quotes or spaces"
        )
    if wanted == "auto":
        wanted = {"ip": "flow", "name": "dns", "uri": "proxy"}[kind]
    if wanted == "flow" and kind != "ip":
        raise InputError(f"flow investigations take an IP, not {text[:80]!r}")
    if wanted == "dns" and kind == "uri":
        raise InputError(f"dns investigations take a client IP or a query name, not {text[:80]!r}")
    if wanted == "proxy" and kind == "name":
        kind = "host"  # every request to the host (a bare host is also a Spot fulluri)
    return Anchor(value, kind, wanted)


def _looks_like_uri(text: str) -> bool:
    if _URI_REFUSED.search(text):
        return False
    rest = _SCHEME.sub("", text)
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = re.sub(r":\d+$", "", host)
    if not host or not ("/" in rest or "?" in rest or _SCHEME.match(text)):
        return False
    if _DOMAIN.match(host) or host.startswith("["):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
