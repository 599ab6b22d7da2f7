"""The wheel as a user gets it, away from the checkout.

Built the way a release is: an sdist from a clean copy of the checkout (Node on PATH, so the
build hook runs jlpm from the `jupyterlab` build requirement), then the wheel from that sdist
with no Node on PATH (the prebuilt labextension it carries is reused). The wheel is installed
alone, with its `lab` and `geo` extras, into a fresh virtualenv, and used there: the CLI,
`%load_ext spot_lab` and `%%spotquery` on a small generated lake, the default geolocation
database (DB-IP City Lite from spot-lab-dbip-city, read with maxminddb's C extension), the
server extension answering over HTTP, and the labextension listed as enabled and OK.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.support import require

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
GEO_WHEELS = REPO / "geo-data" / "dist"
NODE_TOOLS = {"node", "nodejs", "npm", "npx", "corepack", "yarn", "yarnpkg", "jlpm"}
DAY = "2026-11-28"
LABEXT = "share/jupyter/labextensions/spot-lab"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/spot_lab.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the listings colour "enabled" and "OK"

SMOKE = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
import spot_lab
from spot_lab import geo

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "spot_lab")
flows = shell.run_cell(
    "%%spotquery flows\n"
    "SELECT count(*) AS n, count(DISTINCT sip) AS hosts FROM flow"
)
flows.raise_error()
places = shell.run_cell(
    "%%spotquery places\n"
    "SELECT ip, spot_geo(ip).city AS city, spot_geo_country(ip) AS country\n"
    "FROM (VALUES ('81.2.69.142'), ('8.8.8.8')) t(ip) ORDER BY ip"
)
places.raise_error()
locator = geo.default_geolocator()
out = {
    "module": spot_lab.__file__,
    "version": spot_lab.__version__,
    "flows": int(shell.user_ns["flows"]["n"].iloc[0]),
    "hosts": int(shell.user_ns["flows"]["hosts"].iloc[0]),
    "places": shell.user_ns["places"].to_dict("records"),
    "db": str(locator.path),
    "fast": locator.fast,
    "attribution": locator.attribution,
}
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
"""


def run(cmd: list, *, env: dict, cwd: Path, timeout: float, log: Path) -> str:
    """Run a command; on failure, fail the test with the end of its output."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [str(c) for c in cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        log.write_text(str(exc.output or ""))
        pytest.fail(f"{cmd[:4]} took more than {timeout:.0f} s (log: {log})")
    log.write_text(proc.stdout)
    took = time.monotonic() - start
    if proc.returncode != 0:
        pytest.fail(f"{cmd[:4]} failed ({proc.returncode}, {took:.0f} s):\n{proc.stdout[-4000:]}")
    print(f"{' '.join(str(c) for c in cmd[:4])}: {took:.0f} s")
    return proc.stdout


def path_without(folder: Path, programs: set[str]) -> str:
    """A PATH of one folder linking every program of this PATH but `programs`, and none of
    this virtualenv's (its jlpm and jupyter must not stand in for the build requirements)."""
    folder.mkdir()
    own = Path(sys.executable).parent
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or not Path(entry).is_dir() or Path(entry) == own:
            continue
        for program in Path(entry).iterdir():
            link = folder / program.name
            if program.name in programs or link.exists() or link.is_symlink():
                continue
            if program.is_file() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(folder)


def clean_copy(target: Path) -> Path:
    """The checkout's files as a fresh clone has them, plus uncommitted and new ones
    (no build output, node_modules, venvs or anything else .gitignore covers)."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        listing = b""
    require(bool(listing), "a git checkout (to copy its files for the wheel build)")
    for name in sorted(set(listing.decode().split("\0")) - {""}):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    geo_wheels = sorted(GEO_WHEELS.glob("spot_lab_dbip_city-*.whl"))
    require(
        bool(geo_wheels),
        f"the spot-lab-dbip-city wheel in {GEO_WHEELS} (scripts/build-geo-data.sh)",
    )
    require(shutil.which("node") is not None, "Node (to build the labextension for the sdist)")
    root = tmp_path_factory.mktemp("wheel")
    logs = root / "logs"
    logs.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOT_LAB_", "PYTHON"))}
    env.update(
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        YARN_ENABLE_GLOBAL_CACHE="1",  # jlpm install reuses downloads across builds
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        IPYTHONDIR=str(root / "ipython"),
    )
    src = clean_copy(root / "src")
    dist = root / "dist"
    py = sys.executable

    # 1. The sdist, with Node but no jlpm on PATH: the hook runs `jlpm install` and
    #    `jlpm build:prod` with the jlpm of the `jupyterlab` build requirement.
    node_only = dict(env, PATH=path_without(root / "bin-node", {"jlpm"}))
    assert shutil.which("jlpm", path=node_only["PATH"]) is None
    assert shutil.which("node", path=node_only["PATH"]) is not None
    run([py, "-m", "build", "--sdist", "--outdir", dist, src], env=node_only, cwd=root,
        timeout=900, log=logs / "sdist.log")  # fmt: skip
    (sdist,) = dist.glob("spot_lab-*.tar.gz")

    # 2. The wheel from the sdist, with no Node anywhere on PATH.
    no_node = dict(env, PATH=path_without(root / "bin-without-node", NODE_TOOLS))
    assert shutil.which("node", path=no_node["PATH"]) is None
    with tarfile.open(sdist) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.10.12+, 3.11.4+
        tar.extractall(root / "unpacked", **safe)
    (unpacked,) = (root / "unpacked").iterdir()
    run([py, "-m", "build", "--wheel", "--outdir", dist, unpacked], env=no_node, cwd=root,
        timeout=600, log=logs / "wheel.log")  # fmt: skip
    (wheel,) = dist.glob("spot_lab-*.whl")

    # 3. A fresh virtualenv with the wheel alone (and its extras' dependencies), no Node.
    venv = root / "venv"
    run([py, "-m", "venv", venv], env=no_node, cwd=root, timeout=120, log=logs / "venv.log")
    bin_dir = venv / "bin"
    in_venv = dict(no_node, PATH=f"{bin_dir}{os.pathsep}{no_node['PATH']}", VIRTUAL_ENV=str(venv))
    run([bin_dir / "pip", "install", "-q", "--find-links", GEO_WHEELS, f"{wheel}[lab,geo]"],
        env=in_venv, cwd=root, timeout=900, log=logs / "install.log")  # fmt: skip
    return {"root": root, "sdist": sdist, "wheel": wheel, "venv": venv, "bin": bin_dir,
            "env": in_venv, "logs": logs}  # fmt: skip


@pytest.fixture(scope="module")
def lake(built) -> Path:
    """A small lake written by the installed wheel's own CLI."""
    lake = built["root"] / "lake"
    out = run([built["bin"] / "spot-lab", "generate", "--lake", lake, "--date", DAY,
               "--flows-per-day", "2000", "--quiet"], env=built["env"], cwd=built["root"],
              timeout=300, log=built["logs"] / "generate.log")  # fmt: skip
    assert (lake / "ground_truth.json").is_file(), out
    return lake


def test_sdist_carries_the_prebuilt_labextension(built):
    with tarfile.open(built["sdist"]) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {"spot_lab/labextension/package.json", "spot_lab/labextension/static/style.js"} <= names
    assert any(re.fullmatch(r"spot_lab/labextension/static/remoteEntry\.\w+\.js", n) for n in names)
    assert {"labextension/src/index.ts", "package.json", "yarn.lock", "install.json"} <= names
    leaked = {n.split("/")[0] for n in names} & {"node_modules", "lib", ".venv", ".yarn", "dist"}
    assert not leaked and not any(n.startswith(".venv-") for n in names)


def test_wheel_from_the_sdist_reuses_it_and_holds_the_jupyter_files(built):
    with tarfile.open(built["sdist"]) as tar:
        prebuilt = {
            name.split("/labextension/", 1)[1]: tar.extractfile(name).read()
            for name in tar.getnames()
            if "/spot_lab/labextension/" in name and tar.getmember(name).isfile()
        }
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = set(whl.namelist())
        (data,) = {n.split("/", 1)[0] for n in names if ".data/" in n}
        shipped = {n.split(f"{LABEXT}/", 1)[1]: whl.read(n) for n in names if f"/{LABEXT}/" in n}
        server_config = json.loads(whl.read(f"{data}/data/{SERVER_CONFIG}"))
    assert server_config == {"ServerApp": {"jpserver_extensions": {"spot_lab": True}}}
    assert {"install.json", "schemas/spot-lab/plugin.json"} <= set(shipped)
    # the sdist's prebuilt files, unchanged: nothing was rebuilt without Node
    assert {k: v for k, v in shipped.items() if k in prebuilt} == prebuilt
    assert set(prebuilt) <= set(shipped)
    assert "spot_lab/notebooks/demo.ipynb" in names and "spot_lab/server/handlers.py" in names
    assert not any(n.startswith(("tests/", "geo-data/", "labextension/")) for n in names)


def test_cli_from_the_wheel(built):
    out = run([built["bin"] / "spot-lab", "--version"], env=built["env"], cwd=built["root"],
              timeout=60, log=built["logs"] / "version.log")  # fmt: skip
    version = built["wheel"].name.split("-")[1]
    assert out.strip() == f"spot-lab {version}"


def test_magics_and_default_geolocation_in_the_fresh_venv(built, lake):
    script = built["root"] / "smoke.py"
    script.write_text(SMOKE)
    result = built["root"] / "smoke.json"
    env = dict(built["env"], SPOT_LAB_LAKE=str(lake))
    run([built["bin"] / "python", script, result], env=env, cwd=built["root"], timeout=300,
        log=built["logs"] / "smoke.log")  # fmt: skip
    out = json.loads(result.read_text())
    assert Path(out["module"]).is_relative_to(built["venv"])  # the wheel, not the checkout
    assert out["flows"] > 1000 and out["hosts"] > 10
    assert out["places"] == [
        {"ip": "8.8.8.8", "city": "Mountain View", "country": "United States"},
        {"ip": "81.2.69.142", "city": "London", "country": "United Kingdom"},
    ]
    # DB-IP City Lite from spot-lab-dbip-city, through maxminddb's C extension
    assert Path(out["db"]).is_relative_to(built["venv"]) and "spot_lab_dbip_city" in out["db"]
    assert out["fast"] is True
    assert out["attribution"] == "IP Geolocation by DB-IP"


def test_server_extension_answers(built, lake):
    port, token = free_port(), "wheel-test-token"
    env = dict(built["env"], SPOT_LAB_LAKE=str(lake))
    log = (built["logs"] / "server.log").open("w")
    server = subprocess.Popen(
        [built["bin"] / "jupyter", "server", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True",
         f"--ServerApp.root_dir={built['root']}"],
        env=env, cwd=built["root"], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def get(path: str, auth: bool = True):
        headers = {"Authorization": f"token {token}"} if auth else {}
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                get("/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"jupyter server did not start:\n{(built['logs'] / 'server.log').read_text()[-3000:]}"
                    )
                time.sleep(0.5)
        status, dates = get("/spot-lab/api/dates")
        assert status == 200
        assert dates["types"]["flow"]["raw"] == [DAY]
        assert dates["latest"]["flow"] == DAY
        with pytest.raises(urllib.error.HTTPError) as refused:
            get("/spot-lab/api/dates", auth=False)
        assert refused.value.code == 403
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_extensions_listed_enabled_and_ok(built):
    def listing(*args: str) -> str:
        out = run([built["bin"] / "jupyter", *args], env=built["env"], cwd=built["root"],
                  timeout=120, log=built["logs"] / f"{'-'.join(args)}.log")  # fmt: skip
        return ANSI.sub("", out)

    version = built["wheel"].name.split("-")[1]
    labext = listing("labextension", "list")
    rest = labext.partition(f"{built['venv']}/share/jupyter/labextensions\n")[2]
    assert rest, labext
    assert re.search(rf"^\s+spot-lab v{re.escape(version)} enabled OK \(python, spot-lab\)$",
                     rest.split("\n\n")[0], re.M), labext  # fmt: skip
    server = listing("server", "extension", "list")
    # enabled by the wheel's own etc/jupyter/jupyter_server_config.d/spot_lab.json
    section = server.partition(f"Config dir: {built['venv']}/etc/jupyter\n")[2].split("\n\n")[0]
    assert re.search(r"^\s+spot_lab enabled$", section, re.M), server
    assert re.search(rf"^\s+spot_lab {re.escape(version)} OK$", section, re.M), server
    assert (built["venv"] / SERVER_CONFIG).is_file()
