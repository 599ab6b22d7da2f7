"""OA's enrichment of the flagged rows (reference 4.1 to 4.7): a few thousand rows, each
distinct value looked up once. Geolocation, internal flags and network context come from
spot_lab.enrich.geo / spot_lab.enrich.netcontext; IANA labels from the bundled tables."""

from __future__ import annotations

import csv
import logging
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd

from spot_lab.errors import SpotLabError
from spot_lab.scoring.reputation import reputation_of
from spot_lab.scoring.words import GENERIC_TLDS, country_codes

log = logging.getLogger(__name__)


@cache
def _iana(filename: str, key: str, value: str) -> dict[str, str]:
    text = resources.files("spot_lab.data").joinpath("iana", filename).read_text("utf-8")
    return {row[key].strip(): row[value].strip() for row in csv.DictReader(text.splitlines())}


def _label(codes: pd.Series, table: dict[str, str], normalise=str) -> pd.Series:
    def one(code):
        if code is None or (isinstance(code, float) and pd.isna(code)):
            return "Unknown ()"
        key = normalise(code)
        return table.get(key, f"Unknown ({code})")

    return codes.map(one)


def _int_text(code) -> str:
    text = str(code).strip()
    try:
        return str(int(text, 16) if text.lower().startswith("0x") else int(float(text)))
    except ValueError:
        return text


def dns_class_name(codes: pd.Series) -> pd.Series:
    return _label(codes, _iana("dns-qclass.csv", "Decimal", "Name"), _int_text)


def dns_type_name(codes: pd.Series) -> pd.Series:
    return _label(codes, _iana("dns-qtype.csv", "Value", "TYPE"), _int_text)


def dns_rcode_name(codes: pd.Series) -> pd.Series:
    return _label(codes, _iana("dns-rcode.csv", "RCODE", "Name"), _int_text)


def http_code_name(codes: pd.Series) -> pd.Series:
    return _label(codes, _iana("http-rcode.csv", "CODE", "DESCRIPTION"), _int_text)


def registered_domain(name: str) -> str:
    """The registered domain of a query name, e.g. dotomi.com for sjc04-login.dotomi.com."""
    labels = [p for p in str(name or "").lower().strip(".").split(".") if p]
    if len(labels) < 2:
        return ""
    if labels[-1] in country_codes() and (
        labels[-2] in GENERIC_TLDS or labels[-2] in ("co", "ac", "or", "ne", "go")
    ):
        return ".".join(labels[-3:]) if len(labels) >= 3 else ""
    return ".".join(labels[-2:])


def network_context(ips: pd.Series, settings, lake_root: Path | None) -> pd.Series:
    """Context name of each IP (reference 4.2/4.3 files), "" when none matches."""
    from spot_lab.enrich.netcontext import NetworkContext, context_path

    context = NetworkContext.from_csv(context_path(settings, lake_root or settings.lake))
    return pd.Series(context.name_of(ips).to_numpy(), index=ips.index).fillna("")


def ip_columns(ips: pd.Series, settings, lake_root: Path | None) -> pd.DataFrame:
    """internal (0/1), geoloc and domain per IP; geolocation is skipped when no database."""
    from spot_lab.enrich.netcontext import InternalRanges, internal_path, parse_ips

    root = lake_root or Path(settings.lake)
    try:
        from spot_lab.enrich.geo import default_geolocator, spot_columns

        out = spot_columns(ips, default_geolocator(settings, lake=root))
        out.index = ips.index
        return out
    except SpotLabError as exc:
        log.info("geolocation skipped: %s", exc)
    ranges = InternalRanges.from_csv(internal_path(settings, root))
    distinct = pd.Series(ips.unique())
    flags = pd.Series(ranges.is_internal(parse_ips(distinct)).astype("int32"), index=distinct)
    return pd.DataFrame(
        {"internal": ips.map(flags).astype("int32"), "geoloc": "", "domain": ""}, index=ips.index
    )


def _int32(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.clip(-(2**31), 2**31 - 1).astype("Int32")


def flow_scores(rows: pd.DataFrame, settings, lake_root: Path | None) -> pd.DataFrame:
    # both sides in one call: an IP seen as source and destination is looked up once
    both = ip_columns(pd.concat([rows["sip"], rows["dip"]], ignore_index=True), settings, lake_root)
    src = both.iloc[: len(rows)].set_axis(rows.index)
    dst = both.iloc[len(rows) :].set_axis(rows.index)
    return pd.DataFrame(
        {
            "tstart": rows["tstart"],
            "srcip": rows["sip"],
            "dstip": rows["dip"],
            "sport": rows["sport"],
            "dport": rows["dport"],
            "proto": rows["proto"],
            **{c: _int32(rows[c]) for c in ("ipkt", "ibyt", "opkt", "obyt")},
            "ml_score": rows["score"],
            "rank": range(len(rows)),
            "srcip_internal": src["internal"],
            "dstip_internal": dst["internal"],
            "src_geoloc": src["geoloc"],
            "dst_geoloc": dst["geoloc"],
            "src_domain": src["domain"],
            "dst_domain": dst["domain"],
            "src_rep": reputation_of(rows["sip"], "ip", settings),
            "dst_rep": reputation_of(rows["dip"], "ip", settings),
        }
    )


def dns_scores(rows: pd.DataFrame, settings, lake_root: Path | None) -> pd.DataFrame:
    names = rows["dns_qry_name"]
    return pd.DataFrame(
        {
            "frame_time": rows["frame_time"],
            "unix_tstamp": rows["unix_tstamp"],
            "frame_len": rows["frame_len"],
            "ip_dst": rows["ip_dst"],
            "dns_qry_name": names,
            "dns_qry_class": rows["dns_qry_class"],
            "dns_qry_type": rows["dns_qry_type"],
            "dns_qry_rcode": rows["dns_qry_rcode"],
            "ml_score": rows["score"],
            "tld": names.map(registered_domain),
            "query_rep": reputation_of(names, "domain", settings),
            "hh": rows["hour"],
            "dns_qry_class_name": dns_class_name(rows["dns_qry_class"]),
            "dns_qry_type_name": dns_type_name(rows["dns_qry_type"]),
            "dns_qry_rcode_name": dns_rcode_name(rows["dns_qry_rcode"]),
            "network_context": network_context(rows["ip_dst"], settings, lake_root),
        }
    )


def proxy_scores(rows: pd.DataFrame, settings, lake_root: Path | None) -> pd.DataFrame:
    out = rows.drop(columns=["score", "p_date", "p_time"]).copy()
    out.insert(0, "time", rows["p_time"])
    out.insert(0, "tdate", rows["p_date"])
    out["respcode"] = _int32(rows["respcode"])
    out["uriport"] = _int32(rows["uriport"])
    out["ml_score"] = rows["score"]
    out["uri_rep"] = reputation_of(rows["fulluri"], "url", settings)
    out["respcode_name"] = http_code_name(rows["respcode"])
    out["network_context"] = network_context(rows["clientip"], settings, lake_root)
    return out


BUILDERS = {"flow": flow_scores, "dns": dns_scores, "proxy": proxy_scores}
