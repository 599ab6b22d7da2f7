"""The demo organisation and the Internet it talks to (hosts, names, agents), fixed for a seed;
and the context files Spot expects beside its data (network context, ranges, sites)."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa

from spot_lab.demo import world_data as W
from spot_lab.store.lake import Lake


def zipf(n: int, s: float = 1.0) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def weights(pairs: tuple) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([v for v, _ in pairs], dtype=object)
    p = np.array([w for _, w in pairs], dtype=float)
    return values, p / p.sum()


def _registered(name: str) -> str:
    labels = name.split(".")
    keep = 3 if labels[-2] in ("co", "com") and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


class World:
    """The demo organisation and the Internet it talks to; fixed for a seed.

    Built in steps: internal hosts by role, public hosts, names, people, then the actors of
    the scenarios (infected hosts, attackers' and benign services' addresses and names).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng([seed, 0])
        self.moved_to: set[str] = set()  # lateral movement's targets so far (new each day)
        self.ip_list: list[str] = []
        self._asn: list[int] = []
        self._router: list[str] = []
        self._internal_hosts()
        site_ips = self._public_hosts()
        self._names(site_ips)
        self._people()
        self._actors()

    def _add(self, ip: str, as_number: int = 0, rip: str = "") -> int:
        self.ip_list.append(ip)
        self._asn.append(as_number)
        self._router.append(rip)
        return len(self.ip_list) - 1

    def _hosts(self, cidr: str, first: int, count: int, rip: str) -> np.ndarray:
        net = ipaddress.ip_network(cidr)
        offsets = np.sort(self.rng.choice(np.arange(first, net.num_addresses - 1), count, False))
        return np.array([self._add(str(net[int(o)]), 0, rip) for o in offsets])

    def _internal_hosts(self) -> None:
        for ip in W.ROUTERS:
            self._add(ip, 0, ip)
        self.resolvers = np.array([self._add(ip, 0, W.ROUTERS[0]) for ip in W.RESOLVERS])
        named = [ip for ip in W.NAMED_HOSTS if ip.startswith("10.0.1.") and ip not in W.RESOLVERS]
        servers = [self._add(ip, 0, W.ROUTERS[0]) for ip in named]
        servers += list(self._hosts("10.0.1.0/24", 60, 25, W.ROUTERS[0]))
        self.servers = np.array(servers)
        self.dmz = self._hosts("10.0.2.0/24", 10, 8, W.ROUTERS[2])
        hq = self._hosts("10.0.10.0/23", 20, 260, W.ROUTERS[0])
        branch = self._hosts("10.0.20.0/24", 20, 70, W.ROUTERS[1])
        vpn = self._hosts("10.0.30.0/24", 10, 40, W.ROUTERS[0])
        self.clients = np.concatenate([hq, branch, vpn])
        self.n_internal = len(self.ip_list)

    def _public_hosts(self) -> dict[str, list[int]]:
        """Popular sites' servers first (the popular end), then the long tail. Big sites answer
        from pools of addresses (CDNs, load balancers), as in real traffic: no single public IP
        carries a large share of the day."""
        self.prefix_asn = {p: a for _, p, a, _ in W.PUBLIC_PREFIXES}
        self.used: set[str] = set(self.ip_list)
        site_ips = {}
        for name, _cat, prefix, _app in W.POPULAR_SITES:
            site_ips[name] = [self._add(self._fresh(prefix), self.prefix_asn[prefix])
                              for _ in range(16)]  # fmt: skip
        self.n_popular_ips = len(self.ip_list) - self.n_internal
        prefixes = [p for _, p, _, _ in W.PUBLIC_PREFIXES]
        for i in range(1800):
            prefix = prefixes[i % len(prefixes)]
            self._add(self._fresh(prefix), self.prefix_asn[prefix])
        self.public = np.arange(self.n_internal, len(self.ip_list))
        self.ips = pa.array(self.ip_list, pa.string())
        self.asn = np.array(self._asn, dtype=np.int32)
        self.router = np.array(self._router, dtype=object)
        site_share = np.repeat(zipf(len(W.POPULAR_SITES), 1.0) / 16, 16)
        tail_share = zipf(len(self.public) - self.n_popular_ips, 0.8)
        self.public_p = np.concatenate([0.55 * site_share, 0.45 * tail_share])
        self.client_p = self.rng.lognormal(0, 0.7, len(self.clients))
        self.client_p /= self.client_p.sum()
        return site_ips

    def _names(self, site_ips: dict[str, list[int]]) -> None:
        """Popular sites, the benign long tail, internal names, PTR names."""
        rng, ips = self.rng, self.ip_list
        rows: list[tuple[str, str, str, str]] = []  # name, answer, web category, application
        for name, cat, _prefix, bcapp in W.POPULAR_SITES:
            pool = rng.choice(site_ips[name], int(rng.integers(1, 3)), replace=False)
            rows.append((name, "|".join(ips[int(i)] for i in pool), cat, bcapp))
        self.n_popular_names = len(rows)
        tail_ips = self.public[self.n_popular_ips :]
        self.taken = {r[0] for r in rows}
        while len(rows) < self.n_popular_names + 900:
            name = self._word_name("www." if rng.random() < 0.6 else "", W.TAIL_TLDS, "")
            category = W.TAIL_CATEGORIES[int(rng.integers(len(W.TAIL_CATEGORIES)))]
            rows.append((name, ips[int(rng.choice(tail_ips))], category, "-"))
        self.n_web_names = len(rows)
        for name in W.INTERNAL_NAMES:
            answer = "" if name.startswith("_") else ips[int(rng.choice(self.servers))]
            rows.append((name, answer, "Intranet", "-"))
        self.n_internal_names = len(W.INTERNAL_NAMES)
        for idx in rng.choice(self.public, 300, replace=False):
            rows.append((".".join(reversed(ips[int(idx)].split("."))) + ".in-addr.arpa", "",
                         "-", "-"))  # fmt: skip
        names, answer, webcat, app = (list(c) for c in zip(*rows, strict=True))
        self.names = np.array(names, dtype=object)
        self.name_len = np.array([len(n) for n in names], dtype=np.int32)
        self.answer = np.array(answer, dtype=object)
        self.webcat = np.array(webcat, dtype=object)
        self.app = np.array(app, dtype=object)
        self.referer = np.array([f"https://{n}/" for n in names], dtype=object)

    def _word_name(self, prefix: str, tlds: tuple, joiner: str) -> str:
        """A fresh two-word domain name (never one of the world's names)."""
        while True:
            a, b = self.rng.choice(W.TAIL_WORDS, 2, replace=False)
            tld = tlds[int(self.rng.integers(len(tlds)))]
            name = f"{prefix}{a}{joiner}{b}.{tld}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def _people(self) -> None:
        """Per-client habits: main browser and user name."""
        rng = self.rng
        self.client_agent = rng.choice(6, len(self.clients), p=[0.45, 0.25, 0.12, 0.08, 0.06, 0.04])
        self.username = np.array(
            [f"{rng.choice(W.FIRST_NAMES)}.{rng.choice(W.LAST_NAMES)}{int(rng.integers(1, 99))}"
             for _ in self.clients], dtype=object)  # fmt: skip

    def _actors(self) -> None:
        """Who the scenarios involve, fixed for the seed so they persist across days: infected
        workstations drawn from the whole fleet (busier ones more likely, any can be), and
        attackers' addresses in prefixes drawn per seed (no country or network to learn)."""
        rng = self.rng
        picks = rng.choice(self.clients, len(W.ACTOR_ROLES), replace=False, p=self.client_p)
        self.actor = {
            role: self.ip_list[int(i)] for role, i in zip(W.ACTOR_ROLES, picks, strict=True)
        }
        self.actor_clients = set(self.actor.values())
        prefixes = [p for _, p, _, _ in W.PUBLIC_PREFIXES if p not in W.NOT_FOR_ACTORS]
        self.actor_ip = {role: self._fresh(prefixes[int(rng.integers(len(prefixes)))])
                         for role in W.ACTOR_IP_ROLES}  # fmt: skip
        tlds = W.ACTOR_TLDS
        self.actor_name = {
            "c2": self._word_name(f"{rng.choice(W.SUBDOMAIN_WORDS)}.", tlds, "-"),
            "exfil": self._word_name(f"{rng.choice(W.SUBDOMAIN_WORDS)}.", tlds, "-"),
            "tunnel": self._word_name("", tlds, "-"),
            "phishing": self._word_name("", tlds, "-"),
            "proxy_beacon": self._word_name(f"{rng.choice(W.SUBDOMAIN_WORDS)}.", tlds, ""),
        }
        self.benign_ip = {role: [self._fresh(prefix) for _ in range(count)]
                          for role, (prefix, count) in W.BENIGN_IPS.items()}  # fmt: skip

    def fresh_ips(self, rng: np.random.Generator, count: int) -> list[str]:
        """`count` public addresses nobody else uses, drawn with `rng` (a day's scanners)."""
        prefixes = [p for _, p, _, _ in W.PUBLIC_PREFIXES if p not in W.NOT_FOR_ACTORS]
        return [self._fresh(prefixes[int(rng.integers(len(prefixes)))], rng)
                for _ in range(count)]  # fmt: skip

    def _fresh(self, prefix: str, rng: np.random.Generator | None = None) -> str:
        net = ipaddress.ip_network(prefix)
        rng = self.rng if rng is None else rng
        while True:
            ip = net[int(rng.integers(1, net.num_addresses - 1))]
            text = str(ip)
            if text not in self.used and text.split(".")[-1] not in ("0", "255"):
                self.used.add(text)
                return text

    def asn_of(self, ip: str) -> int:
        addr = ipaddress.ip_address(ip)
        for _, prefix, as_number, _ in W.PUBLIC_PREFIXES:
            if addr in ipaddress.ip_network(prefix):
                return as_number
        return 0

    def write_context(self, lake: Lake) -> None:
        """Spot's context files: network context, internal ranges, sites, a top-domains list."""
        folder = lake.root / "context"
        folder.mkdir(parents=True, exist_ok=True)
        rows = ["ip,name"] + [f"{ip},{name}" for ip, name in W.NAMED_HOSTS.items()]
        rows += [f"{where},{name}" for name, where, _site, _role in W.SUBNETS]
        (folder / "network_context.csv").write_text("\n".join(rows) + "\n")
        ranges, sites = [], ["subnet,name,site,lat,lon"]
        for name, where, site, _role in W.SUBNETS:
            lo, hi = _bounds(where)
            ranges.append(f"{lo},{hi},{name}")
            lat, lon = W.SITES[site]
            sites.append(f"{where},{name},{site},{lat},{lon}")
        (folder / "ipranges.csv").write_text("\n".join(ranges) + "\n")
        (folder / "sites.csv").write_text("\n".join(sites) + "\n")
        top = list(dict.fromkeys([*(_registered(n) for n, *_ in W.POPULAR_SITES),
                                  *W.KNOWN_SERVICE_DOMAINS]))  # fmt: skip
        (folder / "top-1m.csv").write_text("".join(f"{i},{d}\n" for i, d in enumerate(top, 1)))


def _bounds(where: str) -> tuple[str, str]:
    if "-" in where:
        lo, hi = where.split("-")
        return lo, hi
    net = ipaddress.ip_network(where)
    return str(net.network_address), str(net.broadcast_address)
