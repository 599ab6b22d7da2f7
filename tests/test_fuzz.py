"""Hostile input through every face (hypothesis): each magic option, REST parameter and
CLI option gets generated values (shell and SQL metacharacters, quotes, NUL and other
controls, unpaired surrogates, line breaks, huge sizes, deep nesting, odd dates and
numbers). Each call must end in a bounded result or a one-line error (UsageError, a JSON
4xx `error`, the CLI's one stderr line), never a traceback or a 5xx, within TIME_BOUND
seconds, and leave the lake's files byte-identical (no call here is a documented write
that succeeds; a 200 from a POST would be one and re-takes the snapshot).

Runs EXAMPLES[face] generated cases per test (derandomized: the same cases on every run),
then every CORPUS value in every option of every face, alone (the corpus tests); the
counts are printed (-s) and given in docs/hardening.md.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from spot_lab import cli
from spot_lab.engines import connections
from spot_lab.investigation.report import ThreatReport
from tests.conftest import DEMO_DAY
from tests.flagged_rows import write_flagged
from tests.support import snapshot

pytestmark = pytest.mark.slow

DAY = DEMO_DAY.isoformat()
TIME_BOUND = 15.0  # seconds per call; the slowest valid call (an investigation) takes ~1 s
EXAMPLES = {"spot_threat": 300, "spotquery": 300, "spot_connect": 150, "rest": 500, "cli": 250}
FUZZ = settings(
    deadline=None,  # the bound is TIME_BOUND, asserted per call
    derandomize=True,
    database=None,  # no .hypothesis folder in the checkout
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no minutes-long "explain"
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# The probe's corpus: injections, expansions, controls, encodings, sizes, dates, numbers.
CORPUS = [
    "",
    " ",
    "'",
    '"',
    "''",
    "\\",
    "`id`",
    "$(id)",
    "$HOME",
    "${HOME}",
    "{__import__('os')}",
    "{{x}}",
    "; DROP TABLE flow; --",
    "' OR 1=1 --",
    "1) OR (1=1",
    "%s%n",
    "\x00",
    "a\x00b",
    "\udcff",
    "a\udcffb",
    "\n",
    "a\nb",
    "a\rb",
    "\t",
    "\x1b[31mred",
    "\u202etxet",
    "😀",
    "<script>alert(1)</script>",
    "a b<c>",
    "../../etc/passwd",
    "/",
    ".",
    "~",
    "**",
    "[",
    "[a]",
    "{a,b}",
    "?",
    "*",
    "-",
    "--",
    "--help",
    "-h",
    "--type",
    "--date",
    "-1",
    "0",
    "1",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "1.5",
    "99999999999999999999",
    "9" * 5000,
    "0x10",
    "20261129",
    "2026-W48-7",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "2026-11-28T00:00",
    "28/11/2026",
    "10.0.0.5",
    "999.1.1.1",
    "::1",
    "evil.example",
    "http://evil.example/a?b=c",
    "hive://nowhere.invalid:1/spot",
    "presto://nowhere.invalid:1/hive/spot",
    "duckdb:///nope",
    "flow",
    "dns",
    "proxy",
    "auto",
    "a" * 10_000,
    "a" * 100_000,
    "{" * 20_000,
    "$" * 20_000,
]
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)  # incl. surrogates
VALUE = st.one_of(st.sampled_from(CORPUS), ANY_TEXT)


def _timed(call):
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_BOUND, f"took {elapsed:.1f} s"
    return result


def _line(draw, words: list[str]) -> str:
    """The words as a magic line: raw (metacharacters loose) or shell-quoted."""
    if draw(st.booleans()):
        return " ".join(words)
    return " ".join(shlex.quote(w) for w in words)


def _options(draw, names: tuple[str, ...]) -> list[str]:
    words = []
    for name in names:
        if draw(st.booleans()):
            words += [name, draw(VALUE)]
    return words


# ---- magics ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fuzz_lake(tmp_path_factory, demo_lake_path):
    import shutil

    root = tmp_path_factory.mktemp("fuzz") / "lake"
    shutil.copytree(demo_lake_path, root)
    write_flagged(root, DEMO_DAY, limit=100)
    return root


@pytest.fixture(scope="module")
def shell(fuzz_lake):
    mp = pytest.MonkeyPatch()
    mp.setenv("SPOT_LAB_LAKE", str(fuzz_lake))
    mp.setenv("SPOT_LAB_TIMEOUT", "1")  # hive:// and presto:// URLs give up in a second
    mp.setattr(connections, "_session", None)
    ip = InteractiveShell()
    ip.run_line_magic("load_ext", "spot_lab")
    ip.user_ns.update(big=list(range(100_000)), text="' OR 1=1 --", nul="\x00", sur="\udcff")
    yield ip
    connections.session().close_all()
    InteractiveShell.clear_instance()
    mp.undo()


@pytest.fixture()
def unchanged(fuzz_lake):
    """The lake's files, compared after the test."""
    before = snapshot(fuzz_lake)
    yield
    assert snapshot(fuzz_lake) == before, "a read changed the lake"


def _magic(shell, kind: str, name: str, line: str, cell: str | None = None):
    """Run a magic; its result, or None after a one-line UsageError."""
    run = (
        (lambda: shell.run_line_magic(name, line))
        if kind == "line"
        else (lambda: shell.run_cell_magic(name, line, cell))
    )
    try:
        return _timed(run)
    except UsageError as exc:
        message = str(exc)
        assert "\n" not in message and "Traceback" not in message, message
        return None


@settings(FUZZ, max_examples=EXAMPLES["spot_threat"])
@given(data=st.data())
def test_spot_threat_options(shell, unchanged, data):
    words = [data.draw(VALUE)] + _options(
        data.draw, ("--type", "--date", "--from", "--to", "--top", "--conn")
    )
    result = _magic(shell, "line", "spot_threat", _line(data.draw, words))
    assert result is None or isinstance(result, ThreatReport)


SQL = [
    "SELECT count(*) AS n FROM flow WHERE sip = :text",
    "SELECT sip FROM flow WHERE sip IN (:big) LIMIT 5",
    "SELECT :nul AS a, :sur AS b",
    "SELECT * FROM dns LIMIT 3",
    "SELECT {value} AS v",
    "SELECT * FROM flow WHERE sip = '{value}' LIMIT 2",
    "{value}",
]


@settings(FUZZ, max_examples=EXAMPLES["spotquery"])
@given(data=st.data())
def test_spotquery_options_and_cells(shell, unchanged, data):
    words = _options(data.draw, ("--date", "--from", "--to", "--limit", "--conn"))
    if data.draw(st.booleans()):
        words.insert(0, data.draw(VALUE))  # the variable's name
    if data.draw(st.booleans()):
        words.append("--show-sql")
    template = data.draw(st.sampled_from(SQL))
    cell = template.replace("{value}", data.draw(VALUE))
    result = _magic(shell, "cell", "spotquery", _line(data.draw, words), cell)
    assert result is None or (isinstance(result, pd.DataFrame) and len(result) <= 1_000_000)


@settings(FUZZ, max_examples=EXAMPLES["spot_connect"])
@given(data=st.data())
def test_spot_connect_options(shell, unchanged, data):
    words = ([data.draw(VALUE)] if data.draw(st.booleans()) else []) + _options(
        data.draw, ("--alias",)
    )
    try:
        result = _magic(shell, "line", "spot_connect", _line(data.draw, words))
        assert result is None or isinstance(result, pd.DataFrame)
    finally:
        connections.session().current_alias = None  # the next example uses the lake again


# ---- REST --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(fuzz_lake, tmp_path_factory):
    """`jupyter server` with spot-lab's extension on the fuzz lake (a token, no XSRF)."""
    tmp = tmp_path_factory.mktemp("fuzz-server")
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "SPOT_LAB_LAKE": str(fuzz_lake), "JUPYTER_CONFIG_DIR": str(tmp),
           "JUPYTER_CONFIG_PATH": str(tmp), "JUPYTER_RUNTIME_DIR": str(tmp / "rt")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={tmp}", "--ServerApp.jpserver_extensions={'spot_lab': True}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/spot-lab/api/"
    deadline = time.monotonic() + 90
    while True:
        try:
            _request(base, token, "dates")
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
    yield base, token
    proc.terminate()
    proc.wait(timeout=30)


HEADER_LIMIT = 65_536  # tornado's max_header_size: a longer request line is closed unread


def _request(base, token, endpoint, params=None, body: bytes | None = None):
    query = urllib.parse.urlencode(params or {}, encoding="utf-8", errors="surrogatepass")
    url = base + endpoint + (f"?{query}" if query else "")
    if len(url) > HEADER_LIMIT:  # refused by the HTTP server before any handler runs
        return 431, b""
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIME_BOUND) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _json_value(draw):
    return draw(
        st.one_of(
            VALUE,
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False),
            st.none(),
            st.booleans(),
            st.lists(VALUE, max_size=3),
            st.dictionaries(VALUE, VALUE, max_size=2),
        )
    )


RAW_BODIES = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
    b'{"type": "flow", "anchor": "\\udcff", "date": "2026-11-28", "severity": 1}',
    b'{"title": "\\ud800", "text": "x"}',
    b"\xff\xfe\x00garbage",
    b"not json",
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b'{"text": "' + b"x" * 2_000_000 + b'"}',
]


@settings(FUZZ, max_examples=EXAMPLES["rest"])
@given(data=st.data())
def test_rest_parameters_and_bodies(server, fuzz_lake, data):
    base, token = server
    endpoint = data.draw(st.sampled_from(["threats", "dates", "storyboard", "score", "sb-post"]))
    before = snapshot(fuzz_lake)
    if endpoint in ("threats", "dates", "storyboard"):
        names = {"threats": ("type", "date", "page", "page_size", "q"), "dates": ("x",),
                 "storyboard": ("type", "date", "anchor")}[endpoint]  # fmt: skip
        params = {n: data.draw(VALUE) for n in names if data.draw(st.booleans())}
        status, raw = _timed(lambda: _request(base, token, endpoint, params))
    else:
        fields = ("type", "date", "anchor", "severity") + (
            ("title", "text") if endpoint == "sb-post" else ()
        )
        if data.draw(st.integers(0, 9)) == 0:
            body = data.draw(st.sampled_from(RAW_BODIES))
        else:
            obj = {f: _json_value(data.draw) for f in fields if data.draw(st.booleans())}
            body = json.dumps(obj).encode()  # ensure_ascii: surrogates as \\udcff escapes
        path = "storyboard" if endpoint == "sb-post" else "score"
        status, raw = _timed(lambda: _request(base, token, path, body=body))
    assert status < 500, (status, raw[:300])
    answer = json.loads(raw) if raw else {}
    if status >= 400:
        assert status in (400, 404, 405, 409, 431), (status, answer)
        message = answer.get("error") or answer.get("message") or ""
        assert "\n" not in message and "Traceback" not in message, message
    if not (status == 200 and endpoint in ("score", "sb-post")):  # a documented write
        assert snapshot(fuzz_lake) == before


# ---- CLI ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def empty_lake_module(tmp_path_factory):
    """A lake without data: a valid command fails fast (no day to score), never runs long."""
    root = tmp_path_factory.mktemp("fuzz-cli") / "lake"
    for data_type in ("flow", "dns", "proxy"):
        (root / data_type / "hive").mkdir(parents=True)
    (root / "notes.txt").write_text("a user's file\n")
    return root


COMMANDS = {
    "generate": ("--date", "--days", "--flows-per-day", "--seed"),
    "score": ("--type", "--date", "--tol", "--limit", "--topics", "--seed"),
    "index": ("--date",),
    "check": (),
    "demo": ("--output", "--port", "--flows-per-day"),
}


@settings(FUZZ, max_examples=EXAMPLES["cli"])
@given(data=st.data())
def test_cli_options(empty_lake_module, capsys, data, tmp_path_factory):
    command = data.draw(st.sampled_from(sorted(COMMANDS)))
    lake = str(empty_lake_module)
    # generate and demo write into a missing folder by design: theirs is always the user's
    # lake (refused); the others get any value
    free = command not in ("generate", "demo")
    lake_value = data.draw(st.one_of(st.just(lake), VALUE)) if free else lake
    args = [command, "--lake", lake_value] + _options(data.draw, COMMANDS[command])
    if command in ("score", "generate", "index") and "--date" not in args:
        args += ["--date", DAY]
    if command == "score" and "--type" not in args:
        args += ["--type", "flow"]
    if command == "demo":
        args.append("--execute")  # never a JupyterLab left running; the lake is refused
    before = snapshot(empty_lake_module)
    cwd = tmp_path_factory.mktemp("cwd")  # relative paths land here, and nothing may
    capsys.readouterr()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(cwd)
            mp.setenv("SPOT_LAB_LAKE", str(cwd / "no-default-lake"))  # never ~/.spot-lab
            code = _timed(lambda: cli.main(args))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), one line
        code = exc.code
    out, err = capsys.readouterr()
    assert code in (0, 2), (args, code, err)
    if code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, err
    assert snapshot(empty_lake_module) == before
    assert not any(cwd.iterdir()), f"{args} wrote {sorted(p.name for p in cwd.iterdir())}"


# ---- the corpus: every value in every option, alone ---------------------------------------
MAGIC_OPTIONS = {
    "spot_threat": ("ANCHOR", "--type", "--date", "--from", "--to", "--top", "--conn"),
    "spot_connect": ("TARGET", "--alias"),
    "spotquery": ("NAME", "--date", "--from", "--to", "--limit", "--conn", "CELL"),
}


def test_every_corpus_value_in_every_magic_option(shell, unchanged):
    calls = 0
    for magic, options in MAGIC_OPTIONS.items():
        for option in options:
            for value in CORPUS:
                for quote in (str, shlex.quote):
                    word = quote(value)
                    cell = "SELECT 1 AS one"
                    if option in ("ANCHOR", "TARGET", "NAME"):
                        line = f"{word} --date {DAY}" if magic == "spot_threat" else word
                    elif option == "CELL":
                        line, cell = "", value
                    else:
                        line = ("10.0.0.5 " if magic == "spot_threat" else "") + f"{option} {word}"
                        line += " duckdb:///nope" if magic == "spot_connect" else ""
                    kind = "cell" if magic == "spotquery" else "line"
                    try:
                        _magic(shell, kind, magic, line, cell if kind == "cell" else None)
                    finally:
                        connections.session().current_alias = None
                    calls += 1
    print(f"\ncorpus through the magics: {calls} calls")


def test_every_corpus_value_in_every_rest_parameter(server, fuzz_lake):
    base, token = server
    before = snapshot(fuzz_lake)
    good = {
        "type": "flow",
        "date": DAY,
        "page": "1",
        "page_size": "10",
        "q": "",
        "anchor": "10.0.0.5",
    }
    gets = {"threats": ("type", "date", "page", "page_size", "q"),
            "storyboard": ("type", "date", "anchor")}  # fmt: skip
    posts = {"score": ("type", "date", "anchor", "severity"),
             "storyboard": ("type", "date", "anchor", "title", "text")}  # fmt: skip
    calls = 0
    for endpoint, names in gets.items():
        for name in names:
            for value in CORPUS:
                params = {n: good[n] for n in names} | {name: value}
                status, raw = _timed(lambda: _request(base, token, endpoint, params))  # noqa: B023
                _check_answer(status, raw)
                calls += 1
    for endpoint, names in posts.items():
        for name in names:
            for value in [*CORPUS, 0, -1, 2**64, 1.5, None, True, [], {}, ["a"], {"a": 1}]:
                body = {"type": "flow", "date": DAY, "anchor": "999.1.1.1", "severity": 1,
                        "title": "t", "text": ""} | {name: value}  # fmt: skip
                status, raw = _timed(
                    lambda: _request(base, token, endpoint, body=json.dumps(body).encode())  # noqa: B023
                )
                _check_answer(status, raw)
                if status == 200:  # a documented write (a storyboard for a valid anchor)
                    assert endpoint == "storyboard" and name == "anchor", (name, value)
                    before = snapshot(fuzz_lake)
                calls += 1
        for body in RAW_BODIES:
            status, raw = _timed(lambda: _request(base, token, endpoint, body=body))  # noqa: B023
            _check_answer(status, raw)
            calls += 1
    assert snapshot(fuzz_lake) == before
    print(f"\ncorpus through the REST API: {calls} calls")


def _check_answer(status: int, raw: bytes) -> None:
    assert status < 500, (status, raw[:300])
    answer = json.loads(raw) if raw else {}
    if status >= 400:
        message = answer.get("error") or answer.get("message") or ""
        assert "\n" not in message and "Traceback" not in message, message


def test_every_corpus_value_in_every_cli_option(empty_lake_module, capsys, tmp_path):
    before = snapshot(empty_lake_module)
    lake = str(empty_lake_module)
    calls = 0
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        mp.setenv("SPOT_LAB_LAKE", str(tmp_path / "no-default-lake"))
        for command, options in COMMANDS.items():
            base = {"generate": ["--date", DAY], "score": ["--type", "flow", "--date", DAY],
                    "index": ["--date", DAY], "check": [], "demo": ["--execute"]}[command]  # fmt: skip
            for option in (*options, *(() if command in ("generate", "demo") else ("--lake",))):
                for value in CORPUS:
                    args = [command, "--lake", lake, *base, option, value]
                    capsys.readouterr()
                    try:
                        code = _timed(lambda: cli.main(args))  # noqa: B023
                    except SystemExit as exc:
                        code = exc.code
                    err = capsys.readouterr().err
                    assert code in (0, 2), (args, err)
                    if code == 2:
                        assert err.count("\n") == 1 and "Traceback" not in err, (args, err)
                    calls += 1
    assert snapshot(empty_lake_module) == before
    assert not any(tmp_path.iterdir()), sorted(p.name for p in tmp_path.iterdir())
    print(f"\ncorpus through the CLI: {calls} calls")
