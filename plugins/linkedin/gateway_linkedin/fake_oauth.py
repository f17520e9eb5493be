"""The fake's OAuth side: the authorization (consent) page and the token endpoint.

Checks as LinkedIn does: the client id on the authorization page, the
registered redirect URL, ``response_type=code``, a ``state``, scopes the app
may ask for; on the token endpoint a form-encoded body, the client id and
secret, a code that exists, is unused, unexpired, was issued to this client
for exactly this redirect URI (and PKCE verifier), and refresh tokens that are
neither unknown, revoked nor expired.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from quart import Quart, Response, jsonify, request

from gateway_linkedin.fake import Authorization, Code, FakeLinkedIn, Token

#: LinkedIn gives the same description for every bad code, whatever the reason
BAD_CODE = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code."
    " Or authorization code expired. Or external member binding exists"
)
DECISION_PATH = "/oauth/v2/authorization/decision"


def _page(status: int, title: str, body: str) -> Response:
    html = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)} | LinkedIn (sandbox)</title></head>"
        f"<body style='font-family:sans-serif;max-width:36em;margin:3em auto'>{body}</body></html>"
    )
    return Response(html, status=status, mimetype="text/html")


def _oauth_error(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


def _back_to(redirect_uri: str, **params: str) -> Response:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return Response("", status=302, headers={"Location": f"{redirect_uri}{joiner}{urlencode(params)}"})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def register_oauth(app: Quart, fake: FakeLinkedIn) -> None:
    @app.get("/oauth/v2/authorization")
    @fake.faulty("GET /oauth/v2/authorization")
    async def authorization() -> Response:
        args = request.args
        client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
        if client_id != fake.client_id:
            return _page(400, "Error", "<h1>Invalid request</h1><p>The client_id is not valid.</p>")
        parts = urlsplit(redirect_uri)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or (fake.redirect_uris is not None and redirect_uri not in fake.redirect_uris)
        ):
            return _page(
                400,
                "Error",
                "<h1>Invalid redirect_uri</h1><p>The redirect_uri does not match the registered value.</p>",
            )
        state = args.get("state", "")
        if not state:
            return _page(400, "Error", "<h1>Invalid request</h1><p>A state parameter is required.</p>")
        if args.get("response_type") != "code":
            return _back_to(
                redirect_uri,
                error="invalid_request",
                error_description="response_type must be code",
                state=state,
            )
        scopes = tuple(args.get("scope", "").replace(",", " ").split())
        if not scopes:
            return _back_to(redirect_uri, error="invalid_scope", error_description="scope is required", state=state)
        refused = [scope for scope in scopes if scope not in fake.app_scopes]
        if refused:
            return _back_to(
                redirect_uri,
                error="unauthorized_scope_error",
                error_description=f'Scope "{refused[0]}" is not authorized for your application',
                state=state,
            )
        challenge = args.get("code_challenge")
        if challenge and args.get("code_challenge_method") != "S256":
            return _back_to(
                redirect_uri,
                error="invalid_request",
                error_description="code_challenge_method must be S256",
                state=state,
            )
        request_id = secrets.token_urlsafe(16)
        fake.authorizations[request_id] = Authorization(client_id, redirect_uri, scopes, state, challenge)
        return _consent_page(fake, request_id, scopes)

    @app.post(DECISION_PATH)
    async def decision() -> Response:
        form = await request.form
        pending = fake.authorizations.pop(form.get("request_id", ""), None)
        if pending is None:
            return _page(400, "Expired", "<h1>This authorization request has expired.</h1>")
        if form.get("action") != "allow":
            return _back_to(
                pending.redirect_uri,
                error="user_cancelled_authorize",
                error_description="The user cancelled the authorization",
                state=pending.state,
            )
        sub = form.get("member") or fake.signed_in
        if sub not in fake.members:
            return _page(400, "Error", "<h1>Unknown member.</h1>")
        code = secrets.token_urlsafe(32)
        fake.codes[code] = Code(
            client_id=pending.client_id,
            redirect_uri=pending.redirect_uri,
            sub=sub,
            scopes=pending.scopes,
            code_challenge=pending.code_challenge,
            expires_at=fake.clock() + fake.code_ttl,
        )
        return _back_to(pending.redirect_uri, code=code, state=pending.state)

    @app.post("/oauth/v2/accessToken")
    @fake.faulty("POST /oauth/v2/accessToken")
    async def access_token() -> Response:
        if request.mimetype != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = await request.form
        grant = form.get("grant_type")
        if grant not in ("authorization_code", "refresh_token"):
            return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        if form.get("client_id") != fake.client_id or form.get("client_secret") != fake.client_secret:
            fake.token_errors.append("invalid_client")
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if grant == "refresh_token":
            return _refresh(fake, form.get("refresh_token", ""))
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                return _oauth_error(400, "invalid_request", f'A required parameter "{name}" is missing')
        return _exchange(fake, form.get("code", ""), form.get("redirect_uri", ""), form.get("code_verifier"))


def _code_problem(fake: FakeLinkedIn, code: Code | None, redirect_uri: str, verifier: str | None) -> str | None:
    if code is None:
        return "unknown_code"
    if code.used:
        return "code_reused"
    if fake.clock() >= code.expires_at:
        return "code_expired"
    if code.client_id != fake.client_id:
        return "client_mismatch"
    if code.redirect_uri != redirect_uri:
        return "redirect_uri_mismatch"
    if code.code_challenge and (not verifier or _s256(verifier) != code.code_challenge):
        return "code_verifier_mismatch"
    return None


def _exchange(fake: FakeLinkedIn, value: str, redirect_uri: str, verifier: str | None) -> Response:
    code = fake.codes.get(value)
    problem = _code_problem(fake, code, redirect_uri, verifier)
    if code is not None:
        code.used = True  # single use, even when this attempt is refused
    if problem is not None or code is None:
        fake.token_errors.append(problem or "unknown_code")
        return _oauth_error(400, "invalid_request", BAD_CODE)
    access = fake.mint_access(code.sub, code.scopes)
    body: dict[str, Any] = {
        "access_token": access.value,
        "expires_in": fake.access_token_ttl,
        "scope": ",".join(sorted(code.scopes)),
    }
    if fake.grant_refresh_tokens:
        refresh = fake.mint_refresh(code.sub, code.scopes)
        body["refresh_token"] = refresh.value
        body["refresh_token_expires_in"] = fake.refresh_token_ttl
    return jsonify(body)


def _refresh(fake: FakeLinkedIn, value: str) -> Response:
    token: Token | None = fake.refresh_tokens.get(value)
    if token is None:
        fake.token_errors.append("unknown_refresh_token")
        return _oauth_error(400, "invalid_request", "The provided refresh token is invalid")
    if token.revoked:
        fake.token_errors.append("refresh_token_revoked")
        return _oauth_error(400, "invalid_request", "The token used in the request has been revoked by the user")
    remaining = int(token.expires_at - fake.clock())
    if remaining <= 0:
        fake.token_errors.append("refresh_token_expired")
        return _oauth_error(400, "invalid_request", "The provided refresh token has expired")
    access = fake.mint_access(token.sub, token.scopes)
    body: dict[str, Any] = {
        "access_token": access.value,
        "expires_in": fake.access_token_ttl,
        "scope": ",".join(sorted(token.scopes)),
    }
    # LinkedIn hands back the same refresh token; its lifetime keeps running down
    if fake.refresh_includes_refresh_token:
        body["refresh_token"] = token.value
        body["refresh_token_expires_in"] = remaining
    return jsonify(body)


def _consent_page(fake: FakeLinkedIn, request_id: str, scopes: tuple[str, ...]) -> Response:
    options = "".join(
        f"<option value='{escape(m.sub)}'{' selected' if m.sub == fake.signed_in else ''}>"
        f"{escape(m.name)} ({escape(m.sub)})</option>"
        for m in fake.members.values()
    )
    listed = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    body = (
        "<h1>Allow access to your LinkedIn account?</h1>"
        f"<p>The app <code>{escape(fake.client_id)}</code> asks for:</p><ul>{listed}</ul>"
        f"<form method='post' action='{DECISION_PATH}'>"
        f"<input type='hidden' name='request_id' value='{escape(request_id)}'>"
        f"<p><label>Signed in as <select name='member'>{options}</select></label></p>"
        "<button type='submit' name='action' value='allow'>Allow</button> "
        "<button type='submit' name='action' value='cancel'>Cancel</button>"
        "</form>"
    )
    return _page(200, "Authorize", body)
