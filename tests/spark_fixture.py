"""A real HiveServer2 for tests: the Spark Thrift Server from the pyspark package.

`spark_server` (session) starts the JVM with spark-submit (recipe in platform-notes), NOSASL on
a free local port, with a private warehouse and Derby metastore, and kills it by PID at the end.
`spark_engine` (session) registers every table of spot_lab.store.schema over the demo lake's folders
as partitioned external tables in database `spot` and yields a HiveEngine on it.
`register_table(engine, name, location)` registers one more Spot table over another folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import require

JAVA_HOME = os.environ.get("JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
START_TIMEOUT = 300.0  # seconds; the port usually opens in 8-10 s, much later on a loaded machine


@dataclass
class SparkServer:
    host: str
    port: int
    work: Path
    process: subprocess.Popen

    def url(self, database: str = "default") -> str:
        return f"hive://spot@{self.host}:{self.port}/{database}?auth=NOSASL"

    def log_tail(self, lines: int = 30) -> str:
        path = self.work / "server.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _spark_home() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    home = Path(pyspark.__file__).parent
    return home if (home / "bin" / "spark-submit").exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def start_spark_thrift_server(work: Path, port: int | None = None) -> SparkServer:
    """Start the server and wait for its port; raise with the log tail if it dies."""
    home = _spark_home()
    java = Path(JAVA_HOME) / "bin" / "java"
    require(home is not None, "pyspark (with bin/spark-submit)")
    require(java.exists() or shutil.which("java") is not None, "Java 17")
    port = port or _free_port()
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1")
    if java.exists():
        env["JAVA_HOME"] = JAVA_HOME
    command = [
        str(home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--master", "local[2]",
        "--driver-memory", "1g",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.shuffle.partitions=2",
        "--conf", f"spark.sql.warehouse.dir={work / 'warehouse'}",
        "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={work}",
        "--conf",
        "spark.hadoop.javax.jdo.option.ConnectionURL="
        f"jdbc:derby:;databaseName={work / 'metastore_db'};create=true",
        "--hiveconf", f"hive.server2.thrift.port={port}",
        "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
        "--hiveconf", "hive.server2.authentication=NOSASL",
        "--hiveconf", "hive.server2.transport.mode=binary",
        "spark-internal",
    ]  # fmt: skip
    log = open(work / "server.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = SparkServer("127.0.0.1", port, work, process)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not _port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Spark Thrift Server did not start:\n{server.log_tail()}")
            time.sleep(0.5)
    except BaseException:  # a failure or Ctrl-C while waiting: never leave the JVM behind
        stop_spark_thrift_server(server)
        raise
    return server


def stop_spark_thrift_server(server: SparkServer) -> None:
    """spark-submit execs java, so the PID is the JVM: stop exactly that process."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def spark_server(tmp_path_factory):
    server = start_spark_thrift_server(tmp_path_factory.mktemp("spark"))
    try:
        yield server
    finally:
        stop_spark_thrift_server(server)


def register_table(engine, name: str, location: Path | str, database: str = "spot") -> None:
    """Register the Spot table `name` (from spot_lab.store.schema) over `location`, with partitions."""
    from spot_lab.engines.hive import external_table_ddl

    engine._execute(f"DROP TABLE IF EXISTS {database}.{name}", [])
    engine._execute(external_table_ddl(name, str(location), database), [])
    if any(Path(location).iterdir()):  # an empty folder has no partitions to find
        engine._execute(f"ALTER TABLE {database}.{name} RECOVER PARTITIONS", [])


def register_lake(engine, lake_root: Path, empty_dir: Path, database: str = "spot") -> None:
    """Every table of spot_lab.store.schema over a lake; tables without files point at `empty_dir`
    so the lake (shared, read-only) never gains folders."""
    from spot_lab.store.lake import Lake
    from spot_lab.store.schema import TABLES

    lake = Lake(lake_root)
    engine._execute(f"CREATE DATABASE IF NOT EXISTS {database}", [])
    for name, tbl in TABLES.items():
        if lake.has_data(name):
            location: Path = lake.root / tbl.relative_dir()
        else:
            location = empty_dir / name
            location.mkdir(parents=True, exist_ok=True)
        register_table(engine, name, location, database)


@pytest.fixture(scope="session")
def spark_engine(spark_server, demo_lake_path):
    """A HiveEngine on database `spot` holding every Spot table over the demo lake."""
    from spot_lab.engines.hive import HiveEngine

    setup = HiveEngine(spark_server.url("default"), timeout=30)
    setup.progress_after = float("inf")
    try:
        register_lake(setup, demo_lake_path, spark_server.work / "empty-tables")
    finally:
        setup.close()
    engine = HiveEngine(spark_server.url("spot"), timeout=30)
    engine.progress_after = float("inf")  # no progress lines in test output
    yield engine
    engine.close()
