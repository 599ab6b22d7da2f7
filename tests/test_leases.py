"""Who held an IP when: DHCP leases from Zeek's dhcp.log and DNS PTR answers (item 11)."""

from __future__ import annotations

import json

import pytest

from spot_lab.enrich.leases import host_at, host_names
from spot_lab.errors import InputError
from spot_lab.ingest import ingest
from tests.ingest_support import SENSORS, ZEEK, table

DAY = "2026-11-28"


def _dhcp(path):
    """A Zeek 3+ dhcp.log (JSON): 10.0.30.12 goes from alice's laptop to bob's phone; a
    renewal of alice's lease arrives without a host name (same MAC)."""
    rows = [
        {"ts": 1795856400.0, "uids": ["Ca1"], "client_addr": "10.0.30.12", "server_addr": "10.0.1.1",
         "mac": "aa:bb:cc:00:00:01", "host_name": "alice-laptop", "domain": "corp.example",
         "assigned_addr": "10.0.30.12", "lease_time": 1800.0, "msg_types": ["DISCOVER", "OFFER", "REQUEST", "ACK"]},
        {"ts": 1795858200.0, "uids": ["Ca2"], "client_addr": "10.0.30.12", "mac": "aa:bb:cc:00:00:01",
         "assigned_addr": "10.0.30.12", "lease_time": 1800.0, "msg_types": ["REQUEST", "ACK"]},
        {"ts": 1795861800.0, "uids": ["Cb1"], "mac": "aa:bb:cc:00:00:02", "host_name": "bob-phone",
         "assigned_addr": "10.0.30.12", "lease_time": 4294967295.0, "msg_types": ["REQUEST", "ACK"]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def lake(tmp_path):
    root = tmp_path / "lake"
    report = ingest([_dhcp(tmp_path / "dhcp.log"), SENSORS / "eve.json", ZEEK / "json/dhcp.log"],
                    root, progress=False)  # fmt: skip
    assert report.rejected == 0 and report.rows["ip_leases"] == 4
    return root


def test_leases_are_stored_with_their_span(lake):
    rows = table(lake, "SELECT ip, host_name, mac, start_tstamp, end_tstamp FROM ip_leases "
                       "WHERE ip = '10.0.30.12' ORDER BY start_tstamp").to_pylist()  # fmt: skip
    assert [(r["host_name"], r["end_tstamp"]) for r in rows] == [
        ("alice-laptop", 1795858200),
        (None, 1795860000),
        ("bob-phone", None),
    ]  # infinite: open


def test_the_host_that_held_an_ip_at_a_time(lake):
    ip = "10.0.30.12"
    assert host_at(lake, ip, f"{DAY} 09:10:00") == "alice-laptop"
    assert (
        host_at(lake, ip, f"{DAY} 09:45:00") == "alice-laptop"
    )  # the renewal borrows the MAC's name
    # 10:00-10:30 no lease: the PTR answer seen at 10:03:30 (Suricata's EVE) names it
    assert host_at(lake, ip, f"{DAY} 10:15:00") == "vpn-laptop-12.corp.example"
    assert host_at(lake, ip, f"{DAY} 10:45:00") == "bob-phone"  # a lease wins over the PTR answer
    assert host_at(lake, ip, f"{DAY} 08:59:59") is None  # before anything was seen
    assert host_at(lake, "10.18.20.97", "2019-12-03 23:10:00") == "Juanita-Work-PC"  # zat's sample


def test_many_pairs_in_one_call_keep_their_order(lake):
    ips = ["10.0.30.12", "10.0.30.12", "10.9.9.9", "10.0.30.12"]
    times = [1795857000, f"{DAY}T10:45:00Z", 1795857000, "2026-11-29 12:00:00"]
    assert host_names(lake, ips, times) == ["alice-laptop", "bob-phone", None, "bob-phone"]


def test_bad_times_are_one_line_errors(lake):
    with pytest.raises(InputError, match="not a time"):
        host_at(lake, "10.0.30.12", "yesterday-ish")
