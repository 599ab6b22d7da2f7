"""Benchmark: one page of GET /spot-lab/api/threats on a day with 10,000 flagged flows.

Run on demand:  .venv-bench/bin/python bench/bench_threats_api.py [--runs 30] [--browser]

Generates a demo day (20,000 flows), flags 10,000 of them in flow_scores (10% of them
analyst-scored), starts a real Jupyter server with the spot_lab extension, and times pages
over HTTP (token auth) against the 200 ms target, with the same query called in-process
for comparison. --browser also runs the Playwright test and reports the sidebar's time to
its first page of rows (target 1 s). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DAY = "2026-11-28"
FLAGGED = 10_000
TARGET_MS = 200


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_lake(root: Path) -> Path:
    import datetime as dt

    from spot_lab.demo.generator import generate
    from spot_lab.engines.duckdb_engine import DuckDBEngine
    from spot_lab.investigation import analyst
    from tests.flagged_rows import write_flagged

    day = dt.date.fromisoformat(DAY)
    generate(root, day, days=1, flows_per_day=20_000, seed=11, progress=False)
    counts = write_flagged(root, day, limit=FLAGGED)
    assert counts["flow"] == FLAGGED, counts
    engine = DuckDBEngine(root)
    ips = engine.df("SELECT DISTINCT srcip FROM flow_scores ORDER BY srcip LIMIT 40").srcip.tolist()
    for i, ip in enumerate(ips):
        analyst.record_score(engine, "flow", day, ip, 1 + i % 3)
    return root


def time_ms(fn, runs: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--browser", action="store_true", help="also run the browser test")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="spot-bench-") as tmp:
        lake = make_lake(Path(tmp) / "lake")
        token, port = secrets.token_hex(16), _port()
        config = Path(tmp) / "config"
        config.mkdir()
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"spot_lab": True}}})
        )
        env = {**os.environ, "SPOT_LAB_LAKE": str(lake), "JUPYTER_CONFIG_DIR": str(config)}
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}",
             "--ServerApp.allow_root=True", f"--ServerApp.root_dir={tmp}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}/spot-lab/api"
        headers = {"Authorization": f"token {token}"}

        def get(query: str) -> dict:
            req = urllib.request.Request(f"{base}/threats?{query}", headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as answer:
                    return json.load(answer)
            except urllib.error.HTTPError as exc:
                raise SystemExit(f"{exc.code} for {query}: {exc.read().decode()}") from None

        try:
            for _ in range(120):
                if server.poll() is not None:
                    raise SystemExit(f"the Jupyter server did not start on port {port}")
                try:
                    get(f"type=flow&date={DAY}&page=1&page_size=50")
                    break
                except (OSError, SystemExit):
                    time.sleep(0.5)
            last = get(f"type=flow&date={DAY}&page=1&page_size=50")["pages"]
            assert get(f"type=flow&date={DAY}&page=1")["total"] == FLAGGED
            cases = {
                "page 1 (50 rows)": f"type=flow&date={DAY}&page=1&page_size=50",
                "page 100 (50 rows)": f"type=flow&date={DAY}&page=100&page_size=50",
                f"last page {last}": f"type=flow&date={DAY}&page={last}&page_size=50",
                "page 1 (500 rows)": f"type=flow&date={DAY}&page=1&page_size=500",
                "search q=10.0.2 (LIKE)": f"type=flow&date={DAY}&page=1&page_size=50&q=10.0.2",
            }
            http = {name: time_ms(lambda q=q: get(q), args.runs) for name, q in cases.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)

        import datetime as dt

        from spot_lab.engines.duckdb_engine import DuckDBEngine
        from spot_lab.server.threats import threats_page

        engine = DuckDBEngine(lake)
        day = dt.date.fromisoformat(DAY)
        direct = time_ms(lambda: threats_page(engine, "flow", day, 1, 50), args.runs)

    print(
        f"\n{FLAGGED:,} flagged flows on {DAY}; median of {args.runs} runs; target {TARGET_MS} ms\n"
    )
    print("| request | median ms | within target |")
    print("|---|---:|---|")
    for name, ms in http.items():
        print(
            f"| GET /spot-lab/api/threats {name} | {ms:.1f} | {'yes' if ms < TARGET_MS else 'NO'} |"
        )
    print(f"| in-process threats_page page 1 (no HTTP) | {direct:.1f} | {'yes' if direct < TARGET_MS else 'NO'} |")  # fmt: skip

    if args.browser:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/test_sidebar_browser.py", "-q", "-s",
             "-p", "no:logging", "-k", "lists"],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        found = re.search(r"sidebar first page of rows: (\d+) ms", out.stdout)
        shown = f"{found.group(1)} ms" if found else "not measured (see pytest output)"
        print(f"| sidebar: click the icon -> first page of rows (browser) | {shown} | target 1000 ms |")  # fmt: skip


if __name__ == "__main__":
    main()
