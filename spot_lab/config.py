"""Settings shared by the magics, the Jupyter server extension and the CLI.

One traitlets class, `SpotLab`. Values come, lowest priority first, from: the defaults
below; `spot_lab_config.json` / `spot_lab_config.py` in any Jupyter config directory
(`jupyter --paths`); environment variables `SPOT_LAB_<NAME>` (for example SPOT_LAB_LAKE);
the host application's own config (`c.SpotLab.x` in ipython_config.py or
jupyter_server_config.py); and finally `%config SpotLab.x = ...` in a notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Dict, Float, Int, Unicode, validate
from traitlets.config import Config, Configurable, TraitError
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

DEMO_LAKE = Path("~/.spot-lab/demo-lake").expanduser()


class SpotLab(Configurable):
    """spot-lab settings (`%config SpotLab` lists them with their values)."""

    lake = Unicode(
        str(DEMO_LAKE),
        help="Folder of the embedded lake (a Spot warehouse copy). Env: SPOT_LAB_LAKE.",
    ).tag(config=True)
    displaylimit = Int(10, help="Rows shown in a %%spotquery preview (0 shows none).").tag(
        config=True
    )
    timeout = Float(
        30.0, help="Seconds to wait when connecting to a cluster engine before giving up."
    ).tag(config=True)
    poll_interval = Float(0.2, help="Seconds between status polls of a cluster query.").tag(
        config=True
    )
    connections = Dict(
        {}, help="Named connections opened on first use: {alias: URL}, e.g. hive://host:10000/spot"
    ).tag(config=True)
    geoip_db = Unicode(
        "", help="MaxMind-format City mmdb. Empty: DB-IP City Lite when its package is installed."
    ).tag(config=True)
    network_context = Unicode(
        "",
        help="Network context CSV (ip|cidr|range,name). Empty: <lake>/context/network_context.csv",
    ).tag(config=True)
    internal_ranges = Unicode(
        "", help="Internal ranges CSV (start,end[,name]). Empty: <lake>/context/ipranges.csv"
    ).tag(config=True)
    site_location = Unicode(
        "",
        help="'latitude,longitude' where maps place internal hosts the network context does not.",
    ).tag(config=True)
    user_domain = Unicode("", help="Your organisation's domain label (e.g. 'acme').").tag(
        config=True
    )
    banned_countries = Unicode(
        "",
        help="ISO country codes your organisation bans, comma-separated (e.g. 'KP,IR'): the "
        "policy detector flags traffic to them (spot-lab score).",
    ).tag(config=True)
    allowlist = Unicode(
        "",
        help="Known-good parties, comma-separated: IPs, CIDRs and domains (a domain covers its "
        "subdomains), e.g. '10.0.1.30, backup.example.com': the detectors' findings on them stay "
        "out of the triage list (spot-lab score), every day.",
    ).tag(config=True)
    top_sites = Unicode(
        "",
        help="Popular domains CSV (rank,domain), e.g. Tranco's or Umbrella's top-1m. Empty: "
        "<lake>/context/top-1m.csv (Spot's context file), when present.",
    ).tag(config=True)
    top_n = Int(20, help="Peers kept per group in %spot_threat (Spot's top_results).").tag(
        config=True
    )

    # Suspicious-connects scoring (spot_lab.scoring, reference 5.2)
    score_tol = Float(1.0, help="Keep events whose model score is <= this (Spot's TOL).").tag(
        config=True
    )
    score_limit = Int(3000, help="Flagged rows kept per type and day (OA's -l).").tag(config=True)
    score_topics = Int(20, help="LDA topics K (Spot's TOPIC_COUNT).").tag(config=True)
    score_seed = Int(7, help="LDA random seed, for reproducible scores.").tag(config=True)
    score_backoff = Float(
        1.0,
        help="Weight, in events, of a word's field prior when the model scores an IP's word "
        "without the IP's own events (queries/scoring.yaml, pair_scores).",
    ).tag(config=True)
    dupfactor = Int(
        1000, help="Copies of each analyst-Low (3) feedback event added to training."
    ).tag(config=True)

    @validate("displaylimit", "top_n")
    def _non_negative(self, proposal):
        if proposal["value"] < 0:
            raise TraitError(f"{proposal['trait'].name} must be >= 0")
        return proposal["value"]

    @validate("timeout", "poll_interval")
    def _positive(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"{proposal['trait'].name} must be > 0")
        return proposal["value"]

    # Paths derived from the lake when not set explicitly.
    def context_file(self, setting: str, default_name: str) -> Path:
        value = getattr(self, setting)
        return Path(value).expanduser() if value else Path(self.lake) / "context" / default_name


def _file_config() -> Config:
    from jupyter_core.paths import jupyter_config_path

    merged = Config()
    for folder in reversed(jupyter_config_path()):  # lowest priority first
        for loader in (JSONFileConfigLoader, PyFileConfigLoader):
            name = (
                "spot_lab_config.json" if loader is JSONFileConfigLoader else "spot_lab_config.py"
            )
            if (Path(folder) / name).is_file():
                merged.merge(loader(name, path=folder).load_config())
    return merged


def _env_config() -> Config:
    cfg = Config()
    for name, trait in SpotLab.class_traits(config=True).items():
        raw = os.environ.get(f"SPOT_LAB_{name.upper()}")
        if raw is None:
            continue
        if isinstance(trait, Int):
            value = int(raw)
        elif isinstance(trait, Float):
            value = float(raw)
        elif isinstance(trait, Dict):
            import json

            value = json.loads(raw)
        else:
            value = raw
        cfg.SpotLab[name] = value
    return cfg


def load_settings(host_config: Config | None = None) -> SpotLab:
    """Build the settings from files, environment and the host's config, in that order."""
    cfg = _file_config()
    cfg.merge(_env_config())
    if host_config is not None and "SpotLab" in host_config:
        cfg.merge(Config({"SpotLab": host_config.SpotLab}))
    return SpotLab(config=cfg)
