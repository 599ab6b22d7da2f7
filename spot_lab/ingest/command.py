"""`spot-lab ingest`: the command line of spot_lab.ingest (cli.py registers it)."""

from __future__ import annotations

import argparse

from spot_lab.errors import InputError

HELP = "ingest Zeek, Suricata, nfdump/nfcapd, pcap, squid or Blue Coat logs into Spot's tables"


def add_parser(sub) -> argparse.ArgumentParser:
    from spot_lab.ingest.run import FORMATS

    p = sub.add_parser(
        "ingest",
        help=HELP,
        description="Ingest sensor logs (Zeek, Suricata, nfdump, pcap, proxy) into a lake.",
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE",
                   help="log files, folders (recursive) or globs; plain, gzip, bz2, zstd or xz")  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument("--lake", help="lake folder (default: SpotLab.lake); created when missing")
    where.add_argument("--conn", help="a HiveServer2 URL (hive://...): ingest with --spark there")
    p.add_argument("--format", default="auto", choices=FORMATS, help="only accept this format")
    p.add_argument("--follow", action="store_true",
                   help="keep watching the sources and ingest what is written to them")  # fmt: skip
    p.add_argument("--interval", type=float, default=2.0, help="--follow's check period (s)")
    p.add_argument("--summary", action="store_true",
                   help="show the ingest summary (records per hour) of the lake")  # fmt: skip
    p.add_argument("--spark", action="store_true",
                   help="run the mappings as a Spark job writing Spot's Hive tables")  # fmt: skip
    p.add_argument("--warehouse", help="--spark: folder (or hdfs:// URL) of the Spot tables")
    p.add_argument("--master", default="local[*]", help="--spark: Spark master (default local[*])")
    p.add_argument("--database", default="spot", help="--spark: Hive database (default spot)")
    p.add_argument("--max-skew-days", type=float, default=7.0,
                   help="reject events this many days from their neighbours' time (default 7)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    if args.spark or args.conn:
        return _spark(args)
    if not args.sources and not args.summary:
        raise InputError("give log files or folders to ingest (or --summary)")
    from spot_lab.config import load_settings
    from spot_lab.ingest.run import open_lake

    lake = open_lake(args.lake or load_settings().lake)
    status = 0
    if args.follow:
        from spot_lab.ingest.follow import follow

        return follow(args.sources, lake, interval=args.interval, format=args.format,
                      progress=not args.quiet, max_skew_days=args.max_skew_days)  # fmt: skip
    if args.sources:
        from spot_lab.ingest import ingest

        report = ingest(args.sources, lake.root, format=args.format, progress=not args.quiet,
                        max_skew_days=args.max_skew_days)  # fmt: skip
        print(report, flush=True)
        status = report.exit_status
    if args.summary:
        from spot_lab.ingest.summary import chart

        print(chart(lake))
    return status


def _spark(args: argparse.Namespace) -> int:
    if not args.sources:
        raise InputError("give log files or folders to ingest with --spark")
    from spot_lab.ingest.spark_job import spark_ingest

    warehouse = args.warehouse or args.lake
    if not warehouse:
        raise InputError("--spark needs --warehouse DIR (where the Spot tables' files live)")
    report = spark_ingest(args.sources, warehouse, conn=args.conn, database=args.database,
                          master=args.master)  # fmt: skip
    print(report, flush=True)
    return report.exit_status
