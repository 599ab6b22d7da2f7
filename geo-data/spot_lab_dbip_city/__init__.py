"""DB-IP City Lite (2023-04) as a MaxMind-format City database, for spot-lab.

IP Geolocation by DB-IP (https://db-ip.com), licensed under the Creative Commons
Attribution 4.0 International licence (https://creativecommons.org/licenses/by/4.0/).
Show ATTRIBUTION wherever results from this database are shown. See NOTICE.
"""

from pathlib import Path

ATTRIBUTION = "IP Geolocation by DB-IP"
LICENSE = "CC-BY-4.0"
RELEASE = "2023-04"
DB_PATH = Path(__file__).parent / "db" / "dbip-city-lite-2023-04.mmdb"

__all__ = ["ATTRIBUTION", "DB_PATH", "LICENSE", "RELEASE"]
