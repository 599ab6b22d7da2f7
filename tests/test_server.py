"""The Jupyter server extension's REST API, through a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.flagged_rows import write_flagged
from tests.support import immutable, snapshot

pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO = Path(__file__).resolve().parent.parent
DAY = DEMO_DAY.isoformat()


@pytest.fixture()
def flagged(lake_copy) -> Path:
    write_flagged(lake_copy, DEMO_DAY, limit=200)
    return lake_copy


@pytest.fixture()
def jp_server_config(flagged):
    # The lake comes from the server's own config (c.SpotLab.lake), as a deployment sets it.
    return {
        "ServerApp": {"jpserver_extensions": {"spot_lab": True}},
        "SpotLab": {"lake": str(flagged)},
    }


async def get_json(jp_fetch, endpoint: str, **params):
    response = await jp_fetch("spot-lab", "api", endpoint, params=params)
    assert response.code == 200
    return json.loads(response.body)


async def post_json(jp_fetch, endpoint: str, body):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = await jp_fetch("spot-lab", "api", endpoint, method="POST", body=data)
    return json.loads(response.body)


async def refused(jp_fetch, endpoint: str, *, method="GET", body=None, params=None):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("spot-lab", "api", endpoint, method=method, body=body, params=params)
    answer = json.loads(info.value.response.body) if info.value.response.body else {}
    return info.value.code, answer


# ---- authentication and XSRF --------------------------------------------------------------
async def test_unauthenticated_requests_are_refused(jp_fetch, flagged):
    methods = {
        "threats": {"GET"},
        "dates": {"GET"},
        "score": {"POST"},
        "storyboard": {"GET", "POST"},
    }
    before = snapshot(flagged)
    for endpoint, allowed in methods.items():
        for method, body in (("GET", None), ("POST", json.dumps({"type": "flow"}))):
            with pytest.raises(HTTPClientError) as info:
                await jp_fetch(
                    "spot-lab", "api", endpoint, method=method, body=body,
                    headers={"Authorization": ""},
                )  # fmt: skip
            # refused before any handler code runs: 403, or 405 for a method it lacks
            assert info.value.code in ((403,) if method in allowed else (403, 405)), endpoint
    assert snapshot(flagged) == before


async def _login_cookies(jp_fetch, jp_serverapp) -> dict[str, str]:
    """Log in as a browser does (the token once in the URL) and keep the cookies."""
    token = jp_serverapp.identity_provider.token
    response = await jp_fetch(
        "spot-lab", "api", "dates", params={"token": token}, headers={"Authorization": ""}
    )
    jar = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    return {k: v.value for k, v in jar.items()}


async def test_cookie_post_without_xsrf_is_refused_and_with_it_accepted(
    jp_fetch, jp_serverapp, flagged
):
    cookies = await _login_cookies(jp_fetch, jp_serverapp)
    assert cookies, "the token in the URL logs the browser in with a cookie"
    cookies["_xsrf"] = secrets.token_hex(16)  # the double-submit cookie a Lab page sets
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    anchor = Lake(flagged).read_partition("proxy_scores", DEMO_DAY)["fulluri"][0].as_py()
    body = json.dumps({"type": "proxy", "date": DAY, "anchor": anchor, "severity": 1})
    before = snapshot(flagged)
    for endpoint in ("score", "storyboard"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(
                "spot-lab",
                "api",
                endpoint,
                method="POST",
                body=body,
                headers={"Authorization": "", "Cookie": cookie},
            )
        assert info.value.code == 403
    assert snapshot(flagged) == before
    # The same browser session with the XSRF token (as ServerConnection sends it) is accepted.
    response = await jp_fetch(
        "spot-lab",
        "api",
        "score",
        method="POST",
        body=body,
        headers={"Authorization": "", "Cookie": cookie, "X-XSRFToken": cookies["_xsrf"]},
    )
    assert json.loads(response.body)["written"] >= 1


# ---- threats --------------------------------------------------------------------------------
async def test_threats_page_is_ranked_with_totals(jp_fetch):
    page = await get_json(jp_fetch, "threats", type="flow", date=DAY, page="2", page_size="20")
    assert (page["total"], page["matched"], page["pages"], page["page"]) == (200, 200, 10, 2)
    assert [r["rank"] for r in page["rows"]] == list(range(20, 40))
    row = page["rows"][0]
    assert set(row) >= {"rank", "anchor", "score", "scope", "country", "severity"}
    assert row["scope"] in ("internal", "external")
    assert any(r["country"] for r in page["rows"] if r["scope"] == "external")
    last = await get_json(jp_fetch, "threats", type="flow", date=DAY, page="10", page_size="20")
    assert len(last["rows"]) == 20
    beyond = await get_json(jp_fetch, "threats", type="flow", date=DAY, page="11", page_size="20")
    assert beyond["rows"] == [] and beyond["total"] == 200


SEARCHED = {
    "flow": ("srcip", "dstip"),
    "dns": ("dns_qry_name", "ip_dst"),
    "proxy": ("fulluri", "clientip", "host"),
}


@pytest.mark.parametrize("data_type", ["flow", "dns", "proxy"])
async def test_threats_search_binds_the_text_as_a_like_value(jp_fetch, flagged, data_type):
    first = (await get_json(jp_fetch, "threats", type=data_type, date=DAY))["rows"][0]
    needle = first["anchor"][:12]
    found = await get_json(jp_fetch, "threats", type=data_type, date=DAY, q=needle.upper())
    assert 0 < found["matched"] <= found["total"] == 200
    assert all(
        needle.lower() in (r["anchor"] + " " + r["peer"] + " " + r["detail"]).lower()
        for r in found["rows"]
    )
    # LIKE's own characters and SQL fragments match only literally
    fields = SEARCHED[data_type]
    rows = Lake(flagged).read_partition(f"{data_type}_scores", DEMO_DAY).to_pylist()
    before = snapshot(flagged)
    for hostile in ("' OR '1'='1", "%", "_", "\\", "'; DROP TABLE flow_scores; --"):
        page = await get_json(jp_fetch, "threats", type=data_type, date=DAY, q=hostile)
        literal = sum(any(hostile in (r[f] or "").lower() for f in fields) for r in rows)
        assert page["matched"] == literal < 200 and page["total"] == 200, hostile
    assert snapshot(flagged) == before


async def test_threats_of_a_day_without_scores_is_an_empty_page(jp_fetch):
    page = await get_json(jp_fetch, "threats", type="dns", date="2026-01-01")
    assert (page["total"], page["rows"], page["pages"]) == (0, [], 1)


BAD_THREATS = [
    ({"type": "netflow", "date": DAY}, "unknown data type"),
    ({"type": "flow' OR 1=1", "date": DAY}, "unknown data type"),
    ({"type": "flow", "date": "2026-13-01"}, "YYYY-MM-DD"),
    ({"type": "flow", "date": "'; DROP TABLE x; --"}, "YYYY-MM-DD"),
    ({"type": "flow"}, "YYYY-MM-DD"),
    ({"type": "flow", "date": DAY, "page": "0"}, "bad page"),
    ({"type": "flow", "date": DAY, "page": "two"}, "bad page"),
    ({"type": "flow", "date": DAY, "page": "1 OR 1=1"}, "bad page"),
    ({"type": "flow", "date": DAY, "page_size": "100000"}, "at most 500"),
    ({"type": "flow", "date": DAY, "q": "x" * 201}, "too long"),
]


async def test_threats_bad_parameters_get_400_with_a_message(jp_fetch):
    for params, message in BAD_THREATS:
        code, answer = await refused(jp_fetch, "threats", params=params)
        assert code == 400, params
        assert message in answer["error"] and answer["reason"] == "input", params


# ---- dates ----------------------------------------------------------------------------------
async def test_dates_lists_raw_and_scored_days_per_type(jp_fetch, flagged):
    answer = await get_json(jp_fetch, "dates")
    for data_type in ("flow", "dns", "proxy"):
        assert answer["types"][data_type] == {"raw": [DAY], "scored": [DAY]}
        assert answer["latest"][data_type] == DAY


# ---- score ----------------------------------------------------------------------------------
async def test_score_writes_and_the_list_shows_it(jp_fetch, flagged):
    first = (await get_json(jp_fetch, "threats", type="flow", date=DAY))["rows"][0]
    answer = await post_json(
        jp_fetch, "score", {"type": "flow", "date": DAY, "anchor": first["anchor"], "severity": 1}
    )
    assert answer["written"] >= 1 and answer["severity"] == 1
    page = await get_json(jp_fetch, "threats", type="flow", date=DAY)
    assert page["rows"][0]["severity"] == 1
    assert page["scored"] == answer["written"]
    rows = Lake(flagged).read_partition("flow_threat_investigation", DEMO_DAY)
    assert rows.num_rows == answer["written"]


BAD_SCORES = [
    ({"type": "flow", "date": DAY, "anchor": "ANCHOR", "severity": 0}, "severity"),
    ({"type": "flow", "date": DAY, "anchor": "ANCHOR", "severity": 4}, "severity"),
    ({"type": "flow", "date": DAY, "anchor": "ANCHOR", "severity": "High"}, "severity"),
    ({"type": "flow", "date": DAY, "anchor": "ANCHOR"}, "severity"),
    ({"type": "flow", "date": DAY, "anchor": "203.0.113.250", "severity": 1}, "no flagged"),
    ({"type": "flow", "date": DAY, "anchor": "' OR 1=1 --", "severity": 1}, "no flagged"),
    ({"type": "proxy", "date": DAY, "anchor": "%", "severity": 1}, "no flagged"),
    ({"type": "flow", "date": "2026-11-31", "anchor": "ANCHOR", "severity": 1}, "YYYY-MM-DD"),
    ({"type": "http", "date": DAY, "anchor": "ANCHOR", "severity": 1}, "unknown data type"),
    ({"type": "flow", "date": DAY, "anchor": "", "severity": 1}, "anchor"),
    ({"type": "flow", "date": DAY, "anchor": ["ANCHOR"], "severity": 1}, "anchor"),
    ("not json", "JSON"),
    ([1, 2], "JSON object"),
]


async def test_bad_scores_get_400_and_write_nothing(jp_fetch, flagged):
    anchor = Lake(flagged).read_partition("flow_scores", DEMO_DAY)["srcip"][0].as_py()
    before = snapshot(flagged)
    for body, message in BAD_SCORES:
        if isinstance(body, dict):
            body = {k: (anchor if v == "ANCHOR" else v) for k, v in body.items()}
        data = body if isinstance(body, str) else json.dumps(body)
        code, answer = await refused(jp_fetch, "score", method="POST", body=data)
        assert code == 400 and message in answer["error"], body
    assert snapshot(flagged) == before


_KERNEL = textwrap.dedent(
    """
    import sys
    from spot_lab.investigation import analyst
    root, day, *anchors = sys.argv[1:]
    for anchor in anchors:
        analyst.record_score(root, "proxy", day, anchor, 3)
    """
)


async def test_server_and_kernel_scoring_at_once_keep_every_score(jp_fetch, flagged):
    uris = Lake(flagged).read_partition("proxy_scores", DEMO_DAY)["fulluri"].to_pylist()
    uris = list(dict.fromkeys(uris))
    server_uris, kernel_uris = uris[0:24:2], uris[1:24:2]
    kernel = subprocess.Popen(
        [sys.executable, "-c", _KERNEL, str(flagged), DAY, *kernel_uris], cwd=REPO
    )
    for uri in server_uris:
        await post_json(
            jp_fetch, "score", {"type": "proxy", "date": DAY, "anchor": uri, "severity": 1}
        )
    assert kernel.wait(timeout=120) == 0
    rows = Lake(flagged).read_partition("proxy_threat_investigation", DEMO_DAY).to_pylist()
    got = {r["fulluri"]: r["uri_sev"] for r in rows}
    assert got == {**{u: 1 for u in server_uris}, **{u: 3 for u in kernel_uris}}


# ---- storyboard -----------------------------------------------------------------------------
async def test_storyboard_round_trip(jp_fetch):
    empty = await get_json(jp_fetch, "storyboard", type="flow", date=DAY, anchor="198.51.100.9")
    assert empty["title"] is None
    saved = await post_json(
        jp_fetch,
        "storyboard",
        {"type": "flow", "date": DAY, "anchor": "198.51.100.9", "title": "C2", "text": "x'; --"},
    )
    assert saved["saved"] is True
    story = await get_json(jp_fetch, "storyboard", type="flow", date=DAY, anchor="198.51.100.9")
    assert (story["title"], story["text"]) == ("C2", "x'; --")


BAD_STORIES = [
    ("GET", {"type": "flow", "date": DAY}, "anchor"),
    ("GET", {"type": "x", "date": DAY, "anchor": "1.2.3.4"}, "unknown data type"),
    ("GET", {"type": "flow", "date": "yesterday", "anchor": "1.2.3.4"}, "YYYY-MM-DD"),
    ("POST", {"type": "flow", "date": DAY, "anchor": "1.2.3.4", "title": ""}, "title"),
    ("POST", {"type": "flow", "date": "2026/11/28", "anchor": "1.2.3.4", "title": "t"}, "YYYY"),
]


async def test_storyboard_bad_input_gets_400(jp_fetch, flagged):
    before = snapshot(flagged)
    for method, payload, message in BAD_STORIES:
        if method == "GET":
            code, answer = await refused(jp_fetch, "storyboard", params=payload)
        else:
            body = json.dumps(payload)
            code, answer = await refused(jp_fetch, "storyboard", method="POST", body=body)
        assert code == 400 and message in answer["error"], payload
    assert snapshot(flagged) == before


# ---- no lake --------------------------------------------------------------------------------
class TestWithoutLake:
    @pytest.fixture()
    def jp_server_config(self, tmp_path):
        return {
            "ServerApp": {"jpserver_extensions": {"spot_lab": True}},
            "SpotLab": {"lake": str(tmp_path / "missing")},
        }

    async def test_missing_lake_answers_503_saying_how_to_make_one(self, jp_fetch):
        code, answer = await refused(jp_fetch, "threats", params={"type": "flow", "date": DAY})
        assert code == 503 and answer["reason"] == "lake"
        assert "spot-lab generate" in answer["error"]
        code, answer = await refused(jp_fetch, "dates")
        assert code == 503 and "SPOT_LAB_LAKE" in answer["error"]


# ---- a read-only lake (tests/test_faults.py has the other writers) ------------------------
async def test_server_writes_on_an_immutable_lake_answer_409(jp_fetch, flagged):
    anchor = Lake(flagged).read_partition("flow_scores", DEMO_DAY)["srcip"][0].as_py()
    bodies = {
        "score": {"type": "flow", "date": DAY, "anchor": anchor, "severity": 1},
        "storyboard": {"type": "flow", "date": DAY, "anchor": anchor, "title": "t", "text": "x"},
    }
    before = snapshot(flagged)
    with immutable(flagged):
        for endpoint, body in bodies.items():
            with pytest.raises(HTTPClientError) as info:
                await jp_fetch("spot-lab", "api", endpoint, method="POST", body=json.dumps(body))
            answer = json.loads(info.value.response.body)
            assert info.value.code == 409 and answer["reason"] == "write", answer
            assert "read-only" in answer["error"] and "nothing was changed" in answer["error"]
    assert snapshot(flagged) == before


# ---- the cell the sidebar inserts reaches %spot_threat intact ---------------------------------
ANCHORS = [
    "10.0.0.5",
    "evil-c2.example.net",
    "http://x.example/a/b.php?id=1&q={a}",
    "a b'c$b{a}",
    "$HOME",
    "x'$b'",
    "' OR 1=1 --",
    'a"b\\c$$b',
    "100%_x",
    "evil.example/a b<script>x</script>",  # flagged proxy URIs keep spaces and <
    'http://evil.example/p?q="{x}" $y',
]


def test_sidebar_cell_text_round_trips_through_ipython(tmp_path):
    """The TypeScript quoting (lib/logic.js) against IPython's real expansion and parser."""
    import shutil

    from IPython.core.interactiveshell import InteractiveShell

    from spot_lab.investigation.anchors import classify
    from spot_lab.magics import SpotLabMagics, _expanded, _split, _threat_parser
    from tests.support import require

    logic = REPO / "lib" / "logic.js"
    require(
        shutil.which("node") is not None and logic.is_file(), "node and lib/logic.js (jlpm build)"
    )
    module = tmp_path / "logic.mjs"
    module.write_text(logic.read_text())
    script = (
        f"import {{ cellSource }} from {json.dumps(str(module))};\n"
        f"const anchors = {json.dumps(ANCHORS)};\n"
        "console.log(JSON.stringify(anchors.map(a => cellSource(a, 'proxy', '2026-11-28', false))));\n"
    )
    (tmp_path / "run.mjs").write_text(script)
    out = subprocess.run(["node", str(tmp_path / "run.mjs")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    shell = InteractiveShell.instance()
    shell.user_ns.update(a="AY", b="BEE", HOME="/root")  # names the anchors could expand
    for anchor, cell in zip(ANCHORS, json.loads(out.stdout), strict=True):
        first, line = cell.split("\n")
        assert first == "%load_ext spot_lab"
        assert line.startswith("%spot_threat ")
        # the magic's own expansion (IPython's is skipped: @no_var_expand), then shlex
        magics = SpotLabMagics(shell)
        words = _split(_expanded(magics, line[len("%spot_threat ") :], {}))
        args = _threat_parser().parse_args(words)
        assert (args.anchor, args.type, args.date) == (anchor, "proxy", "2026-11-28")
        if "evil.example/" in anchor:  # flagged URIs are anchors %spot_threat takes
            assert classify(args.anchor, "proxy").kind == "uri"


def test_scope_follows_the_user_domain_label_and_internal_ranges(tmp_path):
    import pyarrow as pa

    from spot_lab.enrich.netcontext import InternalRanges
    from spot_lab.server import threats

    none = InternalRanges()  # private and special ranges only

    dns = pa.table(
        {
            "rank": [0, 1],
            "dns_qry_name": ["mail.Acme.com", "acmex.com"],
            "ip_dst": ["10.0.0.1", "10.0.0.2"],
            "frame_time": ["t", "t"],
            "ml_score": [0.1, 0.2],
            "tld": ["com", "com"],
            "dns_sev": [None, None],
            "ip_sev": [None, None],
        }
    )
    assert [r["scope"] for r in threats._dns_rows(dns, "acme")] == ["internal", "external"]
    assert [r["scope"] for r in threats._dns_rows(dns, "")] == ["external", "external"]
    hosts = ["wiki.acme.org:8080", "192.168.1.5", "8.8.8.8:443", "example.com"]
    n = len(hosts)
    proxy = pa.table(
        {
            "rank": list(range(n)),
            "fulluri": [f"http://{h}/" for h in hosts],
            "clientip": ["10.0.0.9"] * n,
            "tdate": ["2026-11-28"] * n,
            "time": ["00:00:00"] * n,
            "ml_score": [0.1] * n,
            "host": hosts,
            "sev": [None] * n,
        }
    )
    rows = threats._proxy_rows(proxy, "acme", none)
    assert [r["scope"] for r in rows] == ["internal", "internal", "external", "external"]
    assert [r["external_ip"] for r in rows] == [None, None, "8.8.8.8", None]
    # a public block the site declares its own (Spot's ipranges.csv) is internal too
    (tmp_path / "ipranges.csv").write_text("8.8.8.0,8.8.8.255,lab\n")
    ours = InternalRanges.from_csv(tmp_path / "ipranges.csv")
    rows = threats._proxy_rows(proxy, "acme", ours)
    assert [r["scope"] for r in rows] == ["internal", "internal", "internal", "external"]
    assert [r["external_ip"] for r in rows] == [None, None, None, None]
