"""`spot-lab ingest --follow`: ingest, then keep watching the sources and ingest what is
written to them (new files, new complete lines of live logs, rotations), until Ctrl-C.
Folder events (watchdog, when installed) wake it at once; it also checks every `interval`
seconds, which is all it does without watchdog. Each round is an ordinary incremental
ingest (the manifest decides), printing only the files that gave something."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from spot_lab.ingest import sources as S
from spot_lab.ingest.run import Ingest
from spot_lab.store.lake import Lake


def _watch(paths: list[Path], wake: threading.Event):
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        return None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            wake.set()

    observer = Observer()
    for path in paths:
        folder = path if path.is_dir() else path.parent
        if folder.is_dir():
            observer.schedule(Handler(), str(folder), recursive=path.is_dir())
    observer.start()
    return observer


def follow(sources: list[str], lake: Lake, *, interval: float = 2.0, format: str = "auto",
           progress: bool = True, max_skew_days: float = 7.0,
           stop: threading.Event | None = None, out=sys.stdout) -> int:  # fmt: skip
    """Ingest rounds until `stop` is set (or Ctrl-C); 2 when any round rejected lines."""
    stop = stop or threading.Event()
    wake = threading.Event()
    observer = _watch([Path(s).expanduser() for s in sources], wake)
    status, first = 0, True
    try:
        while not stop.is_set():
            wake.clear()
            files, missing = S.expand(sources, exclude=lake.root)
            report = Ingest(lake, format=format, progress=progress and first,
                            max_skew_days=max_skew_days).run(files, [] if not first else missing)  # fmt: skip
            for line in (
                f.line()
                for f in report.files
                if first or f.status not in ("unchanged", "refused", "skipped")
            ):
                print(line, file=out, flush=True)
            status = max(status, report.exit_status)
            if first:
                print(f"following {len(sources)} source(s); Ctrl-C stops", file=out, flush=True)
            first = False
            wake.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
    return status
