"""Streaming, columnar reads of a log: blocks of whole lines (memory depends on the block
size, never the file size), each parsed by pyarrow's multithreaded CSV reader into Arrow
columns (delimited logs) or one `line` column (JSON and regex logs, parsed in SQL).

A block's lines keep their numbers in the file (`_line`), so rejected lines are reported
where they are. Lines with the wrong number of fields come back as `bad` rows; a block
whose typed read fails (a value that is no number, say) is read again as text, and the
mapping's SQL then rejects exactly the bad lines.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from spot_lab.ingest import mapping as M
from spot_lab.ingest.detect import Detected, Header, elff_fields, elff_header, zeek_header
from spot_lab.ingest.sql import Columns

# Each MB of block holds 15-25 MB of process memory (its bytes, parsed columns, DuckDB's
# result, the chunk read ahead): a 3 GB conn.log peaked at 471-481 MB with 4 MB blocks,
# 614 MB with 8 MB ones (and 128k-row writer buffers). Smaller blocks cost more chunks, each
# planned by DuckDB (5-10 ms whatever its size)
BLOCK_BYTES = 4 * 1024 * 1024
MAX_LINE = 8 * 1024 * 1024  # a longer "line" is rejected (a binary blob, a missing newline)
_UNIT = "\x1f"  # never in a JSON text (control characters are escaped) or a log line
# Zeek types pyarrow can parse directly (the fast path); everything else is read as text
_ARROW = {"time": pa.float64(), "interval": pa.float64(), "double": pa.float64(),
          "count": pa.int64(), "int": pa.int64(), "port": pa.int32()}  # fmt: skip


class Truncated(Exception):
    """The decompressor failed: the data after `line` cannot be read."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Block:
    first_line: int  # number of the block's first line (1-based)
    data: bytes  # whole lines, each ending with a newline
    end: int  # decompressed offset just after the block
    lines: int = -1  # newlines in data (counted once: it costs a pass over the block)

    def __post_init__(self) -> None:
        if self.lines < 0:
            self.lines = self.data.count(b"\n")


@dataclass
class Chunk:
    """Parsed lines of a block: `table` has `_line` plus the layout's columns."""

    table: pa.Table
    layout: object  # sql.Columns | sql.JsonLines | sql.RegexLines
    block: Block
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, text)
    header: Header | None = None

    def texts(self, lines: list[int]) -> dict[int, str]:
        """The source text of some of the block's lines (for rejects)."""
        if "line" in self.table.column_names:
            index = np.searchsorted(self.table["_line"].to_numpy(), lines)
            values = self.table["line"].take(pa.array(index)).to_pylist()
            return dict(zip(lines, values, strict=True))
        rows = self.block.data.split(b"\n")
        return {n: rows[n - self.block.first_line].decode("utf-8", "replace") for n in lines}


def blocks(stream: BinaryIO, *, first_line: int = 1, offset: int = 0, complete: bool = False,
           size: int | None = None) -> Iterator[Block]:  # fmt: skip
    """Whole lines of a decompressed stream, about `size` (BLOCK_BYTES) bytes at a time. A last
    line without its newline is held back (a live file may still be writing it) unless the
    stream is `complete` (compressed)."""
    size = size or BLOCK_BYTES
    carry = b""
    line = first_line
    while True:
        try:
            data = stream.read(size)
        except (OSError, EOFError, ValueError) as exc:
            raise Truncated(line + carry.count(b"\n"), _one_line(exc)) from None
        if not data:
            break
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(carry) + len(data) > MAX_LINE:
            cut = len(data)  # no newline in MAX_LINE bytes: pass it on, it will be rejected
        if not cut:
            carry += data
            continue
        # one copy of the block's bytes (carry + data would copy the read buffer twice)
        whole = b"".join((carry, memoryview(data)[:cut], b"" if data[cut - 1] == 10 else b"\n"))
        offset += len(carry) + cut
        carry = data[cut:]
        block = Block(line, whole, offset)
        line += block.lines
        yield block
    if carry and complete:
        yield Block(line, carry + b"\n", offset + len(carry))


# ---- parsers ------------------------------------------------------------------------------------
def _parse(data: bytes, names: list[str], include: list[str], types: dict[str, pa.DataType],
           delimiter: str, quote: str | bool, nulls: list[str]) -> tuple[pa.Table, list[str]]:  # fmt: skip
    invalid: list[str] = []

    def handler(row) -> str:
        invalid.append(row.text)
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(data),  # zero-copy, no GIL (io.BytesIO is read through Python)
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 20),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, quote_char=quote, escape_char=False, double_quote=bool(quote),
            ignore_empty_lines=True, invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            include_columns=include, column_types={n: types.get(n, pa.string()) for n in include},
            null_values=nulls, strings_can_be_null=bool(nulls) and not quote,
            quoted_strings_can_be_null=False),
    )  # fmt: skip
    return table, invalid


def _line_numbers(data: bytes, first: int, invalid: list[str], kept: int,
                  total: int = -1) -> tuple[np.ndarray, list]:  # fmt: skip
    """Line numbers of the parsed rows and (line, text) of the invalid ones. Empty lines are
    neither (pyarrow skips them); finding them, like finding invalid rows, splits the block."""
    total = data.count(b"\n") if total < 0 else total
    if not invalid and kept == total:  # every line is a row: the common case
        return np.arange(first, first + total, dtype=np.int64), []
    wanted = collections.Counter(t.encode("utf-8", "surrogateescape") for t in invalid)
    skip_idx, bad = [], []
    for i, row in enumerate(data.split(b"\n")[:total]):
        text = row.rstrip(b"\r")
        if not text:
            skip_idx.append(i)
        elif wanted.get(text, 0) or wanted.get(row, 0):
            wanted[text if wanted.get(text, 0) else row] -= 1
            skip_idx.append(i)
            bad.append((first + i, row.decode("utf-8", "replace")))
    lines = np.delete(np.arange(first, first + total, dtype=np.int64), skip_idx)
    return lines[:kept], bad


def delimited(block: Block, first: int, data: bytes, m: M.Mapping, header: Header,
              quote: str | bool, list_sep: str, empty: str | None) -> Chunk:  # fmt: skip
    """Parse whole lines of a delimited log: typed where the header's types allow."""
    names = header.fields
    include = [n for n in names if n in m.fields]
    rest = tuple(n for n in names if n not in m.fields)
    include_all = include + list(rest)
    nulls = [header.unset_field] if header.unset_field else []
    ztypes = dict(zip(header.fields, header.types, strict=False)) if header.types else m.fields
    fast = {n: _ARROW[t] for n, t in ztypes.items()
            if n in include and t in _ARROW and M.sql_type(m.fields[n], "duckdb") in ("DOUBLE", "BIGINT", "INTEGER")}  # fmt: skip
    if not include_all:
        raise ValueError("no field of the mapping in this log")
    try:
        table, invalid = _parse(data, names, include_all, fast, header.separator, quote, nulls)
    except pa.ArrowInvalid:  # a value that is no number: read as text, SQL rejects the lines
        fast = {}
        table, invalid = _parse(data, names, include_all, {}, header.separator, quote, nulls)
    whole = block.lines if len(data) == len(block.data) else -1
    lines, bad = _line_numbers(data, first, invalid, table.num_rows, whole)
    bad = [(n, f"{_count_fields(t, header.separator)} fields, expected {len(names)}", t)
           for n, t in bad]  # fmt: skip
    table = table.append_column("_line", pa.array(lines))
    layout = Columns(tuple(include), tuple(fast), rest, list_sep, empty, "T", header.unset_field)
    return Chunk(table, layout, block, bad, header)


def _count_fields(text: str, sep: str) -> int:
    return text.count(sep) + 1


def single_column(block: Block, layout) -> Chunk:
    """Each line as the `line` column (JSON and regex logs)."""
    table, invalid = _parse(block.data, ["line"], ["line"], {}, _UNIT, False, [])
    lines, bad = _line_numbers(block.data, block.first_line, invalid, table.num_rows, block.lines)
    table = table.append_column("_line", pa.array(lines))
    reasons = [(n, "a control character (0x1f) in the line", t) for n, t in bad]
    return Chunk(table, layout, block, reasons)


def _hash_lines(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of the lines that start with '#'. A one-byte find is memchr (about 50x
    faster than finding b"\\n#"); a '#' inside a line falls back to the two-byte find."""
    at = data.find(b"#")
    while at >= 0:
        if at and data[at - 1] != 10:  # not at a line's start
            at = data.find(b"\n#", at)
            if at < 0:
                return
            at += 1
        end = data.find(b"\n", at) + 1 or len(data)
        yield at, end
        at = data.find(b"#", end)


def header_segments(block: Block, header: Header, kind: str) -> Iterator[tuple[int, bytes, Header]]:
    """Split a Zeek or ELFF block at its #-lines (a log may restart mid-file with a new
    header); yields (first line, data lines, the header in force), the last one always."""
    data, pos, line = block.data, 0, block.first_line
    for start, end in _hash_lines(data):
        if start > pos:
            part = data[pos:start]
            yield line, part, header
            line += part.count(b"\n")
        text = data[start:end].decode("utf-8", "replace").rstrip("\r\n")
        if kind == "zeek":
            header = _copy(header)
            zeek_header([text], header)
        elif elff_fields(text):
            header = elff_header(elff_fields(text) or [])
        line += 1
        pos = end
    yield line, data[pos:], header  # always: the caller keeps the header in force


def _copy(header: Header) -> Header:
    return Header(list(header.fields), list(header.types), header.separator,
                  header.set_separator, header.empty_field, header.unset_field)  # fmt: skip


# nfdump's trailers: its summary, or the line it prints instead of rows for an empty file
NFDUMP_TRAILERS = (b"Summary", b"No matching flows")


def trailer_cut(block: Block, markers: tuple[bytes, ...]) -> tuple[Block, bool]:
    """Cut a block at the first trailer line (nfdump's 'Summary'); (block, found)."""
    if any(block.data.startswith(m + b"\n") for m in markers):
        return Block(block.first_line, b"", block.end), True
    found = [at for m in markers if (at := block.data.find(b"\n" + m + b"\n")) >= 0]
    if not found:
        return block, False
    return Block(block.first_line, block.data[: min(found) + 1], block.end), True


def skip_first_line(block: Block) -> Block:
    cut = block.data.find(b"\n") + 1
    return Block(block.first_line + 1, block.data[cut:], block.end)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def chunks(found: Detected, m: M.Mapping, stream_blocks: Iterator[Block]) -> Iterator[Chunk]:
    """The parsed chunks of one log for one mapping's fields."""
    header = found.header
    if found.layout in ("json", "regex"):
        from spot_lab.ingest.sql import JsonLines, RegexLines

        layout = (
            JsonLines(nested=found.family == "suricata")
            if found.layout == "json"
            else RegexLines(m.pattern or "")
        )
        for block in stream_blocks:
            yield single_column(block, layout)
        return
    for index, block in enumerate(stream_blocks):
        if found.layout in ("csv", "tsv") and found.family != "zeek":
            if index == 0 and block.first_line == 1:
                block = skip_first_line(block)  # the header line
            block, done = (
                trailer_cut(block, NFDUMP_TRAILERS) if found.family == "nfdump" else (block, False)
            )
            if len(block.data) > 1:
                yield delimited(block, block.first_line, block.data, m, header, False, ",", None)
            if done:
                return
            continue
        kind = "zeek" if found.family == "zeek" else "elff"
        quote = False if kind == "zeek" else '"'
        for first, data, current in header_segments(block, header, kind):
            header = current
            if header.fields and len(data) > 1:
                yield delimited(block, first, data, m, header, quote, header.set_separator,
                                header.empty_field)  # fmt: skip
