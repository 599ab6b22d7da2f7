"""The evaluation's matching rules (spot_lab.scoring.evaluation) on hand-built frames."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from spot_lab.scoring.evaluation import (
    Anchors,
    evaluate_day,
    judge,
    make_row,
    name_terms,
    threat_rows,
    uri_host,
)
from spot_lab.store.lake import Lake
from spot_lab.store.schema import TABLES

DAY = dt.date(2026, 3, 2)


def truth(name, data_type, *, ips=(), names=(), uris=(), pairs=(), compromised=(), benign=False):
    return {"name": name, "data_type": data_type, "date": str(DAY), "benign": benign,
            "anchors": {"ips": list(ips), "query_names": list(names), "uris": list(uris),
                        "pairs": [list(p) for p in pairs]},
            "compromised_hosts": list(compromised)}  # fmt: skip


TRUTH = [
    truth("c2_beaconing", "flow", ips=["203.0.113.9"], names=["api.evil-cdn.com"],
          compromised=["10.0.0.5"]),
    truth("lateral_movement", "flow", ips=["10.0.0.7"], pairs=[("10.0.0.5", "10.0.0.7")],
          compromised=["10.0.0.5", "10.0.0.7"]),
    truth("dns_tunnelling", "dns", ips=["10.0.0.6"], names=["aGVsbG8.t1.tunnel.co.uk"],
          compromised=["10.0.0.6"]),
    truth("phishing", "proxy", ips=["198.51.100.4"], names=["login-docs.net"],
          uris=["login-docs.net/auth/login.php?x=1"], compromised=["10.0.0.8"]),
    truth("ntp_sync", "flow", ips=["192.0.2.123"], benign=True),
    truth("dnsbl_lookups", "dns", names=["4.3.2.1.zen.spamhaus.org"], benign=True),
]  # fmt: skip


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rank", "entity", "entity_kind", "ips", "names"])


def test_terms_use_the_public_suffix_list():
    assert name_terms("A.B.Tunnel.CO.UK.") == {"a.b.tunnel.co.uk", "tunnel.co.uk"}
    assert name_terms("tunnel.co.uk") == {"tunnel.co.uk"}
    assert name_terms("co.uk") == {"co.uk"}  # a public suffix has no registered domain
    assert name_terms("") == set()
    assert uri_host("login-docs.net/auth/login.php?x=1") == "login-docs.net"
    assert uri_host("https://login-docs.net:8443/a") == "login-docs.net"
    assert uri_host("login-docs.net?x=1") == "login-docs.net"


def test_rows_involve_a_scenario_by_ip_name_or_registered_domain():
    c2, lateral, tunnel, phishing = (Anchors.of(s) for s in TRUTH[:4])
    assert c2.involved_in(make_row(1, ["10.0.0.5", "203.0.113.9"], []))
    assert c2.involved_in(make_row(1, [], ["evil-cdn.com"]))  # the registered domain
    assert c2.involved_in(make_row(1, [], ["other.evil-cdn.com"]))
    assert not c2.involved_in(make_row(1, ["10.0.0.5"], ["cdn.com"]))  # the host alone is not
    assert tunnel.involved_in(make_row(1, [], ["tunnel.co.uk"]))
    assert not tunnel.involved_in(make_row(1, [], ["co.uk"]))  # never a bare public suffix
    assert phishing.involved_in(make_row(1, ["10.0.0.9"], ["login-docs.net"]))
    # a pair scenario needs both ends in one row, not either host
    assert lateral.involved_in(make_row(1, ["10.0.0.7", "10.0.0.5"], []))
    assert not lateral.involved_in(make_row(1, ["10.0.0.7"], []))
    assert not lateral.involved_in(make_row(1, ["10.0.0.5", "10.0.0.9"], []))


def test_judge_ranks_precision_and_benign_look_alikes():
    flow = frame(
        (1, "10.0.0.5", "host", "10.0.0.5 10.0.0.9", ""),  # a compromised host: an attack row
        (2, "10.0.1.2 -> 192.0.2.123", "pair", "10.0.1.2 192.0.2.123", ""),  # NTP: benign
        (3, "10.0.0.5 -> 10.0.0.7", "pair", "10.0.0.5 10.0.0.7", ""),  # lateral movement
        (4, "10.0.3.3", "host", "10.0.3.3", ""),  # nothing
        (60, "evil-cdn.com", "domain", "203.0.113.9", "evil-cdn.com"),  # beyond the top 50
    )  # fmt: skip
    dns = frame((2, "tunnel.co.uk", "domain", "10.0.0.6", "tunnel.co.uk t1.tunnel.co.uk"),
                (1, "spamhaus.org", "domain", "10.0.1.25", "spamhaus.org"))  # fmt: skip
    tops = {"flow": threat_rows(flow, 50), "dns": threat_rows(dns, 50), "proxy": []}
    assert [r.rank for r in tops["flow"]] == [1, 2, 3, 4]
    result = judge(tops, TRUTH)
    by = {s["name"]: s for s in result["scenarios"]}
    assert not by["c2_beaconing"]["found"]  # its own anchors only at rank 60
    assert by["lateral_movement"] == {"name": "lateral_movement", "type": "flow",
                                      "benign": False, "found": True, "rank": 3}  # fmt: skip
    assert by["dns_tunnelling"]["rank"] == 2 and not by["phishing"]["found"]
    assert by["ntp_sync"]["found"] and by["ntp_sync"]["rank"] == 2
    assert by["dnsbl_lookups"]["rank"] == 1
    assert result["precision"] == {"flow": 0.5, "dns": 0.5, "proxy": None}
    # a row that involves an attack too is counted for the attack, not the look-alike
    mixed = threat_rows(
        frame((1, "10.0.0.5 -> 192.0.2.123", "pair", "10.0.0.5 192.0.2.123", "")), 50
    )
    assert not {s["name"]: s for s in judge({"flow": mixed, "dns": [], "proxy": []}, TRUTH)[
        "scenarios"]}["ntp_sync"]["found"]  # fmt: skip


def test_a_threat_is_judged_by_its_entity_not_its_context_columns():
    # google.com's row lists the tunnel client among its clients: it accuses google.com only
    dns = frame((1, "google.com", "domain", "10.0.0.6 10.0.0.9", "google.com"),
                (2, "10.0.0.6", "host", "10.0.0.6", "x.example.com"))  # fmt: skip
    flow = frame((1, "10.0.0.9 -> api.evil-cdn.com", "pair", "10.0.0.9", "api.evil-cdn.com"))
    rows = threat_rows(dns, 50)
    assert [(sorted(r.ips), "google.com" in r.terms) for r in rows[:2]] == [
        ([], True), (["10.0.0.6"], False)]  # fmt: skip
    result = judge({"flow": threat_rows(flow, 50), "dns": rows, "proxy": []}, TRUTH)
    by = {s["name"]: s for s in result["scenarios"]}
    assert by["dns_tunnelling"]["rank"] == 2  # the client's own row, not google.com's
    assert by["c2_beaconing"]["rank"] == 1  # a pair to the C2 name: the name is an end
    assert result["precision"]["dns"] == 0.5


def test_lda_ranking_reads_spots_order_from_a_lake(tmp_path):
    lake = Lake(tmp_path / "lake", create=True)
    (lake.root / "ground_truth.json").write_text(json.dumps({"scenarios": TRUTH}))
    base = {c.name: ("" if c.hive_type == "STRING" else 0) for c in TABLES["dns_scores"].columns}
    scored = pd.DataFrame([
        {**base, "ip_dst": "10.0.1.25", "dns_qry_name": "4.3.2.1.zen.spamhaus.org", "ml_score": 0.2},
        {**base, "ip_dst": "10.0.0.6", "dns_qry_name": "x.tunnel.co.uk", "ml_score": 0.01},
    ])  # fmt: skip
    lake.replace_partition("dns_scores", scored, DAY)
    result = evaluate_day(lake.root, DAY, "lda", k=1)
    by = {s["name"]: s for s in result["scenarios"]}
    assert by["dns_tunnelling"]["rank"] == 1 and not by["dnsbl_lookups"]["found"]
    assert result["precision"]["dns"] == 1.0 and result["rows"] == {"flow": 0, "dns": 1, "proxy": 0}
    with pytest.raises(ValueError, match="unknown ranking"):
        evaluate_day(lake.root, DAY, "random", k=1)
