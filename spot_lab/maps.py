"""Public name kept from wave 1: `from spot_lab.maps import endpoints_map` (the code lives in
spot_lab.display)."""

from spot_lab.display.endpoints import aggregate_endpoints
from spot_lab.display.map_figure import endpoints_figure
from spot_lab.display.map_page import save_html
from spot_lab.display.maps import endpoints_map

__all__ = ["aggregate_endpoints", "endpoints_figure", "endpoints_map", "save_html"]
