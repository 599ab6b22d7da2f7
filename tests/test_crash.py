"""Analyst writes under SIGKILL: a kernel-like writer (record_score in a loop) and a real
Jupyter server (POST /score) share one lake; both are killed at random moments and
restarted, and every write not acknowledged is retried, as a user would retry.

Asserted at the end: every acknowledged score is in `flow_threat_investigation` exactly
once per flow (no key twice); the feedback file has one row per event, for exactly the
events of the acknowledged scores (a retry never doubles a row, which DUPFACTOR would
multiply in training); no `.partial` file is left after the lake is opened again; every
parquet file is whole.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow.compute as pc
import pytest

from spot_lab.investigation import analyst
from spot_lab.scoring.feedback import feedback_path, read_feedback
from spot_lab.store.lake import Lake
from tests.conftest import DEMO_DAY
from tests.flagged_rows import write_flagged

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
DAY = DEMO_DAY.isoformat()
KERNEL_KILLS = 8
SERVER_KILLS = 3

KERNEL_WRITER = """
    import sys
    from spot_lab.investigation import analyst
    root, day, todo = sys.argv[1], sys.argv[2], sys.argv[3]
    writes = [line.split() for line in open(todo).read().splitlines()]
    print("ready", flush=True)
    for index, anchor, severity in writes:
        analyst.record_score(root, "flow", day, anchor, int(severity))
        print("ack", index, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _anchors(lake: Path) -> list[str]:
    scores = Lake(lake).read_partition("flow_scores", DEMO_DAY)
    seen = dict.fromkeys(scores["srcip"].to_pylist() + scores["dstip"].to_pylist())
    return list(seen)


def _kernel_round(lake: Path, writes: list[tuple[int, str, int]], rng: random.Random, kill: bool):
    """One run of the kernel-like writer; the indexes it acknowledged."""
    todo = lake.parent / "kernel-writes.txt"
    todo.write_text("".join(f"{i} {a} {s}\n" for i, a, s in writes))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KERNEL_WRITER), str(lake), DAY, str(todo)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "ready"
    if kill:
        time.sleep(rng.uniform(0.02, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    if not kill:
        assert proc.returncode == 0, err
    return {int(line.split()[1]) for line in out.splitlines() if line.startswith("ack ")}


class Server:
    """`jupyter server` with spot-lab's extension on the lake; POST /score with a token."""

    def __init__(self, lake: Path, tmp: Path) -> None:
        self.lake, self.tmp = lake, tmp
        self.token, self.port = secrets.token_hex(16), _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        config = self.tmp / "jupyter-config"
        config.mkdir(exist_ok=True)
        env = {**os.environ, "SPOT_LAB_LAKE": str(self.lake), "JUPYTER_CONFIG_DIR": str(config),
               "JUPYTER_CONFIG_PATH": str(config), "JUPYTER_RUNTIME_DIR": str(self.tmp / "rt")}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", "--ServerApp.allow_root=True",
             f"--ServerApp.root_dir={self.tmp}",
             "--ServerApp.jpserver_extensions={'spot_lab': True}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                self.call("dates", None)
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.3)

    def call(self, endpoint: str, body: dict | None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/spot-lab/api/{endpoint}",
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"},
            method="GET" if body is None else "POST",
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.load(answer)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _server_round(server: Server, writes, rng: random.Random, kill: bool) -> set[int]:
    """POST the writes in a thread-free loop while a timer kills the server; the acked."""
    import threading

    acked: set[int] = set()
    server.start()
    timer = None
    if kill:
        timer = threading.Timer(rng.uniform(0.05, 1.0), server.kill)
        timer.start()
    try:
        for index, anchor, severity in writes:
            body = {"type": "flow", "date": DAY, "anchor": anchor, "severity": severity}
            try:
                answer = server.call("score", body)
            except (OSError, urllib.error.HTTPError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                    raise
                break  # killed: the rest is retried by the next round
            assert answer["written"] > 0
            acked.add(index)
    finally:
        if timer is not None:
            timer.join()
        server.kill()
    return acked


def test_killed_writers_lose_no_acknowledged_write_and_duplicate_nothing(lake_copy, tmp_path):
    write_flagged(lake_copy, DEMO_DAY, limit=200)
    rng = random.Random(14)
    anchors = _anchors(lake_copy)
    rng.shuffle(anchors)
    # disjoint anchors per writer, each written once with its severity (retries repeat it)
    kernel_writes = [(i, a, 1 + i % 3) for i, a in enumerate(anchors[:40])]
    server_writes = [(100 + i, a, 1 + i % 3) for i, a in enumerate(anchors[40:70])]
    acked: dict[int, tuple[str, int]] = {}

    server = Server(lake_copy, tmp_path)
    kernel_todo, server_todo = list(kernel_writes), list(server_writes)
    kills = {"kernel": 0, "server": 0}
    while kernel_todo or server_todo:
        if kernel_todo:
            kill = kills["kernel"] < KERNEL_KILLS
            done = _kernel_round(lake_copy, kernel_todo, rng, kill)
            kills["kernel"] += kill
            acked.update({i: (a, s) for i, a, s in kernel_todo if i in done})
            kernel_todo = [w for w in kernel_todo if w[0] not in done]
        if server_todo:
            kill = kills["server"] < SERVER_KILLS
            done = _server_round(server, server_todo, rng, kill)
            kills["server"] += kill
            acked.update({i: (a, s) for i, a, s in server_todo if i in done})
            server_todo = [w for w in server_todo if w[0] not in done]
    assert len(acked) == len(kernel_writes) + len(server_writes)

    left = len(list(lake_copy.rglob("*.partial")))  # killed mid-write (reported below)
    lake = Lake(lake_copy)  # the next open removes the killed writers' temporary files
    assert not list(lake_copy.rglob("*.partial")), "temporary files left after reopening"
    lake.check()

    rows = lake.read_partition("flow_threat_investigation", DEMO_DAY)
    keys = list(zip(*(rows[c].to_pylist() for c in analyst._KEYS["flow"]), strict=True))
    assert len(keys) == len(set(keys)), "a flow scored twice"
    expected_events: set[tuple] = set()
    engine_rows = {}
    for anchor, _severity in acked.values():
        match = analyst.matching_rows(analyst._lake_and_engine(lake)[1], "flow", DEMO_DAY, anchor)
        engine_rows[anchor] = match
        flows = set(zip(*(match[c].to_pylist() for c in ("tstart", "srcip", "dstip", "sport",
                                                          "dport")), strict=True))  # fmt: skip
        assert flows <= set(keys), f"an acknowledged score of {anchor} is missing"
        expected_events |= flows
    assert set(keys) == expected_events  # and nothing that was never asked for

    feedback = read_feedback(feedback_path(lake_copy, "flow", DEMO_DAY), "flow")
    events = list(zip(*(feedback[c].to_pylist() for c in feedback.column_names[1:]), strict=True))
    assert len(events) == len(set(events)), "a feedback row written twice"
    assert len(events) == len(expected_events)
    assert set(pc.unique(feedback["sev"]).to_pylist()) <= {"1", "2", "3"}
    print(f"\n{kills['kernel']} kernel and {kills['server']} server kills, {len(acked)} writes, "
          f"{left} temporary files of killed writes removed on reopening")  # fmt: skip
