"""Public name kept from wave 1: `from spot_lab.geo import default_geolocator` (the code lives
in spot_lab.enrich.geo)."""

from spot_lab.enrich.geo import (
    DBIP_ATTRIBUTION,
    GeoLocator,
    IplocLocator,
    dbip_path,
    default_geolocator,
    open_locator,
)

__all__ = ["DBIP_ATTRIBUTION", "GeoLocator", "IplocLocator", "dbip_path", "default_geolocator",
           "open_locator"]  # fmt: skip
