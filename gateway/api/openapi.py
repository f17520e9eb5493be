"""GET /openapi.json: the API described for clients and tools.

Written by hand, kept honest by a test: every route the app serves must be
described here with its methods, and nothing else may be.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from gateway import __version__

blueprint = Blueprint("openapi", __name__)

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ERROR = {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _op(summary: str, *, ok: str = "200", body: str | None = None, secured: bool = True,
        params: tuple[str, ...] = (), result: str | None = None, content: str = "application/json") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "success"}, "4XX": ERROR}}
    if result:
        op["responses"][ok]["content"] = {content: {"schema": {"$ref": f"#/components/schemas/{result}"}}}
    elif content != "application/json":
        op["responses"][ok]["content"] = {content: {"schema": {"type": "string"}}}
    if secured:
        op["security"] = BEARER
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                            for name in params]
    return op


PATHS: dict[str, dict[str, Any]] = {
    "/healthz": {"get": _op("The process is up", secured=False)},
    "/readyz": {"get": _op("Database, Redis and migrations are ready (503 says which is not)", secured=False)},
    "/dashboard": {"get": _op("The page the OAuth callback lands on", secured=False, content="text/html")},
    "/openapi.json": {"get": _op("This document", secured=False)},
    "/api/platforms": {"get": _op("Installed platforms and whether each is configured")},
    "/api/auth/{platform}": {"get": _op("Start connecting an account: the authorize URL (JSON) or a redirect")},
    "/api/auth/{platform}/callback": {"get": _op("Where the platform sends the user back", ok="302", secured=False)},
    "/api/integrations": {"get": _op("Connected accounts (never a token)")},
    "/api/integrations/{integration_id}": {
        "get": _op("One connected account", result="Integration"),
        "delete": _op("Disconnect: wipe the credentials, cancel the account's scheduled posts"),
    },
    "/api/posts": {
        "post": _op("Create posts (now or scheduled); honours Idempotency-Key", ok="201", body="PostRequest"),
        "get": _op("List posts (cursor pagination)", params=("status", "integrationId", "groupId", "createdAfter",
                                                              "createdBefore", "scheduledAfter", "scheduledBefore",
                                                              "limit", "cursor")),
    },
    "/api/posts/validate": {"post": _op("Validate a draft; stores nothing", body="PostRequest")},
    "/api/posts/{post_id}": {
        "get": _op("One post with its attempts and last error", result="Post"),
        "patch": _op("Edit or reschedule a SCHEDULED post"),
        "delete": _op("Delete a post (?fromPlatform=true removes it from the platform too)", ok="204"),
    },
    "/api/posts/{post_id}/cancel": {"post": _op("Cancel a scheduled post")},
    "/api/posts/{post_id}/retry": {"post": _op("Retry a FAILED or UNKNOWN post", ok="202")},
    "/api/posts/{post_id}/events": {"get": _op("The post's history: who created it, every event and attempt")},
    "/api/events": {"get": _op("Every change of state, as Server-Sent Events; resume with Last-Event-ID",
                               params=("postId", "integrationId", "type", "lastEventId"),
                               content="text/event-stream")},
}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}},
    "PostRequest": {"type": "object", "required": ["text", "integrationIds"], "additionalProperties": False,
                    "properties": {
                        "text": {"type": "string"},
                        "thread": {"type": "array", "items": {"type": "string"}},
                        "integrationIds": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                        "scheduledFor": {"type": ["string", "null"],
                                         "description": "ISO 8601 with an offset, or local time with timeZone"},
                        "timeZone": {"type": "string", "description": "IANA name, e.g. Europe/Berlin"},
                        "options": {"type": "object"},
                        "source": {"type": "string", "enum": ["api", "mcp", "dashboard"]}}},
    "Post": {"type": "object", "properties": {
        "id": {"type": "string"}, "groupId": {"type": "string"}, "integrationId": {"type": "string"},
        "text": {"type": "string"}, "thread": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["SCHEDULED", "PUBLISHING", "PUBLISHED", "FAILED", "CANCELLED",
                                              "UNKNOWN"]},
        "scheduledFor": {"type": ["string", "null"]}, "externalUrl": {"type": ["string", "null"]},
        "error": {"type": ["object", "null"]}}},
    "Integration": {"type": "object", "properties": {
        "id": {"type": "string"}, "platform": {"type": "string"}, "handle": {"type": "string"},
        "name": {"type": "string"}, "status": {"type": "string", "enum": ["active", "refresh_needed", "disabled"]},
        "tokenExpiresAt": {"type": ["string", "null"]}}},
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Social gateway", "version": __version__},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an API key from `gateway keys create`"}},
        },
    }


@blueprint.get("/openapi.json")
async def openapi() -> dict[str, Any]:
    return document()
