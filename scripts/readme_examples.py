"""The README's "real output" blocks, produced from the demo lake so they never drift.

Each block is marked in the Markdown with `<!-- example: NAME -->` on the line before its
fence; EXAMPLES below says what produces it: IPython cells (shown as `In [n]:` transcripts)
or shell commands (shown as `$ ...`), run on the demo lake that `spot-lab demo` makes (same
seed, date and size), generated and scored once into a cache folder.

    python scripts/readme_examples.py --write   # run every example, rewrite the blocks
    python scripts/readme_examples.py --check   # run them, fail on any block that differs

The check masks what changes from run to run (durations, rates); everything else must match
exactly. `{name}` in an example is filled from the demo lake's ground truth (the generator
draws its scenarios per seed), so a README example always names a real threat of the lake.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md"]
SHOWN_LAKE = "~/.spot-lab/demo-lake"  # where the demo puts its lake; shown instead of the cache
# An example's own scratch folder (`{scratch}`) and its copy of the lake, as shown. Each shown
# name is as long as the real one (mkdtemp's 8 random characters), so tables stay aligned.
SHOWN_SCRATCH = "/tmp/spotlab-ex"
COPY_NAME = "demo-"  # the lake's copy in the scratch folder: len("/tmp/slXXXXXXXX/demo-") == 21
MARK = re.compile(r"^<!-- example: ([\w-]+) -->$")
# What changes between runs of the same example: masked before comparing.
VOLATILE = [
    (re.compile(r"\b\d+(?:\.\d+)? (?:s|ms)\b"), "<time>"),
    (re.compile(r"\(\d[\d,]* (?:rows|events)/s\)"), "(<rate>)"),
    (re.compile(r"\b\d+(?:\.\d+)? MB/s\b"), "<rate>"),
    (re.compile(r"/tmp/sl\w{8}"), SHOWN_SCRATCH),
    # DuckDB writes the IP index with its threads: row groups (and so the size) vary a little
    (re.compile(r"\b\d+(?:\.\d+)? MB on disk"), "<size> MB on disk"),
    # a reject file's name carries a digest of the source's path, which is a scratch folder
    (re.compile(r"(rejects/[\w.-]+?)\.[0-9a-f]{8}\.jsonl"), r"\1.<id>.jsonl"),
]

# name -> (kind, steps). kind "ipython": each step is one cell; "shell": each a command line.
EXAMPLES: dict[str, tuple[str, list[str]]] = {
    "spotquery-show-sql": (
        "ipython",
        [
            "%load_ext spot_lab",
            "port = 443",
            "%%spotquery --date {date} --show-sql --limit 5\n"
            "SELECT srcip, dstip, sport, dport, proto, ibyt\n"
            "FROM flow_scores\nWHERE dport = :port\nORDER BY ibyt DESC, srcip, dstip",
        ],
    ),
    "spotquery-errors": (
        "ipython",
        [
            "%load_ext spot_lab",
            "%%spotquery\nSELECT nosuchcolumn FROM flow",
            "%%spotquery\nSELECT * FROM flow WHERE sip = :undefined_ip",
            "%%spotquery --date 2026-13-45\nSELECT 1",
            "%%spotquery --from 2026-11-29 --to 2026-11-28\nSELECT 1",
            "%%spotquery --date 2020-01-01\nSELECT COUNT(*) AS n FROM flow",
            "%spot_connect hive://spot@127.0.0.1:1/spot?auth=NOSASL --alias cluster",
        ],
    ),
    "spot-threat": (
        "ipython",
        [
            "%load_ext spot_lab",
            "c2 = %spot_threat {c2_beaconing_ip} --date {date}",
            "print(c2.five_ws())",
            "print(c2.evidence.to_string(index=False))",
            "d = %spot_threat {dns_tunnelling_domain} --date {date}",
            "print(d.five_ws())",
            'p = %spot_threat "{phishing_uri}" --date {date}',
            "print(p.referred.to_string(index=False))",
            "%spot_threat 10.0.0.300",
            "%spot_threat 10.0.0.5 --date 2020-01-01",
            "empty = %spot_threat 192.0.2.77",
            "print(empty.message)",
            'c2.save_storyboard("C2 beaconing", "Isolate the host.")',
            "again = %spot_threat {c2_beaconing_ip}",
            'print(again.storyboard_title, "|", again.storyboard_text)',
        ],
    ),
    "rest-api": (
        "rest",
        [
            "GET /spot-lab/api/dates",
            "GET /spot-lab/api/threats?type=flow&date={date}&page=1&page_size=2",
            'POST /spot-lab/api/score {{"type": "flow", "date": "{date}", "anchor": '
            '"{c2_beaconing_ip}", "severity": 1}}',
            "GET /spot-lab/api/threats?type=flow&date={date}&page_size=1&q={c2_beaconing_ip}",
            "GET /spot-lab/api/threats?type=flow&date=2026-11-31",
            'POST /spot-lab/api/score {{"type": "flow", "date": "{date}", "anchor": '
            '"{c2_beaconing_ip}", "severity": 5}}',
            'POST /spot-lab/api/storyboard {{"type": "flow", "date": "{date}", "anchor": '
            '"{c2_beaconing_ip}", "title": "C2 beaconing", "text": "Isolate the host."}}',
            "GET /spot-lab/api/storyboard?type=flow&date={date}&anchor={c2_beaconing_ip}",
            "NOAUTH GET /spot-lab/api/dates",
        ],
    ),
    "ground-truth": (
        "ipython",
        [
            "import json, pathlib, textwrap",
            "truth = json.loads(pathlib.Path('{lake}/ground_truth.json').read_text())",
            "for s in truth['scenarios']:\n"
            "    kind = 'benign' if s['benign'] else 'attack'\n"
            "    print(f\"{{s['name']:<23}}{{s['data_type']:<6}}{{kind:<7}}\"\n"
            "          + textwrap.shorten(s['description'], 100))",
            "print(json.dumps(truth['scenarios'][0]['parameters']))",
        ],
    ),
    "cli-ingest": (
        "shell",
        [
            "! mkdir -p {scratch}/logs/zeek {scratch}/logs/other",
            "! cp {root}/tests/fixtures/zeek/conn.log {root}/tests/fixtures/zeek/dns.log"
            " {root}/tests/fixtures/zeek/ssl.log {root}/tests/fixtures/zeek/http.log.gz"
            " {root}/tests/fixtures/zeek/http.log.corrupt.gz {scratch}/logs/zeek/",
            "! cp {root}/tests/fixtures/sensors/eve.json {root}/tests/fixtures/sensors/bluecoat.log"
            " {root}/README.md {scratch}/logs/other/",
            "spot-lab ingest {scratch}/logs --lake {scratch}/lake --quiet",
            "echo $?",
            "spot-lab ingest {scratch}/logs --lake {scratch}/lake --quiet",
        ],
    ),
    "geolocate": (
        "ipython",
        [
            "from spot_lab.geo import default_geolocator",
            "locator = default_geolocator()  # opened once, reused while its files are unchanged",
            'locator.locate(["8.8.8.8", "81.2.69.142", "8.8.8.8", "10.0.1.5",'
            ' "2001:4860:4860::8888", "not-an-ip"])',
        ],
    ),
    "spot-geo-sql": (
        "ipython",
        [
            "%load_ext spot_lab",
            "%%spotquery --date {date}\n"
            "SELECT spot_geo(dip).country AS country, count(DISTINCT dip) AS endpoints,\n"
            "       sum(ibyt + obyt)::BIGINT AS bytes\n"
            "FROM flow WHERE spot_internal(sip) AND NOT spot_internal(dip)\n"
            "GROUP BY ALL ORDER BY bytes DESC LIMIT 8",
        ],
    ),
    "spot-connect": (
        "ipython",
        [
            "%load_ext spot_lab",
            "! spot-lab generate --lake {scratch}/other-lake --date {date} --flows-per-day 2000"
            " --quiet",
            "%spot_connect {scratch}/other-lake --alias other",
            "%spot_connect",
            "%spot_connect hive://spot@127.0.0.1:1/spot?auth=NOSASL --alias cluster",
        ],
    ),
    "cli-generate": (
        "shell",
        ["spot-lab generate --lake {scratch}/demo-lake --date 2026-11-28"],
    ),
    "cli-generate-errors": (
        "shell",
        [
            "! spot-lab generate --lake {scratch}/demo-lake --date 2026-11-28 --flows-per-day 2000"
            " --quiet",
            "spot-lab generate --lake {scratch}/x --date 2026-11-31",
            "spot-lab generate --lake {scratch}/x --date 2026-11-28 --flows-per-day -5",
            "spot-lab generate --lake {scratch}/demo-lake --date 2026-11-28",
            "! mkdir -p {scratch}/my-spot-warehouse/flow/hive",
            "spot-lab generate --lake {scratch}/my-spot-warehouse --date 2026-11-28 --force",
        ],
    ),
    "data-formats": (
        "ipython",
        [
            "%load_ext spot_lab",
            "%%spotquery --date {date}\nSELECT treceived, sip, dip, sport, dport, proto, flag, ipkt,"
            " ibyt, rip\nFROM flow WHERE h = 9 ORDER BY unix_tstamp, sip, dip LIMIT 3",
            "%%spotquery --date {date}\nSELECT frame_time, ip_dst, dns_qry_name, dns_qry_class,"
            " dns_qry_type, dns_qry_rcode, dns_a\nFROM dns WHERE h = 9 ORDER BY unix_tstamp LIMIT 3",
            "%%spotquery --date {date}\nSELECT p_date, p_time, clientip, reqmethod, respcode,"
            " fulluri\nFROM proxy WHERE h = '09' ORDER BY p_time, clientip LIMIT 3",
        ],
    ),
    "cli-score": (
        "shell",
        [
            "! spot-lab generate --lake {scratch}/lake --date {date} --flows-per-day 20000 --quiet",
            "spot-lab score --type flow --date {date} --lake {scratch}/lake",
            "spot-lab score --type dns --date {date} --lake {scratch}/lake --limit 500",
            "spot-lab score --type ssh --date {date} --lake {scratch}/lake",
            "spot-lab score --type dns --date 2026-11-01 --lake {scratch}/lake",
            "spot-lab score --type proxy --date {date} --lake {scratch}/lake --topics 1000",
        ],
    ),
    "cli-index": (
        "shell",
        [
            "spot-lab index --date {date} --lake {lake}",
            "spot-lab index --date 2026-11-01 --lake {lake}",
        ],
    ),
}


# ---- the demo lake ------------------------------------------------------------------------
def demo_lake(cache: Path) -> Path:
    """The lake `spot-lab demo` makes, generated and scored once into `cache`, per version of
    the code (a lake made by older code would show what that code printed)."""
    from spot_lab.demo.command import prepare_lake

    digest = hashlib.sha256()
    for path in sorted((ROOT / "spot_lab").rglob("*")):
        if path.suffix in (".py", ".yaml", ".csv", ".txt") and "labextension" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    lake = cache / f"demo-lake-{digest.hexdigest()[:12]}"
    for old in cache.glob("demo-lake*"):  # the cache's own older lakes
        if old != lake and old.is_dir():
            shutil.rmtree(old)
    with contextlib.redirect_stderr(io.StringIO()):  # progress lines
        prepare_lake(lake, flows_per_day=200_000)
    return lake


def facts(lake: Path) -> dict[str, str]:
    """Values examples may name: the day, the lake, and each scenario's first anchors."""
    truth = json.loads((lake / "ground_truth.json").read_text())
    values = {"date": truth["generator"]["first_date"], "lake": str(lake), "root": str(ROOT)}
    for scenario in truth["scenarios"]:
        anchors = scenario["anchors"]
        for key, plural in (("ip", "ips"), ("name", "query_names"), ("uri", "uris")):
            if anchors.get(plural):
                values.setdefault(f"{scenario['name']}_{key}", anchors[plural][0])
        if anchors.get("query_names"):
            from publicsuffixlist import PublicSuffixList

            registered = PublicSuffixList().privatesuffix(anchors["query_names"][0])
            values.setdefault(f"{scenario['name']}_domain", registered)
    return values


# ---- running examples ---------------------------------------------------------------------
def run_ipython(cells: list[str], lake: Path) -> str:
    from IPython.core.interactiveshell import InteractiveShell

    from spot_lab.engines import connections

    os.environ["SPOT_LAB_LAKE"] = str(lake)
    connections._session = None
    shell = InteractiveShell.instance(colors="NoColor")
    # every column, as a notebook's table shows them (a terminal would elide the middle ones)
    shell.run_cell("import pandas as _pd; _pd.set_option('display.width', 250); "
                   "_pd.set_option('display.max_columns', 30)", store_history=False)  # fmt: skip
    out = io.StringIO()
    lines = []
    try:
        number = 0
        for cell in cells:
            if cell.startswith("! "):  # a hidden shell step preparing what the next cells show
                subprocess.run(shlex.split(cell[2:]), check=True, capture_output=True,
                               env=dict(os.environ, PATH=f"{Path(sys.executable).parent}"
                                        f"{os.pathsep}{os.environ['PATH']}"))  # fmt: skip
                continue
            number += 1
            first, *rest = cell.split("\n")
            lines.append(f"In [{number}]: {first}")
            lines += [f"   ...: {line}" for line in rest]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                shell.run_cell(cell, store_history=True)
            lines += [line.rstrip() for line in out.getvalue().rstrip("\n").split("\n") if line]
            out.seek(0)
            out.truncate()
            lines.append("")
    finally:
        connections.session().close_all()
        InteractiveShell.clear_instance()
    return "\n".join(lines).rstrip() + "\n"


def run_shell(commands: list[str]) -> str:
    """Each command's output after `$ command`; a command starting with `!` runs unseen (it
    prepares what the next ones show)."""
    env = dict(os.environ, NO_COLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    lines = []
    status = 0
    for command in commands:
        if command == "echo $?":  # the previous command's exit status, as a shell shows it
            lines += ["$ echo $?", str(status)]
            continue
        if command.startswith("!"):
            subprocess.run(shlex.split(command[1:]), check=True, env=env, capture_output=True)
            continue
        done = subprocess.run(shlex.split(command), stdout=subprocess.PIPE, env=env, text=True,
                              stderr=subprocess.STDOUT, timeout=600)  # fmt: skip
        lines.append(f"$ {command}")
        lines += [line.rstrip() for line in done.stdout.splitlines() if line]
        status = done.returncode
    return "\n".join(lines) + "\n"


def run_rest(requests: list[str], lake: Path) -> str:
    """Each request (`METHOD /path [json body]`, `NOAUTH` first for one without the token)
    against a real `jupyter server` on the lake, shown as the curl command and its answer."""
    import secrets
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(16)
    env = dict(os.environ, SPOT_LAB_LAKE=str(lake))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True", "--no-browser",
         f"--ServerApp.root_dir={lake}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    lines = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("jupyter server did not start for the REST example") from None
                time.sleep(0.3)
        for request in requests:
            auth = not request.startswith("NOAUTH ")
            method, path, *body = request.removeprefix("NOAUTH ").split(" ", 2)
            headers = {"Authorization": f"token {token}"} if auth else {}
            data = body[0].encode() if body else None
            shown = ["curl", '-H "Authorization: token $TOKEN"'] if auth else ["curl"]
            if method == "POST":
                shown += ["-X POST", f"-d '{body[0]}'"]
            lines.append(f'$ {" ".join(shown)} "$URL{path}"')
            call = urllib.request.Request(base + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(call, timeout=120) as answer:
                    status, text = answer.status, answer.read().decode()
            except urllib.error.HTTPError as exc:
                status, text = exc.code, exc.read().decode()
            lines.append(f"{status} {_compact(text)}")
            lines.append("")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return "\n".join(lines).rstrip() + "\n"


def _compact(text: str) -> str:
    """A JSON answer on as few lines as reads well (one per row of a page)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(value, dict) and isinstance(value.get("rows"), list):
        rows = value.pop("rows")
        head = json.dumps(value)[:-1]
        body = ",\n  ".join(json.dumps(row) for row in rows)
        return f'{head}, "rows": [\n  {body}]}}' if rows else f'{head}, "rows": []}}'
    return json.dumps(value)


def produce(name: str, lake: Path, values: dict[str, str]) -> str:
    kind, steps = EXAMPLES[name]
    with tempfile.TemporaryDirectory(prefix="sl", dir="/tmp") as scratch:
        assert len(scratch) == len(SHOWN_SCRATCH), scratch
        steps = [step.format(scratch=scratch, **values) for step in steps]
        if kind in ("ipython", "rest"):  # on a copy: an example may write (a storyboard, a score)
            copy = Path(scratch) / COPY_NAME
            assert len(str(copy)) == len(SHOWN_LAKE)
            shutil.copytree(lake, copy)
            run = run_ipython if kind == "ipython" else run_rest
            text = run(steps, copy).replace(str(copy), SHOWN_LAKE)
        else:
            text = run_shell(steps)
        text = text.replace(scratch, SHOWN_SCRATCH)
    return text.replace(str(lake), SHOWN_LAKE)


# ---- the Markdown ---------------------------------------------------------------------------
def blocks(text: str) -> dict[str, tuple[int, int]]:
    """NAME -> (first line, end line) of the fenced block after each marker (0-based lines of
    the block's body, end exclusive)."""
    lines = text.split("\n")
    found = {}
    for i, line in enumerate(lines):
        mark = MARK.match(line)
        if not mark:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"example {mark.group(1)}: no fenced block after its marker")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            raise SystemExit(f"example {mark.group(1)}: its block never closes")
        found[mark.group(1)] = (i + 2, end)
    return found


def masked(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the marked blocks")
    mode.add_argument("--check", action="store_true", help="fail when a block differs")
    parser.add_argument("--cache", default=str(ROOT / ".demo" / "readme"), help="lake cache")
    args = parser.parse_args(argv)
    lake = demo_lake(Path(args.cache))
    values = facts(lake)
    problems = []
    used: set[str] = set()
    for doc in DOCS:
        text = doc.read_text()
        lines = text.split("\n")
        found = blocks(text)
        used |= set(found)
        unknown = sorted(set(found) - set(EXAMPLES))
        if unknown:
            problems.append(f"{doc.name}: no example named {', '.join(unknown)}")
        for name, (start, end) in sorted(found.items(), key=lambda kv: -kv[1][0]):
            if name not in EXAMPLES:
                continue
            new = produce(name, lake, values).rstrip("\n").split("\n")
            if args.write:
                lines[start:end] = new
            elif masked("\n".join(lines[start:end])) != masked("\n".join(new)):
                diff = difflib.unified_diff(masked("\n".join(lines[start:end])).split("\n"),
                                            masked("\n".join(new)).split("\n"), "README",
                                            "the code", lineterm="", n=0)  # fmt: skip
                problems.append(f"{doc.name}: example {name} differs from what the code prints:\n"
                                + "\n".join(list(diff)[:40]))  # fmt: skip
        if args.write:
            doc.write_text("\n".join(lines))
    problems += [f"example {name} is in no document" for name in sorted(set(EXAMPLES) - used)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.check:
        print(
            "run `python scripts/readme_examples.py --write` and review the diff", file=sys.stderr
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
