"""REST handlers under <base_url>spot-lab/api/: threats, dates, score, storyboard.

Every handler requires Jupyter's authentication (`@tornado.web.authenticated`); POSTs also
pass Jupyter's XSRF check (APIHandler). Engine calls block, so they run in a small thread
pool, each worker with its own DuckDB connection (a connection is not shared by threads).
Errors answer JSON `{"error": "<one line saying what to do>", "reason": ...}`:
400 bad input (bodies are checked against spot_lab/limits.yaml before they are parsed),
409 a write refused (read-only lake, files spot-lab did not write; nothing changed),
503 no lake configured, 502 engine failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler

from spot_lab import limits
from spot_lab.config import SpotLab
from spot_lab.dates import parse_date
from spot_lab.engines.base import Engine
from spot_lab.engines.registry import open_engine
from spot_lab.errors import InputError, LakeError, QueryError, SpotLabError, WriteError
from spot_lab.investigation import analyst, storyboard
from spot_lab.server import threats


class NoLakeError(LakeError):
    """The configured lake (SPOT_LAB_LAKE / c.SpotLab.lake) cannot be opened."""


class Backend:
    """The settings, the worker pool and one engine per worker thread."""

    def __init__(self, settings: SpotLab, workers: int = 2) -> None:
        self.settings = settings
        self.workers = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spot-lab")
        self._local = threading.local()

    def engine(self) -> Engine:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            try:
                engine = open_engine(
                    self.settings.lake,
                    timeout=self.settings.timeout,
                    poll_interval=self.settings.poll_interval,
                )
            except LakeError as exc:
                raise NoLakeError(str(exc)) from None
            self._local.engine = engine
        return engine

    def warm_up(self) -> None:
        """Open each worker's engine (and the geolocation file) before the first request."""

        def warm() -> None:
            try:
                threats.dates(self.engine())
                threats.countries(["8.8.8.8"], self.settings)
            except Exception:  # noqa: BLE001 - a warm-up never fails the server
                pass  # the sidebar's first request reports the problem

        for _ in range(self.workers):
            self.pool.submit(warm)

    async def run(self, fn: Callable[[Engine], Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(self.engine()))

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class SpotHandler(APIHandler):
    """Shared parameter parsing and error answers."""

    def initialize(self, backend: Backend) -> None:
        self.backend = backend

    def fail(self, status: int, message: str, reason: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"error": message, "reason": reason}))

    async def answer(self, fn: Callable[[Engine], Any]) -> None:
        try:
            result = await self.backend.run(fn)
        except InputError as exc:
            return self.fail(400, str(exc), "input")
        except NoLakeError as exc:
            return self.fail(503, str(exc), "lake")
        except WriteError as exc:
            return self.fail(409, str(exc), "write")
        except (QueryError, SpotLabError) as exc:
            return self.fail(502, str(exc), "engine")
        self.finish(json.dumps(result, default=str))

    def body(self) -> dict[str, Any]:
        """The JSON object of a POST, its size and depth checked before it is parsed."""
        raw = self.request.body or b"{}"
        most = limits.limit("request_body")
        if len(raw) > most:
            raise InputError(
                f"the request body is {len(raw):,} bytes, at most {most:,} are accepted"
            )
        limits.json_depth(raw)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise InputError("the request body is not JSON: send a JSON object") from None
        if not isinstance(data, dict):
            raise InputError("the request body must be a JSON object")
        for key, value in data.items():  # lone surrogates (\udcff) cannot be stored
            limits.text(key, "request_body", "a field name")
            if isinstance(value, str):
                limits.text(value, "request_body", f"the field {key[:40]!r}", lines=True)
        return data

    def arg(self, name: str, default: str | None = None) -> str | None:
        value = self.get_query_argument(name, default)
        return None if value is None else limits.text(value, "anchor", f"the parameter {name}")

    def subject(self, data: dict[str, Any] | None = None) -> tuple[str, dt.date]:
        """The checked type and day: from a POST's JSON body, else the query string."""
        if data is None:
            return analyst.check_type(self.arg("type", "flow")), parse_date(self.arg("date") or "")
        return analyst.check_type(data.get("type")), parse_date(str(data.get("date", "")))


class ThreatsHandler(SpotHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            data_type, day = self.subject()
            page = threats.check_page(self.arg("page", "1"))
            size = threats.check_page(
                self.arg("page_size", str(threats.DEFAULT_PAGE_SIZE)),
                "page_size",
                threats.MAX_PAGE_SIZE,
            )
            q = threats.check_query(self.arg("q", ""))
        except InputError as exc:
            return self.fail(400, str(exc), "input")
        settings = self.backend.settings
        await self.answer(
            lambda engine: threats.threats_page(engine, data_type, day, page, size, q, settings)
        )


class DatesHandler(SpotHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(threats.dates)


class ScoreHandler(SpotHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            data = self.body()
            data_type, day = self.subject(data)
            severity = analyst.check_severity(data.get("severity"))
            anchor = analyst.check_anchor(data.get("anchor"))
        except InputError as exc:
            return self.fail(400, str(exc), "input")

        def score(engine: Engine) -> dict[str, Any]:
            written = analyst.record_score(engine, data_type, day, anchor, severity)
            return {
                "type": data_type,
                "date": day.isoformat(),
                "anchor": anchor,
                "severity": severity,
                "written": written,
            }

        await self.answer(score)


class StoryboardHandler(SpotHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            data_type, day = self.subject()
            anchor = analyst.check_anchor(self.arg("anchor"))
        except InputError as exc:
            return self.fail(400, str(exc), "input")

        def load(engine: Engine) -> dict[str, Any]:
            found = storyboard.load_storyboard(engine, data_type, day, anchor)
            title, text = found or (None, None)
            return {
                "type": data_type,
                "date": day.isoformat(),
                "anchor": anchor,
                "title": title,
                "text": text,
            }

        await self.answer(load)

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            data = self.body()
            data_type, day = self.subject(data)
            title, text = data.get("title"), data.get("text", "")
            if not isinstance(title, str) or not title.strip() or not isinstance(text, str):
                raise InputError("give the storyboard a title (text) and a text")
            _, _, anchor, title, text = storyboard.check_storyboard(
                data_type, day, data.get("anchor"), title, text
            )
        except InputError as exc:
            return self.fail(400, str(exc), "input")

        def save(engine: Engine) -> dict[str, Any]:
            storyboard.save_storyboard(engine, data_type, day, anchor, title, text)
            return {"type": data_type, "date": day.isoformat(), "anchor": anchor, "saved": True}

        await self.answer(save)


def routes(base_url: str, backend: Backend) -> list[tuple[str, type, dict]]:
    from jupyter_server.utils import url_path_join

    api = url_path_join(base_url, "spot-lab", "api")
    kwargs = {"backend": backend}
    return [
        (url_path_join(api, "threats"), ThreatsHandler, kwargs),
        (url_path_join(api, "dates"), DatesHandler, kwargs),
        (url_path_join(api, "score"), ScoreHandler, kwargs),
        (url_path_join(api, "storyboard"), StoryboardHandler, kwargs),
    ]
