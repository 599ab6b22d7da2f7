"""The Jupyter server extension: the threats sidebar's REST API (see handlers.py).

Enabled on install by etc/jupyter/jupyter_server_config.d/spot_lab.json; by hand with
`jupyter server extension enable spot_lab`. Reads the same settings as the magics
(spot_lab_config.*, SPOT_LAB_* variables, c.SpotLab.* in jupyter_server_config.py).
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "spot_lab.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from spot_lab.config import load_settings
    from spot_lab.server.handlers import Backend, routes

    settings = load_settings(serverapp.config)
    backend = Backend(settings)
    web_app = serverapp.web_app
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"], backend))
    web_app.settings["spot_lab_backend"] = backend
    backend.warm_up()
    serverapp.log.info(
        "spot-lab: threats API at %sspot-lab/api/ (lake %s)",
        web_app.settings["base_url"],
        settings.lake,
    )


# Older jupyter_server / notebook versions look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
