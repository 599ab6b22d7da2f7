# %% [markdown]
# ## Advanced mode: SQL on Spot's tables with `%%spotquery`
#
# Spot's *Advanced Mode* notebook loaded the day's suspicious connections into pandas and
# showed how to filter, sort and group them. Here the same steps run as SQL on Spot's own
# tables (`flow`, `dns`, `proxy`, `flow_scores`, `dns_scores`, `proxy_scores`...), on the
# embedded lake or on the cluster (`%spot_connect hive://user@host:10000/spot`), and come
# back as pandas DataFrames.
#
# - `--date {DEMO_DATE}` confines every Spot table in the query to that day's partitions.
# - `:name` binds the Python variable `name` as a query parameter (a list binds as an IN list).
# - The first argument names the variable that receives the full result; the cell shows a
#   preview (`%config SpotLab.displaylimit = 20` to see more).

# %% [markdown]
# ### Flow: the day's suspicious connections, most suspicious first (sort by rank)

# %%
%%spotquery suspicious --date {DEMO_DATE}
SELECT rank, tstart, srcip, dstip, sport, dport, proto, ibyt, ipkt, ml_score
FROM flow_scores
ORDER BY rank

# %% [markdown]
# Filter on a destination port held in a Python variable (Spot's example filtered on 3389,
# remote desktop); `--show-sql` prints the statement the engine receives, parameters apart.

# %%
port = int(suspicious["dport"].mode()[0])
print("port:", port)

# %%
%%spotquery --date {DEMO_DATE} --show-sql
SELECT srcip, dstip, sport, dport, proto, ibyt
FROM flow_scores
WHERE dport = :port
ORDER BY ibyt DESC

# %% [markdown]
# Group by source and destination, summing bytes and packets (Spot's `groupby(['srcIp','dstIp']).sum()`).

# %%
%%spotquery pairs --date {DEMO_DATE}
SELECT srcip, dstip,
       CAST(SUM(ibyt) AS BIGINT) AS ibyt,
       CAST(SUM(ipkt) AS BIGINT) AS ipkt,
       COUNT(*) AS connections
FROM flow_scores
GROUP BY srcip, dstip
ORDER BY ibyt DESC

# %% [markdown]
# The raw `flow` table is there too: the busiest talkers of the day among all flows.

# %%
%%spotquery --date {DEMO_DATE} --limit 10
SELECT sip, COUNT(*) AS flows, CAST(SUM(ibyt) AS BIGINT) AS bytes, COUNT(DISTINCT dip) AS peers
FROM flow
GROUP BY sip
ORDER BY bytes DESC

# %% [markdown]
# ### DNS: suspicious queries by top-level domain

# %%
%%spotquery dns_suspicious --date {DEMO_DATE}
SELECT ip_dst AS client_ip, unix_tstamp, tld, dns_qry_name, dns_qry_rcode, dns_qry_rcode_name
FROM dns_scores
ORDER BY ml_score

# %% [markdown]
# Filter on one TLD (taken from the result above), then count queries per client and TLD
# (Spot's `groupby(['clientIp','tld']).count()`), sorted by TLD.

# %%
tld = dns_suspicious["tld"].mode()[0]
print("tld:", tld)

# %%
%%spotquery --date {DEMO_DATE}
SELECT client_ip, dns_qry_name, dns_qry_rcode_name
FROM (SELECT ip_dst AS client_ip, dns_qry_name, dns_qry_rcode_name, tld FROM dns_scores)
WHERE tld = :tld
ORDER BY client_ip, dns_qry_name

# %%
%%spotquery --date {DEMO_DATE}
SELECT ip_dst AS client_ip, tld, COUNT(*) AS queries
FROM dns_scores
GROUP BY ip_dst, tld
ORDER BY tld, queries DESC

# %% [markdown]
# ### Proxy: suspicious requests per client and host

# %%
%%spotquery proxy_suspicious --date {DEMO_DATE}
SELECT clientip, tdate, time, host, uriquery, scbytes, csbytes, respcode_name
FROM proxy_scores
ORDER BY ml_score

# %% [markdown]
# Filter on the clients seen above (a list binds as an IN list), sorted by host, then sum the
# bytes per client and host (Spot's `groupby(['clientIp','host']).sum()`).

# %%
clients = list(proxy_suspicious["clientip"].value_counts().index[:3])
print("clients:", clients)

# %%
%%spotquery --date {DEMO_DATE}
SELECT clientip, host, uripath, respcode, scbytes
FROM proxy_scores
WHERE clientip IN (:clients)
ORDER BY host, clientip

# %%
%%spotquery --date {DEMO_DATE}
SELECT clientip, host,
       CAST(SUM(scbytes) AS BIGINT) AS bytes_down,
       CAST(SUM(csbytes) AS BIGINT) AS bytes_up
FROM proxy_scores
GROUP BY clientip, host
ORDER BY bytes_down DESC

# %% [markdown]
# The raw proxy log keeps Spot's string partitions (`y='2026'`, `m='11'`): `--date` handles
# that too. Response codes of the day across all requests:

# %%
%%spotquery --date {DEMO_DATE}
SELECT respcode, COUNT(*) AS requests, COUNT(DISTINCT clientip) AS clients
FROM proxy
GROUP BY respcode
ORDER BY requests DESC

# %% [markdown]
# `%spot_connect` lists the session's connections; the results above are ordinary
# DataFrames (`pairs`, `dns_suspicious`, `proxy_suspicious`) for any further pandas work.

# %%
%spot_connect
