"""What the field already knows about an outside party, for the triage list:

- the site's allowlist (SpotLab.allowlist: IPs, CIDRs, domains covering their subdomains) and
  the infrastructure services of known_services.yaml (DNS used as a lookup protocol by DNS
  blocklists and antivirus reputation): findings on them are not threats;
- popularity: the registered domains of a top-sites list (SpotLab.top_sites, else the lake's
  context/top-1m.csv, the file Spot's own DNS OA read). A beacon to one of the most popular
  sites is an application's heartbeat; other findings on them get RITA's decrease.

Popularity is judged on the registered domain with the Public Suffix List's private section
(publicsuffixlist's default): a customer's name under a hosting or CDN provider
(x.azurewebsites.net, y.cloudfront.net) is its own registered domain, not the provider's, so
a C2 hosted there is not "popular". An address is popular when every name the day's DNS
answers gave for it is.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import yaml


@cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def site_domain(name: str) -> str:
    """The registered domain of `name`, private suffixes included (x.cloudfront.net stays)."""
    clean = (name or "").strip().lower().rstrip(".")
    return _psl().privatesuffix(clean) or clean


@cache
def service_lists() -> dict:
    """known_services.yaml: DNS lookup zones, webmail hosts, risky downloads, categories."""
    return yaml.safe_load(resources.files(__package__).joinpath("known_services.yaml").read_text())


def lookup_zones() -> frozenset[str]:
    return frozenset(z["domain"].lower() for z in service_lists()["dns_lookup_zones"])


@dataclass
class Allowlist:
    """IPs, networks and domains whose findings stay out of the triage list."""

    ips: set[str] = field(default_factory=set)
    networks: list = field(default_factory=list)
    domains: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str, domains=()) -> Allowlist:
        out = cls(domains={d.lower().rstrip(".") for d in domains})
        for item in (text or "").replace(";", ",").replace(" ", ",").split(","):
            item = item.strip().lower().rstrip(".")
            if not item:
                continue
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                out.domains.add(item)
                continue
            if net.num_addresses == 1:
                out.ips.add(str(net.network_address))
            else:
                out.networks.append(net)
        return out

    def __contains__(self, party: str) -> bool:
        party = (party or "").strip().lower().rstrip(".")
        if not party:
            return False
        try:
            addr = ipaddress.ip_address(party)
        except ValueError:
            labels = party.split(".")
            return any(".".join(labels[i:]) in self.domains for i in range(len(labels)))
        return party in self.ips or any(addr in net for net in self.networks)

    def __bool__(self) -> bool:
        return bool(self.ips or self.networks or self.domains)


def allowlist(settings, data_type: str) -> Allowlist:
    """The site's allowlist, plus the DNS lookup zones for DNS findings."""
    zones = lookup_zones() if data_type == "dns" else ()
    return Allowlist.parse(getattr(settings, "allowlist", "") or "", zones)


def top_sites_path(settings, lake_root: Path | None) -> Path | None:
    configured = getattr(settings, "top_sites", "") or ""
    if configured:
        return Path(configured).expanduser()
    if lake_root is None:
        return None
    path = Path(lake_root) / "context" / "top-1m.csv"
    return path if path.is_file() else None


def top_sites(path: Path | None, max_rank: int) -> frozenset[str]:
    """Registered domains ranked <= max_rank in a rank,domain CSV (empty without a file)."""
    if path is None or not path.is_file():
        return frozenset()
    stat = path.stat()
    return _read_top(str(path), stat.st_mtime_ns, stat.st_size, max_rank)


@cache
def _read_top(path: str, _mtime: int, _size: int, max_rank: int) -> frozenset[str]:
    out = set()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            rank, _, domain = line.strip().partition(",")
            if not domain or not rank.isdigit():
                continue
            if int(rank) > max_rank:
                break
            out.add(domain.strip().lower().rstrip("."))
    return frozenset(out)


def is_popular(name: str, top: frozenset[str]) -> bool:
    return bool(top) and site_domain(name) in top
