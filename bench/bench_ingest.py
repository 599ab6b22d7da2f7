"""spot-lab ingest's targets (issue 12), both sides of each comparison in one run:

- Zeek conn.log TSV, 1M lines: spot-lab ingest vs zat's LogToDataFrame + to_parquet on the
  same file (>= 10x), and >= 300,000 lines/s; Zeek JSON >= 150,000 lines/s;
- peak memory < 600 MB while ingesting a 3 GB log (--big 3; a child process, its VmHWM);
- 1M flows from nfcapd files through nfdump < 15 s (softflowd makes them from a pcap);
- a rerun over an already ingested folder of 1,000 files < 2 s.

Run: .venv/bin/python bench/bench_ingest.py [--lines 1000000] [--big 3] [--no-nfcapd] [--only NAME]
(zat: pip install zat). Prints the machine's load (uptime) before and after.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spot_lab.ingest import ingest  # noqa: E402
from tests.ingest_support import conn_header  # noqa: E402

START = 1795824000  # 2026-11-28 00:00 UTC


def conn_columns(n: int, seed: int = 1) -> dict[str, pa.Array]:
    rng = np.random.default_rng(seed)
    ts = START + np.sort(rng.uniform(0, 86400, n))
    orig = [
        f"10.0.{a}.{b}"
        for a, b in zip(rng.integers(0, 40, n), rng.integers(1, 254, n), strict=True)
    ]
    resp = [
        f"{a}.{b}.{c}.{d}"
        for a, b, c, d in zip(*(rng.integers(1, 254, n) for _ in range(4)), strict=True)
    ]
    dport = rng.choice([53, 80, 443, 22, 123, 3389], n)
    opkt, rpkt = rng.integers(1, 50, n), rng.integers(0, 60, n)
    obytes, rbytes = rng.integers(0, 5000, n), rng.integers(0, 90000, n)
    return {
        "ts": pa.array(np.char.mod("%.6f", ts)), "uid": pa.array(np.char.mod("C%017d", np.arange(n))),
        "id.orig_h": pa.array(orig), "id.orig_p": pa.array(rng.integers(1025, 65535, n)),
        "id.resp_h": pa.array(resp), "id.resp_p": pa.array(dport),
        "proto": pa.array(np.where(dport == 53, "udp", "tcp")),
        "service": pa.array(np.where(dport == 53, "dns", np.where(dport == 443, "ssl", "-"))),
        "duration": pa.array(np.char.mod("%.6f", rng.lognormal(0, 1.5, n))),
        "orig_bytes": pa.array(obytes), "resp_bytes": pa.array(rbytes),
        "conn_state": pa.array(rng.choice(["SF", "S0", "REJ", "RSTO", "OTH"], n)),
        "local_orig": pa.array(["-"] * n), "missed_bytes": pa.array(np.zeros(n, np.int64)),
        "history": pa.array(rng.choice(["ShADadFf", "S", "Sr", "ShADadR", "D"], n)),
        "orig_pkts": pa.array(opkt), "orig_ip_bytes": pa.array(obytes + 40 * opkt),
        "resp_pkts": pa.array(rpkt), "resp_ip_bytes": pa.array(rbytes + 40 * rpkt),
        "tunnel_parents": pa.array(["(empty)"] * n),
    }  # fmt: skip


def write_conn_tsv(path: Path, n: int) -> Path:
    body = path.with_suffix(".body")
    pacsv.write_csv(pa.table(conn_columns(n)), body, pacsv.WriteOptions(
        include_header=False, delimiter="\t", quoting_style="none"))  # fmt: skip
    with open(path, "wb") as out, open(body, "rb") as src:
        out.write(conn_header().encode())
        shutil.copyfileobj(src, out, 16 << 20)
        out.write(b"#close\t2026-11-29-00-00-00\n")
    body.unlink()
    return path


def write_conn_json(path: Path, n: int) -> Path:
    import duckdb

    cols = conn_columns(n)
    for name in ("ts", "duration"):
        cols[name] = pa.array(np.asarray(cols[name].to_numpy(zero_copy_only=False), dtype=float))
    table = pa.table({k: v for k, v in cols.items() if k not in ("local_orig", "tunnel_parents")})
    con = duckdb.connect()
    con.register("t", table)
    con.execute(f"COPY t TO '{path}' (FORMAT json)")
    return path


def timed(fn):
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def cpu_timed(fn):
    """(wall s, CPU s of every thread of this process, result): on a shared machine the CPU
    seconds say what a run costs, the wall seconds what the other users left it."""
    began, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - began, time.process_time() - cpu, out


def bench_tsv(work: Path, n: int) -> None:
    log = write_conn_tsv(work / "conn.log", n)
    size = log.stat().st_size / 1e6
    try:
        from zat.log_to_dataframe import LogToDataFrame
    except ImportError:
        zat_s = None
    else:

        def zat():
            LogToDataFrame().create_dataframe(str(log)).to_parquet(work / "zat.parquet")

        zat_s, zat_cpu, _ = cpu_timed(zat)
    ours_s, ours_cpu, report = cpu_timed(lambda: ingest(log, work / "lake-tsv", progress=False))
    assert report.rows == {"flow": n} and report.rejected == 0
    line = (f"Zeek conn TSV {n:,} lines ({size:,.0f} MB): spot-lab {ours_s:.2f} s "
            f"({n / ours_s:,.0f} lines/s, {ours_cpu:.2f} CPU-s)")  # fmt: skip
    if zat_s:
        line += (f"; zat LogToDataFrame + to_parquet {zat_s:.2f} s ({zat_cpu:.2f} CPU-s): "
                 f"{zat_s / ours_s:.1f}x")  # fmt: skip
    print(line, flush=True)


def bench_json(work: Path, n: int) -> None:
    log = write_conn_json(work / "conn.json.log", n)
    secs, cpu, report = cpu_timed(lambda: ingest(log, work / "lake-json", progress=False))
    assert report.rows == {"flow": n} and report.rejected == 0, report
    print(f"Zeek conn JSON {n:,} lines ({log.stat().st_size / 1e6:,.0f} MB): {secs:.2f} s "
          f"({n / secs:,.0f} lines/s, {cpu:.2f} CPU-s)", flush=True)  # fmt: skip


def bench_big(work: Path, gigabytes: float) -> None:
    """A log of `gigabytes` GB (1M-line bodies repeated) ingested by a child process."""
    one = write_conn_tsv(work / "one.log", 1_000_000).read_bytes()
    header_end = one.index(b"\n", one.index(b"#types")) + 1
    body = one[header_end : one.rindex(b"#close")]
    big = work / "big.log"
    copies = max(1, round(gigabytes * 1e9 / len(body)))
    with open(big, "wb") as out:
        out.write(one[:header_end])
        for _ in range(copies):
            out.write(body)
    # the child prints its own peak (VmHWM of its process image): ru_maxrss, from wait4 or
    # RUSAGE_CHILDREN, keeps the RSS the child had before exec, i.e. this process's (the log's
    # 1M-line body and whatever earlier benches left: 600 MB to 1.2 GB)
    code = ("import sys; from spot_lab.ingest import ingest; "
            "r = ingest(sys.argv[1], sys.argv[2], progress=False); "
            "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0].split()[1]; "
            "print(int(hwm) // 1024, r.rows)")  # fmt: skip
    del one, body
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(big), str(work / "lake-big")],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    secs = time.perf_counter() - began
    peak, _, rows = done.stdout.strip().partition(" ")
    said = rows if done.returncode == 0 else done.stderr[-300:]
    print(f"{big.stat().st_size / 1e9:.2f} GB log ({copies:,}M lines): {secs:.1f} s, "
          f"peak RSS {peak or '?'} MB ({said})", flush=True)  # fmt: skip
    big.unlink()


def _pcap(path: Path, n: int) -> None:
    """n one-packet UDP flows, written as raw pcap records (two hours ago: see tools.py)."""
    t0 = int(time.time()) - 7200
    head = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    with open(path, "wb") as out:
        out.write(head)
        for i in range(n):
            sport, dst = 1024 + i % 60000, (10 << 24) | (1 << 16) | (i // 60000)
            ip = struct.pack("!BBHHHBBH4sI", 0x45, 0, 28 + 8, i & 0xFFFF, 0, 64, 17, 0,
                             bytes([10, 0, 0, 1]), dst)  # fmt: skip
            frame = (
                b"\x00" * 12 + b"\x08\x00" + ip + struct.pack("!HHHH", sport, 53, 16, 0) + b"x" * 8
            )
            out.write(
                struct.pack("<IIII", t0 + i // 10000, (i % 10000) * 100, len(frame), len(frame))
            )
            out.write(frame)


def bench_nfcapd(work: Path, n: int) -> None:
    from spot_lab.ingest.tools import softflowd_nfcapd

    pcap = work / "flows.pcap"
    _pcap(pcap, n)
    keep = work / "nfcapd"
    keep.mkdir()
    with softflowd_nfcapd(pcap) as (files, exported):
        for f in files:
            shutil.copy(f, keep / f.name)
    secs, report = timed(lambda: ingest(keep, work / "lake-nf", progress=False))
    rows = report.rows.get("flow", 0)
    print(f"nfcapd files ({exported} flows exported by softflowd, {rows:,} read): {secs:.2f} s "
          f"({rows / secs:,.0f} flows/s)", flush=True)  # fmt: skip


def bench_rerun(work: Path, files: int = 1000) -> None:
    folder = work / "many"
    folder.mkdir()
    head = conn_header()
    for i in range(files):
        lines = "".join(
            f"{START + i * 60 + k}.000000\tC{i}x{k}\t10.0.0.{k + 1}\t5000\t10.0.1.1\t53\tudp\tdns\t0.01\t40\t80\tSF\t-\t0\tDd\t1\t68\t1\t108\t(empty)\n"
            for k in range(10)
        )
        (folder / f"conn.{i:04d}.log").write_text(head + lines)
    first, _ = timed(lambda: ingest(folder, work / "lake-many", progress=False))
    again, report = timed(lambda: ingest(folder, work / "lake-many", progress=False))
    assert report.rows == {} and len(report.files) == files
    print(
        f"rerun over {files:,} ingested files: {again:.2f} s (first ingest {first:.1f} s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--big", type=float, default=0.0, help="also a log of this many GB")
    parser.add_argument("--no-nfcapd", action="store_true")
    parser.add_argument(
        "--only", choices=("tsv", "json", "nfcapd", "rerun", "big"), help="one bench"
    )
    args = parser.parse_args()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="spot-lab-bench-ingest-") as tmp:
        work = Path(tmp)
        run = lambda name: args.only in (None, name)  # noqa: E731
        if run("tsv"):
            bench_tsv(work, args.lines)
        if run("json"):
            bench_json(work, args.lines)
        if run("nfcapd") and not args.no_nfcapd and shutil.which("softflowd"):
            bench_nfcapd(work, args.lines)
        if run("rerun"):
            bench_rerun(work)
        if args.big and run("big"):
            bench_big(work, args.big)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
