"""Progress of an ingest: bytes read (MB/s and time left) and rows, as a tqdm bar on the
terminal or tqdm's widget in a notebook (tqdm.auto picks); plain lines without tqdm."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total_bytes: int, enabled: bool = True) -> None:
        self.rows = 0
        self.bar = None
        self.enabled = enabled and total_bytes > 0
        self._last = 0.0
        self._done = 0
        self.total = total_bytes
        self.began = time.perf_counter()
        if not self.enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024,
                        desc="ingest", dynamic_ncols=True, leave=False)  # fmt: skip

    def advance(self, nbytes: int, rows: int = 0) -> None:
        self.rows += rows
        self._done += nbytes
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(nbytes)
            self.bar.set_postfix_str(f"{self.rows:,} rows", refresh=False)
            return
        now = time.perf_counter()
        if now - self._last >= 2.0:  # plain lines: one every two seconds at most
            self._last = now
            rate = self._done / max(now - self.began, 1e-9)
            left = (self.total - self._done) / rate if rate else 0
            print(f"  ingest: {self._done / 1e6:,.0f} of {self.total / 1e6:,.0f} MB, "
                  f"{self.rows:,} rows, {rate / 1e6:,.1f} MB/s, {left:,.0f} s left",
                  file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
