"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, jsonify

from gateway import db
from gateway.api.common import runtime

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz() -> dict[str, Any]:
    """The process is up and serving."""
    return {"status": "ok"}


@blueprint.get("/readyz")
async def readyz() -> Response:
    """Database and Redis reachable, migrations current: 200, else 503 saying which."""
    rt = runtime()
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(db.connection().execute_query("SELECT 1"), 5)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        checks["database"] = f"unreachable: {exc or type(exc).__name__}"
    try:
        await asyncio.wait_for(rt.redis.ping(), 5)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {exc or type(exc).__name__}"
    if checks["database"] == "ok":
        try:
            pending = await db.pending_in_connection()
            checks["migrations"] = "ok" if not pending else f"pending: {', '.join(pending)}"
        except Exception as exc:
            checks["migrations"] = f"unknown: {exc}"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
    response.status_code = 200 if ready else 503
    return response
