"""The scenarios injected into a demo day and their ground truth (`<lake>/ground_truth.json`:
what each is, whether it is benign, its drawn parameters, anchors, hosts and time window).

Attacks live in attacks_flow.py (flow) and attacks_names.py (DNS, proxy), benign look-alikes
in lookalikes.py, one function each; their parameters are drawn per seed (and per day) from
the ranges of scenarios.yaml by params.py, so no detector can be tuned to one constant.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from spot_lab.demo import attacks_flow as F
from spot_lab.demo import attacks_names as N
from spot_lab.demo import lookalikes as B
from spot_lab.demo import world_data as W
from spot_lab.demo.kit import Day
from spot_lab.demo.params import draw_plan
from spot_lab.demo.world import World

ATTACKS = (F.c2_beaconing, F.strobe, F.long_connection, F.data_exfiltration, F.port_scan,
           F.ssh_brute_force, F.rdp_brute_force, F.lateral_movement, N.dns_tunnelling,
           N.dga_nxdomain, N.data_exfiltration_http, N.phishing, N.proxy_beacon)  # fmt: skip
LOOKALIKES = (B.ntp_sync, B.software_updates, B.backup_job, B.cdn_heartbeat,
              B.monitoring_polls, B.internet_scanners, B.dnsbl_lookups, B.av_reputation)  # fmt: skip
SCENARIOS = ATTACKS + LOOKALIKES


def inject_scenarios(
    w: World, rng: np.random.Generator, day: dt.date, sizes: dict, parts
) -> list[dict]:
    """Add every scenario's rows to `parts` (per type) and return their ground truth."""
    clients = [w.ip_list[int(i)] for i in w.clients]
    agents = np.array(W.COMMON_AGENTS, dtype=object)[w.client_agent]
    people = {"user_of": dict(zip(clients, w.username, strict=True)),
              "agent_of": dict(zip(clients, agents, strict=True))}  # fmt: skip
    today = Day(w, rng, day, sizes, draw_plan(w.seed, rng), people, parts)
    for scenario in SCENARIOS:
        scenario(today)
    return today.truth
