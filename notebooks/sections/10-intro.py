# %% [markdown]
# # spot-lab demo: a day of Apache Spot data, investigated in a notebook
#
# This notebook runs against the demo lake: a folder laid out like Apache Spot's HDFS
# warehouse (`flow`, `dns`, `proxy` raw tables, and the `*_scores` tables written by
# Spot's suspicious-connects model, run by `spot-lab score`). The same cells run on a
# real Spot cluster: `%spot_connect hive://user@host:10000/spot`.
#
# The generated day hides thirteen attacks (C2 beaconing, a strobe, a long connection, data
# exfiltration over flows and HTTP, an internal port scan, SSH and RDP brute force, lateral
# movement, DNS tunnelling, a DGA, a phishing chain, a beacon through the proxy) among eight
# benign look-alikes (NTP, updates, backups, heartbeats, monitoring, Internet scanners, DNS
# blocklist and antivirus lookups), each with parameters drawn per seed.
# `ground_truth.json` lists them; the model does not read it.

# %%
%load_ext spot_lab

import json
from pathlib import Path

from spot_lab.config import load_settings

LAKE = Path(load_settings().lake)
GROUND_TRUTH = json.loads((LAKE / "ground_truth.json").read_text())
DEMO_DATE = GROUND_TRUTH["generator"]["dates"][0]
print(f"lake: {LAKE}\ndemo day: {DEMO_DATE}")
print("scenarios:", ", ".join(s["name"] for s in GROUND_TRUTH["scenarios"]))
