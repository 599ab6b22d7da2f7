"""The fixed tables behind the demo data: networks, public prefixes, sites, agents, services.

Public prefixes are real, routable allocations of big providers and ISPs, each checked against
DB-IP City Lite (2023-04) to geolocate to the country given, so a real geolocation database
places the demo's public endpoints on a world map. Internal subnets follow Spot's network
context naming (reference 4.3: names containing VPN, DMZ, Proxy or FW get those categories).
"""

from __future__ import annotations

# (country, prefix, ASN, owner) - anycast ranges that geolocate everywhere are left out.
PUBLIC_PREFIXES: tuple[tuple[str, str, int, str], ...] = (
    ("US", "8.8.8.0/24", 15169, "Google LLC"),
    ("US", "142.250.0.0/16", 15169, "Google LLC"),
    ("US", "52.0.0.0/16", 16509, "Amazon.com"),
    ("US", "13.107.0.0/16", 8075, "Microsoft Corporation"),
    ("US", "140.82.112.0/20", 36459, "GitHub"),
    ("GB", "81.2.69.0/24", 20712, "Andrews & Arnold"),
    ("GB", "212.58.224.0/20", 2818, "BBC"),
    ("GB", "86.128.0.0/16", 2856, "British Telecommunications"),
    ("DE", "91.0.0.0/16", 3320, "Deutsche Telekom"),
    ("DE", "85.13.128.0/18", 34788, "Neue Medien Muennich"),
    ("FR", "90.0.0.0/16", 3215, "Orange"),
    ("FR", "82.64.0.0/16", 12322, "Free SAS"),
    ("NL", "194.109.0.0/16", 3265, "XS4ALL"),
    ("NL", "145.100.0.0/16", 1103, "SURF"),
    ("JP", "126.0.0.0/16", 17676, "SoftBank"),
    ("JP", "210.140.0.0/16", 2519, "ARTERIA Networks"),
    ("CN", "220.181.0.0/16", 23724, "China Telecom"),
    ("CN", "123.125.0.0/16", 4808, "China Unicom"),
    ("RU", "95.108.128.0/17", 13238, "Yandex"),
    ("RU", "87.250.224.0/19", 13238, "Yandex"),
    ("BR", "200.147.0.0/16", 7162, "Universo Online"),
    ("BR", "177.0.0.0/16", 28573, "Claro"),
    ("IN", "117.192.0.0/16", 9829, "BSNL"),
    ("IN", "49.44.0.0/16", 55836, "Reliance Jio"),
    ("AU", "1.128.0.0/16", 1221, "Telstra"),
    ("CA", "24.114.0.0/16", 812, "Rogers"),
    ("CA", "142.112.0.0/16", 577, "Bell Canada"),
    ("KR", "211.234.0.0/16", 9644, "SK Telecom"),
    ("KR", "121.128.0.0/16", 4766, "Korea Telecom"),
    ("SG", "203.116.0.0/16", 3758, "SingNet"),
    ("ZA", "196.25.0.0/16", 5713, "Telkom SA"),
    ("SE", "78.64.0.0/16", 3301, "Telia"),
    ("IT", "79.0.0.0/16", 3269, "Telecom Italia"),
    ("ES", "80.58.0.0/16", 3352, "Telefonica"),
    ("PL", "83.0.0.0/16", 5617, "Orange Polska"),
    ("MX", "201.141.0.0/16", 8151, "Uninet"),
    ("TR", "88.224.0.0/16", 9121, "Turk Telekom"),
    ("AR", "181.0.0.0/16", 7303, "Telecom Argentina"),
    ("NG", "105.112.0.0/16", 36873, "Airtel Nigeria"),
    ("IR", "5.160.0.0/16", 58224, "TCI"),
    ("UA", "93.72.0.0/16", 13188, "Triolan"),
    ("VN", "113.160.0.0/16", 45899, "VNPT"),
    ("RO", "86.120.0.0/16", 8708, "RCS & RDS"),
)

# Actors of the scenarios. Their public addresses are fresh (used by nobody else) in a prefix
# drawn per seed from PUBLIC_PREFIXES, except these (tiny or anycast).
NOT_FOR_ACTORS = ("8.8.8.0/24",)
ACTOR_ROLES = (
    "c2",
    "strobe",
    "long",
    "exfil",
    "scanner",
    "ssh",
    "rdp",
    "tunnel",
    "dga",
    "proxy_beacon",
)  # fmt: skip  (infected workstations, one per role)
ACTOR_IP_ROLES = ("c2", "strobe", "long", "exfil", "ssh", "rdp", "phishing", "dga")
ACTOR_TLDS = ("com", "net", "org", "info", "io", "xyz", "online", "site")
SUBDOMAIN_WORDS = ("api", "cdn", "static", "update", "telemetry", "img", "sync", "edge", "app")
# Benign services' own addresses: (prefix, how many); fresh, so a look-alike is told apart.
BENIGN_IPS = {
    "ntp": ("194.109.0.0/16", 4),  # a pool's servers
    "backup": ("52.0.0.0/16", 1),  # cloud object storage
    "heartbeat": ("52.0.0.0/16", 3),  # a sync service's edge
    "updates": ("13.107.0.0/16", 4),  # an update CDN
}
UPDATE_HOSTS = ("ctldl.windowsupdate.com", "edgedl.me.gvt1.com", "download.mozilla.org",
                "swcdn.apple.com")  # fmt: skip
HEARTBEAT_HOSTS = ("bolt.dropbox.com", "wss-primary.slack.com")
# Registered domains of well-known services in any top-1m list (written to context/top-1m.csv).
KNOWN_SERVICE_DOMAINS = ("windowsupdate.com", "gvt1.com", "mozilla.org", "apple.com",
                         "dropbox.com", "slack.com", "spamhaus.org", "spamcop.net",
                         "barracudacentral.org", "sophosxl.net", "mcafee.com", "e5.sk",
                         "ntp.org")  # fmt: skip

# Internal network: (name, CIDR or a-b range, site, role). Order matters for "first match wins".
SUBNETS: tuple[tuple[str, str, str, str], ...] = (
    ("FW mgmt", "10.0.0.0/28", "HQ", "router"),
    ("Server farm", "10.0.1.0/24", "HQ", "server"),
    ("DMZ web", "10.0.2.0/24", "HQ", "dmz"),
    ("Proxy farm", "10.0.3.0/28", "HQ", "proxy"),
    ("Workstations HQ", "10.0.10.0/23", "HQ", "client"),
    ("Workstations Branch", "10.0.20.0/24", "Branch", "client"),
    ("VPN pool", "10.0.30.1-10.0.30.254", "Remote", "client"),
)

# Site locations for internal subnets (maps can place internal hosts).
SITES = {
    "HQ": (41.8781, -87.6298),  # Chicago
    "Branch": (30.2672, -97.7431),  # Austin
    "Remote": (40.7128, -74.0060),  # New York (VPN concentrator)
}

# Named single hosts, listed before the subnets in the network context.
NAMED_HOSTS = {
    "10.0.0.1": "FW mgmt core router",
    "10.0.0.2": "FW mgmt branch router",
    "10.0.0.3": "FW mgmt DMZ firewall",
    "10.0.1.53": "DNS resolver 1",
    "10.0.1.54": "DNS resolver 2",
    "10.0.1.20": "File server",
    "10.0.1.25": "Mail relay",
    "10.0.1.10": "Domain controller",
    "10.0.1.30": "Monitoring server",
    "10.0.3.10": "Proxy farm node 1",
    "10.0.3.11": "Proxy farm node 2",
}
MONITORING = "10.0.1.30"
DOMAIN_CONTROLLER = "10.0.1.10"
FILE_SERVER = "10.0.1.20"
MAIL_RELAY = "10.0.1.25"
ROUTERS = ("10.0.0.1", "10.0.0.2", "10.0.0.3")
RESOLVERS = ("10.0.1.53", "10.0.1.54")
PROXIES = ("10.0.3.10", "10.0.3.11")

USER_DOMAIN = "acme"  # set SpotLab.user_domain = "acme" for the demo lake
INTERNAL_NAMES = (
    "intranet.acme.com",
    "mail.acme.com",
    "wiki.acme.com",
    "jira.acme.com",
    "vpn.acme.com",
    "fileserver.acme.com",
    "_ldap._tcp.dc._msdcs.acme.com",
    "_kerberos._tcp.acme.com",
    "hr.acme.com",
    "build.acme.com",
)

# Popular sites: (name, web category, prefix of its servers, Blue Coat application name).
POPULAR_SITES: tuple[tuple[str, str, str, str], ...] = (
    ("www.google.com", "Search Engines/Portals", "142.250.0.0/16", "Google"),
    ("google.com", "Search Engines/Portals", "142.250.0.0/16", "Google"),
    ("fonts.googleapis.com", "Content Servers", "142.250.0.0/16", "Google"),
    ("www.gstatic.com", "Content Servers", "142.250.0.0/16", "Google"),
    ("mail.google.com", "Email", "142.250.0.0/16", "Gmail"),
    ("www.youtube.com", "Audio/Video Clips", "142.250.0.0/16", "YouTube"),
    ("outlook.office365.com", "Email", "13.107.0.0/16", "Office365"),
    ("login.microsoftonline.com", "Technology/Internet", "13.107.0.0/16", "Office365"),
    ("www.microsoft.com", "Technology/Internet", "13.107.0.0/16", "-"),
    ("teams.microsoft.com", "Technology/Internet", "13.107.0.0/16", "Microsoft Teams"),
    ("update.microsoft.com", "Software Downloads", "13.107.0.0/16", "-"),
    ("s3.amazonaws.com", "Content Servers", "52.0.0.0/16", "Amazon S3"),
    ("www.amazon.com", "Shopping", "52.0.0.0/16", "-"),
    ("github.com", "Technology/Internet", "140.82.112.0/20", "GitHub"),
    ("api.github.com", "Technology/Internet", "140.82.112.0/20", "GitHub"),
    ("www.bbc.co.uk", "News/Media", "212.58.224.0/20", "-"),
    ("www.bbc.com", "News/Media", "212.58.224.0/20", "-"),
    ("www.telekom.de", "Technology/Internet", "91.0.0.0/16", "-"),
    ("www.orange.fr", "Search Engines/Portals", "90.0.0.0/16", "-"),
    ("www.free.fr", "Technology/Internet", "82.64.0.0/16", "-"),
    ("www.surf.nl", "Education", "145.100.0.0/16", "-"),
    ("www.softbank.jp", "Technology/Internet", "126.0.0.0/16", "-"),
    ("www.baidu.com", "Search Engines/Portals", "220.181.0.0/16", "-"),
    ("www.yandex.ru", "Search Engines/Portals", "95.108.128.0/17", "-"),
    ("mail.yandex.ru", "Email", "87.250.224.0/19", "-"),
    ("www.uol.com.br", "News/Media", "200.147.0.0/16", "-"),
    ("www.telstra.com.au", "Technology/Internet", "1.128.0.0/16", "-"),
    ("www.rogers.com", "Technology/Internet", "24.114.0.0/16", "-"),
    ("www.naver.com", "Search Engines/Portals", "211.234.0.0/16", "-"),
    ("www.singtel.com", "Technology/Internet", "203.116.0.0/16", "-"),
    ("www.telefonica.es", "Technology/Internet", "80.58.0.0/16", "-"),
    ("www.tim.it", "Technology/Internet", "79.0.0.0/16", "-"),
    ("www.turktelekom.com.tr", "Technology/Internet", "88.224.0.0/16", "-"),
    ("www.jio.com", "Technology/Internet", "49.44.0.0/16", "-"),
    ("www.telkom.co.za", "Technology/Internet", "196.25.0.0/16", "-"),
    ("www.telia.se", "Technology/Internet", "78.64.0.0/16", "-"),
)

# Words for the long tail of ordinary (rare but benign) domains.
TAIL_WORDS = [
    "blue",
    "river",
    "cloud",
    "data",
    "city",
    "green",
    "open",
    "north",
    "star",
    "media",
    "smart",
    "home",
    "travel",
    "garden",
    "news",
    "photo",
    "market",
    "tech",
    "food",
    "sport",
    "health",
    "music",
    "school",
    "bank",
    "book",
    "shop",
    "local",
    "daily",
    "world",
    "digital",
    "global",
    "fresh",
    "prime",
    "solar",
    "metro",
    "urban",
    "coast",
    "alpine",
    "maple",
    "cedar",
    "harbor",
    "summit",
    "pixel",
    "vector",
    "orbit",
    "nova",
    "atlas",
    "delta",
    "echo",
    "lumen",
    "terra",
    "ocean",
    "forest",
    "bright",
]
TAIL_TLDS = ("com", "net", "org", "de", "fr", "co.uk", "io", "nl", "jp", "com.br", "ru", "it")
TAIL_CATEGORIES = (
    "Technology/Internet",
    "Business/Economy",
    "News/Media",
    "Shopping",
    "Travel",
    "Entertainment",
    "Education",
    "Reference",
    "Health",
    "Personal Sites",
)

COMMON_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Microsoft-Delivery-Optimization/10.0",
    "Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.71",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Teams/24295.605.3225.8804",
    "MSDW",
)
RARE_AGENTS = (
    "Wget/1.21.2",
    "Java/1.8.0_151",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)",
    "okhttp/4.9.3",
    "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B)",
    "Zoom 5.17.0",
    "Slack/4.41.97",
    "AdobeAcrobat/24.0",
    "Go-http-client/1.1",
    "Spotify/1.2.50",
)

# Flow services: (port, proto, weight, median packets, median bytes per packet). Each service
# has its habitual size, as real traffic does, so a model can learn what is normal.
OUTBOUND_SERVICES = (
    (443, "TCP", 0.62, 14, 700),
    (80, "TCP", 0.16, 10, 600),
    (443, "UDP", 0.05, 20, 900),  # QUIC
    (123, "UDP", 0.03, 1, 76),
    (993, "TCP", 0.03, 12, 300),
    (8080, "TCP", 0.025, 10, 600),
    (5228, "TCP", 0.02, 5, 150),
    (3478, "UDP", 0.02, 30, 200),
    (22, "TCP", 0.01, 40, 150),
    (587, "TCP", 0.01, 15, 400),
    (5222, "TCP", 0.01, 6, 200),
    (853, "TCP", 0.004, 4, 150),
    (21, "TCP", 0.003, 10, 100),
    (3389, "TCP", 0.002, 300, 300),
    (6881, "UDP", 0.001, 10, 500),
)
# Clients talking to internal servers (53 goes to the resolvers).
INTERNAL_SERVICES = (
    (53, "UDP", 0.24, 1, 80),
    (445, "TCP", 0.25, 25, 400),
    (389, "TCP", 0.12, 6, 250),
    (88, "TCP", 0.1, 4, 500),
    (135, "TCP", 0.05, 4, 150),
    (443, "TCP", 0.08, 14, 700),
    (3389, "TCP", 0.04, 300, 300),
    (1433, "TCP", 0.05, 12, 300),
    (22, "TCP", 0.03, 40, 150),
    (25, "TCP", 0.04, 15, 600),
)
TCP_FLAGS = ((".AP.SF", 0.6), (".A....", 0.14), (".AP...", 0.12), (".A..SF", 0.08),
             ("....S.", 0.03), (".A.R..", 0.03))  # fmt: skip
ICMP_CODES = ((2048, 0.55), (0, 0.3), (771, 0.1), (2816, 0.05))  # type*256+code

# Proxy request shapes.
METHODS = (("GET", 0.89), ("POST", 0.07), ("CONNECT", 0.03), ("HEAD", 0.005), ("PUT", 0.003),
           ("OPTIONS", 0.002))  # fmt: skip
RESPCODES = (("200", 0.86), ("304", 0.05), ("302", 0.025), ("301", 0.01), ("204", 0.02),
             ("404", 0.015), ("403", 0.005), ("407", 0.01), ("500", 0.005))  # fmt: skip
# (path, extension, content type)
PATHS = (
    ("/", "-", "text/html"),
    ("/index.html", "html", "text/html"),
    ("/favicon.ico", "ico", "image/x-icon"),
    ("/static/js/main.3f2a1c.js", "js", "application/javascript"),
    ("/static/css/site.css", "css", "text/css"),
    ("/images/logo.png", "png", "image/png"),
    ("/img/banner_2026.jpg", "jpg", "image/jpeg"),
    ("/api/v1/items", "-", "application/json"),
    ("/api/v2/session", "-", "application/json"),
    ("/search", "-", "text/html"),
    ("/news/world", "-", "text/html"),
    ("/mail/inbox", "-", "text/html"),
    ("/assets/fonts/roboto.woff2", "woff2", "font/woff2"),
    ("/v1/metrics", "-", "application/json"),
    ("/update/manifest.xml", "xml", "text/xml"),
    ("/video/segment_0042.ts", "ts", "video/mp2t"),
    ("/login", "-", "text/html"),
    ("/docs/report.pdf", "pdf", "application/pdf"),
)
QUERIES = (
    "?q=quarterly+report",
    "?id=48213",
    "?v=3.2.1",
    "?lang=en&region=us",
    "?page=2",
    "?utm_source=newsletter&utm_medium=email",
    "?session=active",
    "?t=1732789200",
)

FIRST_NAMES = ("anna", "ben", "carla", "dan", "eva", "finn", "gina", "hugo", "ines", "jack",
               "kara", "leo", "mia", "nils", "olga", "paul")  # fmt: skip
LAST_NAMES = ("smith", "jones", "garcia", "muller", "rossi", "novak", "kim", "silva", "brown",
              "lopez", "weber", "meyer")  # fmt: skip
# Dictionary words of word-list DGAs (none of them in TAIL_WORDS, so no benign name repeats).
DGA_WORDS = ("table", "answer", "history", "thousand", "region", "picture", "silver",
             "famous", "winter", "letter", "animal", "mountain", "science", "kitchen", "engine",
             "number", "yellow", "window", "simple", "father", "mother", "island", "country",
             "measure", "village", "bottle", "summer", "doctor", "planet", "object")  # fmt: skip
