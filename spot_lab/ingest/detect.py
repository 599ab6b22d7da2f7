"""Which log is this file? Decided from its content, never its name: compression by magic
bytes (gzip, bz2, zstd, xz), then pcap/pcapng/nfcapd magic, Zeek's #fields/#types header or
its JSON keys and _path, Suricata's event_type, nfdump's and tshark's CSV headers, Blue
Coat's ELFF header, squid's line formats. Anything else is refused by name (UnknownFormat).
"""

from __future__ import annotations

import bz2
import json
import lzma
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spot_lab.errors import InputError
from spot_lab.ingest import mapping

HEAD_BYTES = 64 * 1024
_COMPRESSION = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
}
_PCAP = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1",
         b"\x0a\x0d\x0d\x0a")  # fmt: skip
_NFCAPD = b"\x0c\xa5"  # nfdump's file magic 0xA50C, little endian
_ELFF_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")
# Zeek JSON logs without _path: the log kind from the keys it always writes
_ZEEK_KEYS = {
    "conn": ({"id.orig_h", "conn_state"}, {"id.orig_h", "orig_pkts"}),
    "dns": ({"query", "qtype"}, {"trans_id", "rcode"}, {"query", "rcode"}),
    "http": ({"method", "uri"}, {"host", "status_code"}, {"trans_depth", "uri"}),
    "dhcp": ({"msg_types"}, {"assigned_addr"}, {"client_addr", "mac"}, {"assigned_ip", "mac"}),
}
KNOWN = (
    "Zeek (TSV or JSON), Suricata EVE, nfdump CSV, nfcapd, pcap, tshark fields, squid, Blue Coat"
)


class UnknownFormat(InputError):
    """A file that is no log spot-lab knows (or one it knows but maps to no table)."""

    def __init__(self, message: str, skipped: bool = False) -> None:
        super().__init__(message)
        self.skipped = skipped  # a known log with no Spot table (Zeek ssl.log): not an error


@dataclass
class Header:
    """A delimited log's field names and how it writes values."""

    fields: list[str]
    types: list[str] = field(default_factory=list)
    separator: str = "\t"
    set_separator: str = ","
    empty_field: str | None = None
    unset_field: str | None = None


@dataclass
class Detected:
    path: Path
    family: str  # the mappings' `source`: zeek, suricata, nfdump, tshark, squid, ...
    layout: str  # tsv | csv | elff | json | regex | pcap | nfcapd
    kind: str | None = None  # Zeek's log kind; None for mixed streams (Suricata)
    compression: str = "none"
    header: Header | None = None
    head: bytes = b""  # the first HEAD_BYTES of the decompressed content

    @property
    def label(self) -> str:
        what = f"{self.family} {self.kind}" if self.kind else self.family
        return what if self.compression == "none" else f"{what} ({self.compression})"


def compression_of(head: bytes) -> str:
    return next((name for magic, name in _COMPRESSION.items() if head.startswith(magic)), "none")


class Decompressed:
    """A decompressing reader that gives back every byte it could decode: after a truncated
    or corrupt stream (a gzip cut short), reads return the good data first, then raise."""

    def __init__(self, raw: BinaryIO, factory) -> None:
        self.raw, self.factory = raw, factory
        self.dec = factory()
        self.buf = bytearray()
        self.error: Exception | None = None
        self.ended = False

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        while len(self.buf) < want and not self.ended and self.error is None:
            self._more()
        if not self.buf and self.error is not None:
            error, self.error = self.error, None
            self.ended = True
            raise error
        out = bytes(self.buf[:want])
        del self.buf[:want]
        return out

    def _more(self) -> None:
        data = self.raw.read(1 << 20)
        if not data:
            if not self.dec.eof:
                self.error = EOFError("the compressed data ends before its end marker")
            self.ended = True
            return
        try:
            self.buf += self.dec.decompress(data)
            while self.dec.eof and self.dec.unused_data:  # the next member or frame
                rest = self.dec.unused_data
                self.dec = self.factory()
                self.buf += self.dec.decompress(rest)
        except Exception as exc:  # noqa: BLE001 - zlib.error, OSError, LZMAError, ZstdError
            self.error = EOFError(f"corrupt compressed data ({_one_line(exc)})")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _factory(compression: str):
    if compression == "gzip":
        return lambda: zlib.decompressobj(wbits=47)
    if compression == "bz2":
        return bz2.BZ2Decompressor
    if compression == "xz":
        return lzma.LZMADecompressor
    try:
        import zstandard
    except ImportError:
        raise InputError(
            "zstd-compressed logs need the zstandard package: pip install 'spot-lab[ingest]'"
        ) from None
    return lambda: zstandard.ZstdDecompressor().decompressobj()


def open_stream(raw: BinaryIO, compression: str) -> BinaryIO:
    """The decompressed bytes of an open file (`raw` keeps the compressed position)."""
    if compression == "none":
        return raw
    return Decompressed(raw, _factory(compression))  # type: ignore[return-value]


def read_head(path: Path) -> tuple[str, bytes]:
    """(compression, the first HEAD_BYTES of the decompressed content)."""
    with open(path, "rb") as raw:
        compression = compression_of(raw.read(6))
        raw.seek(0)
        stream = open_stream(raw, compression)
        try:
            head = stream.read(HEAD_BYTES)
        except EOFError:
            head = b""
        if not head and compression != "none":
            raise UnknownFormat(f"{path.name}: cannot decompress its {compression} data")
        return compression, head


def sniff(path: Path) -> Detected:
    """Detect one file's format and log kind; UnknownFormat naming it otherwise."""
    compression, head = read_head(path)
    found = _detect(path, head, compression)
    found.compression, found.head = compression, head
    return found


def _detect(path: Path, head: bytes, compression: str) -> Detected:
    if head[:4] in _PCAP:
        return Detected(path, "pcap", "pcap", None)
    if head.startswith(_NFCAPD):
        if compression != "none":
            raise UnknownFormat(f"{path.name}: a compressed nfcapd file: decompress it first")
        return Detected(path, "nfdump", "nfcapd", "flow")
    if not head.strip():
        raise UnknownFormat(f"{path.name}: empty file, no log lines", skipped=True)
    if b"\x00" in head:
        raise UnknownFormat(f"{path.name}: a binary file that is no log spot-lab knows ({KNOWN})")
    lines = [ln for ln in head.decode("utf-8", "replace").splitlines()[:50] if ln.strip()]
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut by the head's end
    return _text_format(path, lines)


def _text_format(path: Path, lines: list[str]) -> Detected:
    first = lines[0]
    if first.startswith("#separator") or first.startswith("#fields"):
        return _zeek_tsv(path, lines)
    if first.lstrip().startswith("{"):
        return _json(path, lines)
    if first.startswith("#Software: SGOS") or any(ln.startswith("#Fields:") for ln in lines[:10]):
        return _elff(path, lines)
    if first.startswith("ts,te,td,sa,da,sp,dp,pr"):
        return Detected(
            path, "nfdump", "csv", "flow", header=Header(first.split(","), separator=",")
        )
    if first.startswith("frame.time") and "dns." in first:
        return Detected(path, "tshark", "tsv", "dns", header=Header(first.split("\t")))
    if _ELFF_DATE.match(first) and len(first.split()) >= 20:
        names = list(mapping.for_source("bluecoat")[0].default_fields)
        return Detected(path, "bluecoat", "elff", "access", header=elff_header(names))
    for source in ("squid", "squid_combined"):
        pattern = re.compile(mapping.for_source(source)[0].pattern)
        if sum(bool(pattern.match(ln)) for ln in lines) * 2 > len(lines):
            return Detected(path, source, "regex", "access")
    raise UnknownFormat(f"{path.name}: not a log spot-lab knows ({KNOWN})")


def _escape(value: str) -> str:
    return value.encode("utf-8").decode("unicode_escape") if "\\x" in value else value


def zeek_header(lines: list[str], header: Header | None = None) -> tuple[Header, str | None]:
    """Read Zeek's #-lines into a Header; (header, #path)."""
    header = header or Header([])
    path = None
    for line in lines:
        if not line.startswith("#"):
            break
        key, _, value = line[1:].partition(" " if line.startswith("#separator ") else "\t")
        if line.startswith("#separator") and not value:
            key, value = "separator", line[len("#separator") :].strip()
        if key == "separator":
            header.separator = _escape(value.strip())
        elif key == "set_separator":
            header.set_separator = value
        elif key == "empty_field":
            header.empty_field = value
        elif key == "unset_field":
            header.unset_field = value
        elif key == "path":
            path = value
        elif key == "fields":
            header.fields = value.split(header.separator)
        elif key == "types":
            header.types = value.split(header.separator)
    return header, path


def _zeek_tsv(path: Path, lines: list[str]) -> Detected:
    header, kind = zeek_header(lines)
    if not header.fields:
        raise UnknownFormat(f"{path.name}: a Zeek log header without #fields")
    kind = kind or _zeek_kind(set(header.fields))
    return _zeek_known(Detected(path, "zeek", "tsv", kind, header=header))


def _zeek_kind(keys: set[str]) -> str | None:
    for kind, signatures in _ZEEK_KEYS.items():
        if any(sig <= keys for sig in signatures):
            return kind
    return None


def _zeek_known(found: Detected) -> Detected:
    if found.kind not in mapping.kinds("zeek"):
        what = f"a Zeek {found.kind} log" if found.kind else "a Zeek log of an unknown kind"
        kinds = ", ".join(mapping.kinds("zeek"))
        raise UnknownFormat(f"{found.path.name}: {what}: spot-lab maps Zeek {kinds}", skipped=True)
    return found


def _json(path: Path, lines: list[str]) -> Detected:
    record = None
    for line in lines[:10]:
        try:
            record = json.loads(line)
            break
        except ValueError:
            continue
    if not isinstance(record, dict):
        raise UnknownFormat(f"{path.name}: JSON that is no log spot-lab knows ({KNOWN})")
    if "event_type" in record and ("timestamp" in record or "src_ip" in record):
        return Detected(path, "suricata", "json")
    loaded = set(record) == {"name"} and str(record["name"]).endswith((".zeek", ".bro"))
    if "ts" in record or "_path" in record or loaded:  # Zeek's JSON logs carry ts (but one)
        kind = record.get("_path") or ("loaded_scripts" if loaded else _zeek_kind(set(record)))
        return _zeek_known(Detected(path, "zeek", "json", kind))
    raise UnknownFormat(f"{path.name}: JSON that is no log spot-lab knows ({KNOWN})")


def _elff(path: Path, lines: list[str]) -> Detected:
    spec = next((ln for ln in lines if ln.startswith("#Fields:")), None)
    if spec is None:
        names = list(mapping.for_source("bluecoat")[0].default_fields)
    else:
        names = spec[len("#Fields:") :].split()
    return Detected(path, "bluecoat", "elff", "access", header=elff_header(names))


def elff_header(names: list[str]) -> Header:
    """Blue Coat writes '-' for no value: no number then, but kept as text (as Spot did)."""
    return Header(names, separator=" ", unset_field="-")


def elff_fields(line: str) -> list[str] | None:
    return line[len("#Fields:") :].split() if line.startswith("#Fields:") else None
