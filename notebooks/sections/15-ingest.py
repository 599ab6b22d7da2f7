# %% [markdown]
# ## Ingest summary: records per minute
#
# Spot's *Ingest Summary* page charted `<type>_ingest_summary`, the records per minute of
# each pipeline. `spot-lab ingest` writes those tables for every day it touches (Zeek,
# Suricata, nfdump/nfcapd, pcaps, squid and Blue Coat logs; `spot-lab ingest --summary`
# charts them on the terminal), and the demo generator writes them for its day. Here, as a
# figure per pipeline:

# %%
from spot_lab.ingest.summary import read_summary, summary_figure

for data_type in ("flow", "dns", "proxy"):
    points = read_summary(LAKE, data_type)
    if points:
        print(f"{data_type}: {sum(n for _, n in points):,} records, {points[0][0]} to {points[-1][0]}")
        display(summary_figure(LAKE, data_type))
