"""Cluster engines: one query suite on DuckDB and on a real Spark Thrift Server (equal results);
Presto/Trino tested up to the wire (no server can run here); unreachable hosts; auth mismatch."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from spot_lab.engines import connections
from spot_lab.engines.cluster_base import ClusterURL, render_pyformat
from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.engines.hive import HiveEngine
from spot_lab.engines.presto import PrestoEngine, TrinoEngine
from spot_lab.engines.registry import open_cluster_engine, open_engine
from spot_lab.engines.sqltools import confine_to_days, parse
from spot_lab.errors import InputError, QueryError
from tests.conftest import DEMO_DAY

# The same canonical SQL (DuckDB dialect, :params) on every engine. ORDER BY covers every
# output column so row order is defined.
SUITE = {
    "flow_filter": (
        "SELECT sip, dip, sport, dport, proto, ibyt FROM flow "
        "WHERE dport = :port AND ibyt > 100 ORDER BY ibyt DESC, sip, dip, sport LIMIT 50",
        {"port": 443},
    ),
    "flow_group": (
        "SELECT sip, COUNT(*) AS n, CAST(SUM(ibyt) AS BIGINT) AS bytes FROM flow "
        "WHERE sip IN (:ips) GROUP BY sip ORDER BY sip",
        {"ips": None},  # filled from the data
    ),
    "flow_hours": (
        "SELECT h, COUNT(*) AS n, MAX(tdur) AS longest FROM flow GROUP BY h ORDER BY h",
        {},
    ),
    "dns_like": (
        "SELECT dns_qry_name, COUNT(*) AS n FROM dns WHERE dns_qry_name LIKE '%.com' "
        "GROUP BY dns_qry_name ORDER BY n DESC, dns_qry_name LIMIT 20",
        {},
    ),
    "dns_types": (
        "SELECT dns_qry_type, dns_qry_rcode, COUNT(*) AS n FROM dns "
        "GROUP BY dns_qry_type, dns_qry_rcode ORDER BY dns_qry_type, dns_qry_rcode",
        {},
    ),
    "proxy_sort": (
        "SELECT clientip, host, respcode, CAST(SUM(scbytes) AS BIGINT) AS down FROM proxy "
        "WHERE m = '11' GROUP BY clientip, host, respcode "
        "ORDER BY down DESC, clientip, host, respcode LIMIT 30",
        {},
    ),
    "join": (
        "SELECT f.sip, COUNT(DISTINCT d.dns_qry_name) AS names FROM flow f "
        "JOIN dns d ON f.sip = d.ip_dst WHERE f.dport = 53 GROUP BY f.sip ORDER BY names DESC, f.sip LIMIT 10",
        {},
    ),
    "injection": (
        "SELECT COUNT(*) AS n FROM flow WHERE sip = :evil",
        {"evil": "'; DROP TABLE flow; --"},
    ),
    "nulls_and_case": (
        "SELECT CASE WHEN dport < 1024 THEN 'low' ELSE 'high' END AS band, COUNT(*) AS n "
        "FROM flow GROUP BY 1 ORDER BY 1",
        {},
    ),
}


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    """Same values, engine-neutral dtypes: numbers as float64, text as object, None for nulls."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            out[name.lower()] = column.astype("float64").round(4).to_numpy()
        else:
            out[name.lower()] = column.astype(object).where(column.notna(), None).to_numpy()
    return pd.DataFrame(out)


def _params(duck: DuckDBEngine, params: dict) -> dict:
    if "ips" in params:
        ips = duck.df("SELECT DISTINCT sip FROM flow ORDER BY sip LIMIT 5")["sip"].tolist()
        return {"ips": ips}
    return params


@pytest.fixture(scope="module")
def duck(demo_lake_path):
    engine = DuckDBEngine(demo_lake_path)
    yield engine
    engine.close()


@pytest.mark.spark
@pytest.mark.parametrize("name", sorted(SUITE))
def test_suite_is_equal_on_duckdb_and_spark(name, duck, spark_engine):
    sql, params = SUITE[name]
    params = _params(duck, params)
    expected = duck.df(sql, params)
    actual = spark_engine.df(sql, params)
    assert len(expected) > 0
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(_normal(actual), _normal(expected), check_exact=False)


@pytest.mark.spark
def test_confined_queries_are_equal_and_prune(duck, spark_engine):
    sql = "SELECT proto, COUNT(*) AS n FROM flow WHERE ibyt > :b GROUP BY proto ORDER BY proto"
    for first, last, nonempty in (
        (DEMO_DAY, DEMO_DAY, True),
        (DEMO_DAY.replace(day=1), DEMO_DAY.replace(day=2), False),
    ):
        text = confine_to_days(parse(sql)[0], first, last).sql("duckdb")
        expected, actual = duck.df(text, {"b": 10}), spark_engine.df(text, {"b": 10})
        assert (len(expected) > 0) == nonempty
        pd.testing.assert_frame_equal(_normal(actual), _normal(expected))
    proxy = confine_to_days(parse("SELECT COUNT(*) AS n FROM proxy")[0], DEMO_DAY, DEMO_DAY)
    spark_engine._execute("SET spark.sql.maxMetadataStringLength=10000", [])  # untruncated plan
    plan = spark_engine._execute("EXPLAIN " + proxy.sql("spark"), []).column(0)[0].as_py()
    day = DEMO_DAY.day
    assert re.search(rf"PartitionFilters: \[[^\]]*\(d#\d+ = {day}\)", plan), plan


@pytest.mark.spark
def test_arrow_types_from_hiveserver2(spark_engine):
    table = spark_engine.arrow("SELECT sip, sport, ibyt, tdur, h, y FROM flow LIMIT 3")
    types = {f.name: str(f.type) for f in table.schema}
    assert types == {
        "sip": "string",
        "sport": "int32",
        "ibyt": "int64",
        "tdur": "float",
        "h": "int8",
        "y": "int16",
    }
    nulls = spark_engine.arrow("SELECT CAST(NULL AS INT) AS a, CAST(NULL AS STRING) AS b, 1 AS c")
    assert nulls.to_pylist() == [{"a": None, "b": None, "c": 1}]


@pytest.mark.spark
def test_errors_are_one_line_and_name_engine_and_statement(spark_engine):
    with pytest.raises(QueryError) as info:
        spark_engine.df("SELECT nosuchcolumn FROM flow")
    message = str(info.value)
    assert message.startswith("hive error:") and "nosuchcolumn" in message
    assert "[in: SELECT nosuchcolumn FROM flow]" in message and "\n" not in message
    assert "HiveSQLException" not in message
    assert spark_engine.df("SELECT 1 AS ok")["ok"][0] == 1  # the session is still usable


@pytest.mark.spark
def test_interrupt_cancels_the_query_on_the_server(spark_engine):
    seen: list[str] = []

    def interrupt_on_second_poll(kind, state, elapsed, done):
        seen.append(state)
        if len(seen) == 2:
            raise KeyboardInterrupt  # what Ctrl-C / the Lab stop button raises in the kernel

    spark_engine.progress, spark_engine.progress_after = interrupt_on_second_poll, 0.0
    try:
        with pytest.raises(KeyboardInterrupt):
            spark_engine.arrow(
                "SELECT COUNT(*) AS n FROM flow a CROSS JOIN flow b WHERE a.ibyt + b.ibyt = 7"
            )
    finally:
        spark_engine.progress_after = float("inf")
    assert seen[0] in ("RUNNING", "PENDING", "INITIALIZED")
    assert spark_engine.last_state == "CANCELED"
    assert spark_engine.df("SELECT COUNT(*) AS n FROM dns")["n"][0] > 0


@pytest.mark.spark
def test_spotquery_on_spark_equals_duckdb(spark_server, spark_engine, demo_lake_path, monkeypatch):
    monkeypatch.setenv("SPOT_LAB_LAKE", str(demo_lake_path))
    monkeypatch.setattr(connections, "_session", None)
    ip = InteractiveShell()
    try:
        ip.run_line_magic("load_ext", "spot_lab")
        ip.user_ns["port"] = 53
        cell = "SELECT sip, COUNT(*) AS n FROM flow WHERE dport = :port GROUP BY sip ORDER BY n DESC, sip LIMIT 10"
        line = f"--date {DEMO_DAY}"
        local = ip.run_cell_magic("spotquery", f"local {line}", cell)
        ip.run_line_magic("spot_connect", f"{spark_server.url('spot')} --alias spark")
        remote = ip.run_cell_magic("spotquery", f"remote {line}", cell)
        assert "on hive" in repr(remote)
        pd.testing.assert_frame_equal(_normal(remote), _normal(local))
        assert len(local) == 10
        engine = connections.session().get("spark")
        engine.progress_after = 0.0
        engine.progress = lambda *_: (_ for _ in ()).throw(KeyboardInterrupt)  # Ctrl-C mid-poll
        result = ip.run_cell(
            "%%spotquery\nSELECT COUNT(*) AS n FROM flow a CROSS JOIN flow b WHERE a.ibyt + b.ibyt = 7"
        )
        assert str(result.error_in_exec) == "hive query interrupted and cancelled on the server"
        assert engine.last_state == "CANCELED"
    finally:
        connections.session().close_all()
        InteractiveShell.clear_instance()


@pytest.mark.spark
def test_auth_mismatch_is_explained(spark_server):
    with pytest.raises(QueryError, match="authentication mode is not auth=NONE"):
        HiveEngine(f"hive://spot@127.0.0.1:{spark_server.port}/spot?auth=NONE", timeout=30)


# ---- no server needed ----------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


@pytest.mark.parametrize("scheme", ["hive", "presto", "trino"])
def test_closed_port_fails_with_what_to_check(scheme):
    port = _closed_port()
    with pytest.raises(QueryError, match=f"cannot reach {scheme} .*127.0.0.1:{port}") as info:
        open_engine(f"{scheme}://127.0.0.1:{port}/spot", timeout=2)
    assert "\n" not in str(info.value)


def test_silent_server_fails_at_the_timeout():
    """A port that accepts but never answers (a firewall, a wrong service) is bounded."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(QueryError, match="did not answer within 0.5 s"):
            HiveEngine(f"hive://127.0.0.1:{port}/spot?auth=NOSASL", timeout=0.5)


def test_kernel_stays_usable_after_an_unreachable_engine(monkeypatch, demo_lake_path, capsys):
    monkeypatch.setenv("SPOT_LAB_LAKE", str(demo_lake_path))
    monkeypatch.setattr(connections, "_session", None)
    ip = InteractiveShell()
    try:
        ip.run_line_magic("load_ext", "spot_lab")
        ip.run_line_magic("config", "SpotLab.timeout = 1")
        result = ip.run_cell(f"%spot_connect hive://127.0.0.1:{_closed_port()}/spot --alias dead")
        assert "cannot reach hive" in str(result.error_in_exec)
        assert "Traceback" not in capsys.readouterr().out
        assert ip.run_cell_magic("spotquery", "", "SELECT COUNT(*) AS n FROM dns")["n"][0] > 0
    finally:
        connections.session().close_all()
        InteractiveShell.clear_instance()


def test_url_parsing():
    url = ClusterURL.parse("hive://ana%40corp:s3cret@gw.example.org:10001/spot?auth=LDAP")
    assert (url.scheme, url.host, url.port, url.user, url.path) == (
        "hive",
        "gw.example.org",
        10001,
        "ana@corp",
        ["spot"],
    )
    assert url.options == {"auth": "LDAP", "password": "s3cret"}
    assert ClusterURL.parse("trino://h/hive/spot").port == 8080
    assert ClusterURL.parse("hive://h").port == 10000
    for bad, expected in {
        "mysql://h/db": "unsupported URL scheme",
        "hive:///spot": "no host",
        "hive://h:port/spot": "bad port",
    }.items():
        with pytest.raises(InputError, match=expected):
            ClusterURL.parse(bad)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("hive://h/spot?auth=PAM", "auth=PAM unknown"),
        ("hive://h/spot?auth=LDAP", "needs a password"),
        ("hive://h/spot?auth=KERBEROS", "kerberos_service_name"),
        ("hive://h/spot?dialect=mysql", "dialect=mysql unknown"),
        ("hive://h/spot?colour=red", r"unknown option\(s\) colour"),
        ("hive://h/a/b", "one database"),
        ("presto://h/hive/spot?password=x", "only over https"),
        ("trino://h/a/b/c", "catalog/schema"),
        ("presto://h/hive?protocol=ftp", "protocol=ftp"),
    ],
)
def test_bad_cluster_urls(url, expected):
    with pytest.raises(InputError, match=expected):
        open_cluster_engine(url, timeout=1)


class _FakeCoordinator(BaseHTTPRequestHandler):
    """Speaks just enough of the Presto/Trino REST protocol to capture what PyHive sends."""

    requests: list[dict] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # /v1/info
        self._reply({"nodeVersion": {"version": "test"}, "coordinator": True})

    def do_POST(self):  # /v1/statement
        sql = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.requests.append({"sql": sql, "headers": dict(self.headers)})
        self._reply(
            {
                "id": "q1",
                "columns": [{"name": "sip", "type": "varchar"}, {"name": "n", "type": "bigint"}],
                "data": [["10.0.0.1", 3], ["10.0.0.2", None]],
                "stats": {"state": "FINISHED"},
            }
        )


@pytest.fixture()
def coordinator():
    _FakeCoordinator.requests = []
    server = HTTPServer(("127.0.0.1", 0), _FakeCoordinator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _FakeCoordinator.requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("engine_class", "header"), [(PrestoEngine, "X-Presto"), (TrinoEngine, "X-Trino")]
)
def test_presto_and_trino_up_to_the_wire(coordinator, engine_class, header):
    port, seen = coordinator
    scheme = engine_class.kind
    engine = engine_class(f"{scheme}://analyst@127.0.0.1:{port}/hive/spot?source=nb", timeout=5)
    assert engine.connect_args() == {
        "host": "127.0.0.1",
        "port": port,
        "username": "analyst",
        "catalog": "hive",
        "schema": "spot",
        "protocol": "http",
        "source": "nb",
        "poll_interval": 0.2,
        "requests_kwargs": {"timeout": 5.0},
    }
    sql = "SELECT sip, COUNT(*) AS n FROM flow WHERE sip LIKE '10.%' AND dip = :ip AND dport IN (:ports) GROUP BY sip"
    confined = confine_to_days(parse(sql)[0], DEMO_DAY, DEMO_DAY).sql("duckdb")
    table = engine.arrow(confined, {"ip": "1.2.3.4' OR '1'='1", "ports": [80, 443]})
    assert table.to_pylist() == [{"sip": "10.0.0.1", "n": 3}, {"sip": "10.0.0.2", "n": None}]
    sent = seen[-1]
    assert (
        sent["headers"][f"{header}-Catalog"] == "hive"
        and sent["headers"][f"{header}-Schema"] == "spot"
    )
    assert sent["headers"][f"{header}-User"] == "analyst"
    assert "LIKE '10.%'" in sent["sql"]  # the doubled % came back as one
    assert "dip = '1.2.3.4'' OR ''1''=''1'" in sent["sql"]  # the driver's escaping: quotes doubled
    assert "dport IN (80, 443)" in sent["sql"] and "d = 28" in sent["sql"]


def test_generated_sql_per_dialect():
    sql = "SELECT sip, to_timestamp(unix_tstamp) AS t FROM flow WHERE sip = :ip LIMIT 3"
    texts = {
        d: render_pyformat(sql, {"ip": "x"}, d)[0] for d in ("presto", "trino", "spark", "hive")
    }
    assert texts["presto"] == texts["trino"]
    assert "FROM_UNIXTIME(unix_tstamp)" in texts["trino"] and "sip = %s" in texts["trino"]
    assert "CAST(FROM_UNIXTIME(unix_tstamp) AS TIMESTAMP)" in texts["spark"]
    assert texts["spark"].endswith("LIMIT 3")
