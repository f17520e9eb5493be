"""The gateway's own small pages, until the full dashboard exists.

The OAuth callback lands here: it shows the connected account, or the reason
the connection failed, from a one-time message kept in the session cookie.
"""

from __future__ import annotations

from html import escape

from quart import Blueprint, session

blueprint = Blueprint("pages", __name__)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Social gateway</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}
.connected{{color:#0a6b2d}}.error{{color:#a11}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def flash(kind: str, message: str) -> None:
    session["flash"] = {"kind": kind, "message": message}


def render_message(title: str, message: str, *, status: int = 200, kind: str = "error") -> tuple[str, int]:
    body = f'<p class="{escape(kind)}" role="status">{escape(message)}</p>'
    return _PAGE.format(title=escape(title), body=body), status


@blueprint.get("/dashboard")
async def dashboard() -> tuple[str, int]:
    message = session.pop("flash", None)
    if message is None:
        return render_message("Social gateway", "Nothing to show yet.", kind="info")
    title = "Account connected" if message["kind"] == "connected" else "Not connected"
    return render_message(title, message["message"], kind=message["kind"])
