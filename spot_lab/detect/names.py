"""Domain names: registered domains from the Public Suffix List, and how random a label looks.

- The ICANN section of the Public Suffix List shipped by the `publicsuffixlist` package (an
  offline copy, updated with the package) as a small table of rules the engine joins
  (queries/detect_dns.yaml `registered_domains`), and the same rules in Python
  (`registered_domain`, through the package itself) for the investigation.
  Only the ICANN section: a CDN's or dynamic-DNS provider's customer names (cloudfront.net,
  duckdns.org are in the private section) count as subdomains of the provider, which is
  where a tunnel hides and what the tunnel detector must tell apart.
- Character-bigram log probabilities of popular domain labels (spot_lab/data/top-domains.txt),
  add-one smoothed, so the engine scores a label's randomness (Yadav et al., IMC 2010).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cache
from importlib import resources

import pyarrow as pa

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"


@cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=True)


def registered_domain(name: str) -> str:
    """The registered domain of `name` (public suffix + one label); the name itself when it
    is a public suffix or has one label."""
    clean = (name or "").strip().lower().rstrip(".")
    return _psl().privatesuffix(clean) or clean


def _icann_rules() -> list[str]:
    text = resources.files("publicsuffixlist").joinpath("public_suffix_list.dat").read_text("utf-8")
    rules, inside = [], False
    for line in text.splitlines():
        line = line.strip()
        if "===BEGIN ICANN DOMAINS===" in line:
            inside = True
        elif "===END ICANN DOMAINS===" in line:
            break
        elif inside and line and not line.startswith("//"):
            rules.append(line.split()[0].lower())
    return rules


@cache
def suffix_table() -> pa.Table:
    """(rule, kind) with kind exact, wildcard (rule = the part after `*.`) or exception
    (rule = the part after `!`); Unicode rules also in their IDNA (xn--) spelling, as DNS
    logs carry them."""
    seen: dict[tuple[str, str], None] = {}
    for raw in _icann_rules():
        kind, rule = "exact", raw
        if raw.startswith("*."):
            kind, rule = "wildcard", raw[2:]
        elif raw.startswith("!"):
            kind, rule = "exception", raw[1:]
        seen[(rule, kind)] = None
        try:
            encoded = rule.encode("idna").decode("ascii")
        except UnicodeError:
            continue
        seen[(encoded, kind)] = None
    rules = list(seen)
    return pa.table({"rule": [r for r, _ in rules], "kind": [k for _, k in rules]})


def _labels() -> list[str]:
    text = resources.files("spot_lab.data").joinpath("top-domains.txt").read_text("utf-8")
    return [w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#")]


@cache
def bigram_model() -> tuple[dict[str, float], float]:
    """log10 P(bigram) from the popular labels, add-one smoothed; and the unseen value."""
    counts = Counter(w[i : i + 2] for w in _labels() for i in range(len(w) - 1))
    total = sum(counts.values()) + len(ALPHABET) ** 2
    logp = {bg: math.log10((n + 1) / total) for bg, n in counts.items()}
    return logp, math.log10(1 / total)


def bigram_table() -> pa.Table:
    logp, _ = bigram_model()
    return pa.table({"bg": list(logp), "logp": list(logp.values())})


def label_logp(label: str) -> float:
    """Mean log10 bigram probability of a label (Python twin of `bigram_logp`)."""
    logp, unseen = bigram_model()
    pairs = [label[i : i + 2] for i in range(len(label) - 1)]
    return sum(logp.get(p, unseen) for p in pairs) / len(pairs) if pairs else 0.0
