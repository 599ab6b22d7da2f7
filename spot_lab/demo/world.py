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
    """The demo organisation and the Internet it talks to; fixed for a seed."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        self.rng = rng
        ips: list[str] = []
        asn: list[int] = []
        router: list[str] = []

        def add(ip: str, as_number: int = 0, rip: str = "") -> int:
            ips.append(ip)
            asn.append(as_number)
            router.append(rip)
            return len(ips) - 1

        # internal hosts by role
        def hosts(cidr: str, first: int, count: int, rip: str) -> np.ndarray:
            net = ipaddress.ip_network(cidr)
            offsets = np.sort(rng.choice(np.arange(first, net.num_addresses - 1), count, False))
            return np.array([add(str(net[int(o)]), 0, rip) for o in offsets])

        for ip in W.ROUTERS:
            add(ip, 0, ip)
        self.resolvers = np.array([add(ip, 0, W.ROUTERS[0]) for ip in W.RESOLVERS])
        named = [ip for ip in W.NAMED_HOSTS if ip.startswith("10.0.1.") and ip not in W.RESOLVERS]
        servers = [add(ip, 0, W.ROUTERS[0]) for ip in named]
        servers += list(hosts("10.0.1.0/24", 60, 25, W.ROUTERS[0]))
        self.servers = np.array(servers)
        self.dmz = hosts("10.0.2.0/24", 10, 8, W.ROUTERS[2])
        hq = hosts("10.0.10.0/23", 20, 260, W.ROUTERS[0])
        branch = hosts("10.0.20.0/24", 20, 70, W.ROUTERS[1])
        vpn = hosts("10.0.30.0/24", 10, 40, W.ROUTERS[0])
        self.clients = np.concatenate([hq, branch, vpn])
        self.n_internal = len(ips)

        # public hosts: popular sites' servers first (the popular end), then the long tail
        self.prefix_asn = {p: a for _, p, a, _ in W.PUBLIC_PREFIXES}
        self.used: set[str] = set(ips)
        # Big sites answer from pools of addresses (CDNs, load balancers), as in real traffic:
        # no single public IP carries a large share of the day.
        site_ips = {}
        for name, _cat, prefix, _app in W.POPULAR_SITES:
            site_ips[name] = [add(self._fresh(prefix), self.prefix_asn[prefix]) for _ in range(16)]
        self.n_popular_ips = len(ips) - self.n_internal
        prefixes = [p for _, p, _, _ in W.PUBLIC_PREFIXES]
        for i in range(1800):
            prefix = prefixes[i % len(prefixes)]
            add(self._fresh(prefix), self.prefix_asn[prefix])
        self.public = np.arange(self.n_internal, len(ips))
        self.ips = pa.array(ips, pa.string())
        self.ip_list = ips
        self.asn = np.array(asn, dtype=np.int32)
        self.router = np.array(router, dtype=object)
        site_share = np.repeat(zipf(len(W.POPULAR_SITES), 1.0) / 16, 16)
        tail_share = zipf(len(self.public) - self.n_popular_ips, 0.8)
        self.public_p = np.concatenate([0.55 * site_share, 0.45 * tail_share])
        self.client_p = rng.lognormal(0, 0.7, len(self.clients))
        self.client_p /= self.client_p.sum()

        # names: popular sites, the benign long tail, internal names, PTR names
        names: list[str] = []
        answer: list[str] = []
        webcat: list[str] = []
        app: list[str] = []
        for name, cat, _prefix, bcapp in W.POPULAR_SITES:
            names.append(name)
            pool = rng.choice(site_ips[name], int(rng.integers(1, 3)), replace=False)
            answer.append("|".join(ips[int(i)] for i in pool))
            webcat.append(cat)
            app.append(bcapp)
        self.n_popular_names = len(names)
        tail_ips = self.public[self.n_popular_ips :]
        seen = set(names)
        while len(names) < self.n_popular_names + 900:
            a, b = rng.choice(W.TAIL_WORDS, 2, replace=False)
            tld = W.TAIL_TLDS[int(rng.integers(len(W.TAIL_TLDS)))]
            name = f"{'www.' if rng.random() < 0.6 else ''}{a}{b}.{tld}"
            if name in seen:
                continue
            seen.add(name)
            names.append(name)
            answer.append(ips[int(rng.choice(tail_ips))])
            webcat.append(W.TAIL_CATEGORIES[int(rng.integers(len(W.TAIL_CATEGORIES)))])
            app.append("-")
        self.n_web_names = len(names)
        for name in W.INTERNAL_NAMES:
            names.append(name)
            answer.append("" if name.startswith("_") else ips[int(rng.choice(self.servers))])
            webcat.append("Intranet")
            app.append("-")
        self.n_internal_names = len(W.INTERNAL_NAMES)
        for idx in rng.choice(self.public, 300, replace=False):
            names.append(".".join(reversed(ips[int(idx)].split("."))) + ".in-addr.arpa")
            answer.append("")
            webcat.append("-")
            app.append("-")
        self.names = np.array(names, dtype=object)
        self.name_len = np.array([len(n) for n in names], dtype=np.int32)
        self.answer = np.array(answer, dtype=object)
        self.webcat = np.array(webcat, dtype=object)
        self.app = np.array(app, dtype=object)
        self.referer = np.array([f"https://{n}/" for n in names], dtype=object)

        # per-client habits: main browser and user name
        first = [
            "anna",
            "ben",
            "carla",
            "dan",
            "eva",
            "finn",
            "gina",
            "hugo",
            "ines",
            "jack",
            "kara",
            "leo",
            "mia",
            "nils",
            "olga",
            "paul",
        ]
        last = [
            "smith",
            "jones",
            "garcia",
            "muller",
            "rossi",
            "novak",
            "kim",
            "silva",
            "brown",
            "lopez",
            "weber",
            "meyer",
        ]
        self.client_agent = rng.choice(6, len(self.clients), p=[0.45, 0.25, 0.12, 0.08, 0.06, 0.04])
        self.username = np.array(
            [f"{rng.choice(first)}.{rng.choice(last)}{int(rng.integers(1, 99))}"
             for _ in self.clients], dtype=object)  # fmt: skip

        # threat actors: fixed for the seed so they persist across days
        self.c2_ip = self._fresh(W.ACTOR_PREFIXES["c2"])
        self.exfil_ip = self._fresh(W.ACTOR_PREFIXES["exfil"])
        self.scanner_ip = self._fresh(W.ACTOR_PREFIXES["scanner"])
        self.phish_ip = self._fresh(W.ACTOR_PREFIXES["phishing"])
        self.dga_ip = self._fresh(W.ACTOR_PREFIXES["dga"])
        self.c2_name = "api.telemetry-cdn-sync.com"
        self.exfil_host = "upload.safe-backup-share.net"
        self.tunnel_domain = "cloudsync-metrics.net"
        self.phish_host = "sharepoint-docview.com"
        busiest = self.clients[np.argsort(-self.client_p, kind="stable")[:12]]
        # infected machines are busy workstations in daily use: the attack is a small share of
        # their traffic, which is what makes it stand out for a per-host model
        actors = rng.choice(busiest, 6, replace=False)
        self.c2_host, self.exfil_client, self.tunnel_client, self.dga_client = (
            self.ip_list[int(i)] for i in actors[:4])  # fmt: skip
        self.actor_clients = {self.ip_list[int(i)] for i in actors}

    def _fresh(self, prefix: str) -> str:
        net = ipaddress.ip_network(prefix)
        while True:
            ip = net[int(self.rng.integers(1, net.num_addresses - 1))]
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
        top = list(dict.fromkeys(_registered(n) for n, *_ in W.POPULAR_SITES))
        (folder / "top-1m.csv").write_text("".join(f"{i},{d}\n" for i, d in enumerate(top, 1)))


def _bounds(where: str) -> tuple[str, str]:
    if "-" in where:
        lo, hi = where.split("-")
        return lo, hi
    net = ipaddress.ip_network(where)
    return str(net.network_address), str(net.broadcast_address)
