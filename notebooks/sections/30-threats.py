# %% [markdown]
# ## Threat investigation: the five Ws of one threat with `%spot_threat`
#
# Spot's *Threat Investigation* notebook ran an "expanded search" on the day's raw data for
# one high-risk IP, DNS name or URI and let the analyst write a storyboard. `%spot_threat`
# does that in one command, on any engine and any date range, and answers **what, who,
# when, where and why** from the data:
#
# - **What**: the anchor, its model score/rank and analyst score when it has them, volume
#   and protocol (or method) profile;
# - **Who**: the internal hosts involved, named from the network context, and *patient zero*
#   (the earliest internal host to contact the anchor);
# - **When**: first/last seen, the minute timeline per top peer, the hourly profile (and over
#   a multi-day range the daily trend with a forecast);
# - **Where**: the geolocation of external endpoints, with a map;
# - **Why**: the evidence, each item with its number (rare ports, beacon-like intervals,
#   byte ratios, high-entropy names, NXDOMAIN rate, POST volume...), plus the storyboard.
#
# In JupyterLab the result is a tabbed widget (Summary, Connections, Timeline, Map,
# Storyboard: title, text, Save and High/Medium/Low scoring); exported notebooks show the
# same report as plain HTML. Every table is also a DataFrame attribute of the report.
#
# The anchors below come from the demo lake's `ground_truth.json`, one per data type (on
# your own logs: the model's most suspicious row of each type).

# %%
from spot_lab.engines.connections import current_engine

scenarios = {s["name"]: s for s in GROUND_TRUTH["scenarios"]}


def top(sql):  # the model's most suspicious value, for a lake without ground truth
    rows = current_engine().arrow(sql, {"day": DEMO_DATE}).to_pylist()
    return next(iter(rows[0].values())) if rows else None


if "c2_beaconing" in scenarios:
    c2_ip = scenarios["c2_beaconing"]["anchors"]["ips"][0]
    tunnel_name = scenarios["dns_tunnelling"]["anchors"]["query_names"][0]
    phish_uri = scenarios["phishing"]["anchors"]["uris"][0]
else:
    c2_ip = top("SELECT CASE WHEN dstip_internal = 1 THEN srcip ELSE dstip END FROM flow_scores "
                "WHERE make_date(y, m, d) = CAST(:day AS DATE) ORDER BY rank LIMIT 1")
    tunnel_name = top("SELECT dns_qry_name FROM dns_scores WHERE make_date(y, m, d) = "
                      "CAST(:day AS DATE) ORDER BY ml_score LIMIT 1") or "example.com"
    phish_uri = top("SELECT fulluri FROM proxy_scores WHERE make_date(y, m, d) = "
                    "CAST(:day AS DATE) ORDER BY ml_score LIMIT 1") or "example.com/"
tunnel_domain = ".".join(tunnel_name.split(".")[-2:])  # the registered domain
print("flow anchor: ", c2_ip)
print("dns anchor:  ", tunnel_domain)
print("proxy anchor:", phish_uri)

# %% [markdown]
# ### Flow: an external IP that an internal host beacons to

# %%
c2 = %spot_threat {c2_ip} --date {DEMO_DATE}
c2

# %% [markdown]
# Every table is a DataFrame: the peers split by direction, the top peers, the minute
# timeline, the evidence behind *why*.

# %%
c2.evidence

# %%
c2.top_by_connections[["peer", "direction", "connections", "bytes", "name", "first_seen"]]

# %% [markdown]
# ### DNS: a domain whose random-looking subdomains carry data (tunnelling)

# %%
tunnel = %spot_threat {tunnel_domain} --date {DEMO_DATE}
tunnel

# %% [markdown]
# ### Proxy: a phishing URI, the clients who opened it and what it led to

# %%
phish = %spot_threat "{phish_uri}" --type proxy --date {DEMO_DATE}
phish

# %%
phish.referred

# %% [markdown]
# ### Storyboard and executive report
#
# The analyst's title and text are saved to Spot's `flow_storyboard` table (with the
# `flow_timeline` rows Spot wrote), so the storyboard shows again the next time anyone
# investigates this IP, in a notebook or in the threats sidebar. `to_html` writes a
# self-contained report (summary, tables, timeline and map images); `to_pdf` prints it
# with headless Chromium when it is installed.

# %%
why = "; ".join(c2.evidence.loc[c2.evidence["suspicious"], "detail"])
c2.save_storyboard(
    "C2 beaconing",
    f"{c2.patient_zero['ip']} talks to {c2_ip} all day: {why}. Command and control: isolate "
    "the host.",
)
again = %spot_threat {c2_ip} --date {DEMO_DATE}
print(again.storyboard_title, "|", again.storyboard_text)

# %%
reports = LAKE.parent / "reports"
for name, report in (("c2", c2), ("dns-tunnel", tunnel), ("phishing", phish)):
    path = report.to_html(reports / f"threat-{name}.html")
    print(f"{path} ({path.stat().st_size:,} bytes)")
