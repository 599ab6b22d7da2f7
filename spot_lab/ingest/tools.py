"""Spot's collectors with the real tools: nfcapd files read through `nfdump -o csv`, pcaps
through `tshark` with Spot's DNS response fields, and pcaps turned into NetFlow by
`softflowd` exporting to a private `nfcapd` on loopback (Debian packages nfdump, tshark,
softflowd). Each tool's output is a text stream ingested with its own mapping.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spot_lab.errors import InputError
from spot_lab.ingest.detect import Detected, Header, open_stream
from spot_lab.store.files import scratch_file

# Spot's DNS collector fields (ingest_conf.json), with the query's own name/type/class (Spot
# took the first answer's, empty for NXDOMAIN), IPv6 addresses and every A/AAAA and TXT answer
# (Zeek and Suricata log TXT answers too: the DNS detectors read their shape).
TSHARK_FIELDS = ["frame.time", "frame.time_epoch", "frame.len", "ip.src", "ip.dst", "ipv6.src",
                 "ipv6.dst", "dns.id", "dns.qry.name", "dns.qry.type", "dns.qry.class",
                 "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.txt"]  # fmt: skip
TOOL_ENV = {"TZ": "UTC", "LC_ALL": "C"}  # tshark and nfdump print local times: make them UTC


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def need(tool: str, package: str, what: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise InputError(f"{what} needs `{tool}`: install the Debian package {package}")
    return found


@dataclass
class ToolStream:
    """A tool's text output to ingest as if it were a log file."""

    found: Detected
    process: subprocess.Popen
    sensor: str | None = None
    note: str = ""

    @property
    def stream(self):
        return self.process.stdout

    def finish(self) -> str | None:
        """Wait for the tool; its error line when it failed."""
        self.process.stdout.close()
        err = self.process.stderr.read().decode("utf-8", "replace") if self.process.stderr else ""
        code = self.process.wait()
        if code != 0:
            lines = [ln for ln in err.splitlines() if ln.strip() and "Running as user" not in ln]
            return f"{Path(self.process.args[0]).name} failed: {lines[-1] if lines else code}"
        return None


def _popen(args: list[str], stdin=None) -> subprocess.Popen:
    env = dict(os.environ, **TOOL_ENV)
    return subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)  # fmt: skip


def nfdump_csv(path: Path, label: Path | None = None) -> ToolStream:
    """`nfdump -r FILE -o csv` (its CSV header first, a summary trailer last)."""
    exe = need("nfdump", "nfdump", f"{(label or path).name} (an nfcapd file)")
    process = _popen([exe, "-r", str(path), "-o", "csv"])
    found = Detected(label or path, "nfdump", "csv", "flow", header=None)
    return ToolStream(found, process)


@contextlib.contextmanager
def plain_capture(path: Path, compression: str, tmp_dir: Path) -> Iterator[Path]:
    """The capture, or a decompressed copy of it in the lake's temporary folder: softflowd
    and nfdump read plain files only (a .pcap.gz gave DNS rows and no flows). The copy is
    streamed; of a cut or corrupt stream it keeps what decodes, which the tools read up to
    the cut."""
    if compression == "none":
        yield path
        return
    with scratch_file(tmp_dir) as copy:
        # a cut stream raises EOFError after its good bytes: keep the packets before the cut
        with path.open("rb") as raw, copy.open("wb") as out, contextlib.suppress(EOFError):
            shutil.copyfileobj(open_stream(raw, compression), out, 1 << 20)
        yield copy


def tshark_dns(path: Path, label: Path | None = None) -> ToolStream:
    """DNS responses of a capture as tshark fields, tab-separated with a header line."""
    exe = need("tshark", "tshark", f"{(label or path).name} (a pcap)")
    args = [exe, "-r", str(path), "-n", "-Y", "dns.flags.response == 1", "-T", "fields",
            "-E", "header=y", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]  # fmt: skip
    for name in TSHARK_FIELDS:
        args += ["-e", name]
    found = Detected(label or path, "tshark", "tsv", "dns", header=Header(list(TSHARK_FIELDS)))
    return ToolStream(found, _popen(args))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def softflowd_nfcapd(path: Path) -> Iterator[tuple[list[Path], str]]:
    """The capture's flows as nfcapd files: softflowd reads the pcap and exports IPFIX to a
    private nfcapd on a free loopback port. Yields (files, softflowd's summary).
    IPFIX with absolute millisecond times (`-A milli`): NetFlow v5 and v9 count times from
    softflowd's uptime clock, which puts a capture older than a few weeks on the wrong day
    (measured: a 2013 capture's flows came out in 2026), and v5 cannot carry IPv6."""
    nfcapd = need("nfcapd", "nfdump", f"flows from {path.name}")
    softflowd = need("softflowd", "softflowd", f"flows from {path.name}")
    work = Path(tempfile.mkdtemp(prefix="spot-lab-nfcapd-"))
    port = _free_udp_port()
    collector = subprocess.Popen(
        [nfcapd, "-b", "127.0.0.1", "-p", str(port), "-w", str(work), "-t", "86400",
         "-B", "16777216"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, **TOOL_ENV))  # fmt: skip
    try:
        time.sleep(0.3)  # nfcapd binds its socket
        done = subprocess.run([softflowd, "-r", str(path), "-n", f"127.0.0.1:{port}", "-v", "10",
                               "-A", "milli", "-d"], capture_output=True, text=True, timeout=3600)  # fmt: skip
        exported = _exported(done.stdout + done.stderr)
        _stop(collector, work, exported)
        yield sorted(p for p in work.iterdir() if p.name.startswith("nfcapd.")), str(exported)
    finally:
        if collector.poll() is None:
            collector.kill()
            collector.wait()
        shutil.rmtree(work, ignore_errors=True)


def _exported(text: str) -> int:
    match = re.search(r"Flows exported: (\d+)", text)
    return int(match.group(1)) if match else -1


def _stop(collector: subprocess.Popen, work: Path, exported: int) -> None:
    """Let nfcapd take in every datagram, then stop it (it closes its file on SIGTERM)."""
    last, steady = -1, 0
    deadline = time.monotonic() + 30
    while steady < 3 and time.monotonic() < deadline:  # the file stops growing
        size = sum(p.stat().st_size for p in work.iterdir())
        steady = steady + 1 if size == last else 0
        last = size
        time.sleep(0.1)
    collector.send_signal(signal.SIGTERM)
    try:
        collector.wait(timeout=30)
    except subprocess.TimeoutExpired:
        collector.kill()
        collector.wait()
