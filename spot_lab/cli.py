"""The `spot-lab` command: generate demo data, ingest logs, score or index a day, run the demo,
check a lake."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spot_lab import __version__
from spot_lab.dates import parse_date
from spot_lab.errors import InputError, SpotLabError


def positive_int(text: str, option: str = "the value") -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a whole number") from None
    if value <= 0:
        raise InputError(f"{option} {value} must be greater than zero")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    from spot_lab import limits
    from spot_lab.demo.generator import generate

    limits.number(args.seed, "seed", "--seed")
    summary = generate(
        args.lake,
        parse_date(args.date),
        days=positive_int(args.days, "--days"),
        flows_per_day=positive_int(args.flows_per_day, "--flows-per-day"),
        seed=args.seed,
        force=args.force,
        progress=not args.quiet,
    )
    print(summary)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from spot_lab.scoring import score_command

    print(
        score_command(
            args.type,
            parse_date(args.date),
            lake=args.lake,
            conn=args.conn,
            tol=args.tol,
            limit=args.limit,
            topics=args.topics,
            seed=args.seed,
            detectors=args.detectors,
        )
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from spot_lab.demo.command import run_demo

    return run_demo(
        lake=args.lake,
        execute=args.execute,
        output=args.output,
        port=args.port,
        flows_per_day=args.flows_per_day,
        open_browser=not args.no_browser,
        logs=args.logs,
    )


def _cmd_index(args: argparse.Namespace) -> int:
    from spot_lab.config import load_settings
    from spot_lab.store.ipindex import build
    from spot_lab.store.lake import Lake

    lake = Lake(args.lake or load_settings().lake)
    print(build(lake, parse_date(args.date), progress=not args.quiet).summary())
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from spot_lab.config import load_settings
    from spot_lab.store.lake import Lake

    lake = Lake(args.lake or load_settings().lake)
    count = lake.check()
    print(f"{lake.root}: {count} parquet files, all readable")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (argparse prints the usage block first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spot-lab", description="Investigate Apache Spot network data in Jupyter."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="write realistic demo days of flow, DNS and proxy data",
        description="Write demo days of flow, DNS and proxy data, with injected threats, to a lake.",
    )
    gen.add_argument("--lake", required=True, help="lake folder to create")
    gen.add_argument("--date", required=True, help="first day, YYYY-MM-DD")
    gen.add_argument("--days", default="1", help="number of consecutive days (default 1)")
    gen.add_argument(
        "--flows-per-day", default="200000", help="flow records per day (default 200000)"
    )
    gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    gen.add_argument("--force", action="store_true", help="replace a non-empty lake folder")
    gen.add_argument("--quiet", action="store_true", help="no progress output")
    gen.set_defaults(run=_cmd_generate)

    score = sub.add_parser(
        "score",
        help="run Spot's suspicious-connects model for one day",
        description="Run Spot's suspicious-connects model on one day and write <type>_scores.",
    )
    score.add_argument("--type", required=True, help="flow, dns or proxy")
    score.add_argument("--date", required=True, help="day to score, YYYY-MM-DD")
    where = score.add_mutually_exclusive_group()
    where.add_argument("--lake", help="lake folder (default: SpotLab.lake)")
    where.add_argument("--conn", help="engine URL, e.g. hive://host:10000/spot")
    score.add_argument("--tol", type=float, default=None, help="keep events scoring <= TOL")
    score.add_argument("--limit", type=int, default=None, help="keep the N most suspicious")
    score.add_argument("--topics", type=int, default=None, help="LDA topics (default 20)")
    score.add_argument("--seed", type=int, default=None, help="LDA seed")
    score.add_argument(
        "--detectors",
        default=None,
        help="comma-separated detectors for the day's threats list (default: all of the type)",
    )
    score.set_defaults(run=_cmd_score)

    index = sub.add_parser(
        "index",
        help="build one day's IP index of flows (fast %%spot_threat on the lake)",
        description="Build one day's IP index of flows, so %spot_threat skips the full scan.",
    )
    index.add_argument("--date", required=True, help="day to index, YYYY-MM-DD")
    index.add_argument("--lake", help="lake folder (default: SpotLab.lake)")
    index.add_argument("--quiet", action="store_true", help="no progress output")
    index.set_defaults(run=_cmd_index)

    demo = sub.add_parser(
        "demo",
        help="open JupyterLab on the demo notebook (or run it headless)",
        description="Open JupyterLab on the demo notebook, or run it headless (--execute).",
    )
    demo.add_argument("--lake", help="demo lake folder (default: SpotLab.lake)")
    demo.add_argument(
        "--execute",
        action="store_true",
        help="run the demo notebook without a browser and write an HTML report",
    )
    demo.add_argument("--output", default=None, help="HTML report path for --execute")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")
    demo.add_argument(
        "--flows-per-day", type=int, default=200_000, help="size of the generated demo day"
    )
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser")
    demo.add_argument(
        "--logs",
        help="a folder of your own logs: ingest and score it, then open the notebook on it",
    )
    demo.set_defaults(run=_cmd_demo)

    from spot_lab.ingest.command import add_parser as add_ingest

    add_ingest(sub)

    check = sub.add_parser(
        "check",
        help="verify that every parquet file of a lake is readable",
        description="Verify that every parquet file of a lake is readable.",
    )
    check.add_argument("--lake", help="lake folder (default: SpotLab.lake)")
    check.set_defaults(run=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for option in ("lake", "conn", "output"):  # "" would silently mean the default
            if getattr(args, option, None) == "":
                raise InputError(f"--{option} is empty: give a folder or URL, or leave it out")
        return args.run(args)
    except SpotLabError as exc:
        print(f"spot-lab {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"spot-lab {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the system refused (a read-only folder...): one line, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"spot-lab {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
