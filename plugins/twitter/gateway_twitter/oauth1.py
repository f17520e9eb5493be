"""OAuth 1.0a (RFC 5849) HMAC-SHA1 request signing, as X expects it.

Built on Authlib's transport-agnostic signature functions rather than on one of
its HTTP client integrations: those silently send an EMPTY body for any request
that is not form-encoded (a JSON ``POST /2/tweets`` would arrive with
``Content-Length: 0``) and may pick ``httpx2`` over the ``httpx`` client the
gateway hands us. Here we only compute the ``Authorization`` header; the caller
sends the exact bytes it wants with its own client.

What is signed (RFC 5849 section 3.4.1.3): the method, the base URL, the query
parameters, the ``oauth_*`` protocol parameters and, only for
``application/x-www-form-urlencoded`` bodies, the form parameters. A JSON body is
not part of the signature base string; X does not use ``oauth_body_hash``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

from authlib.common.security import generate_token
from authlib.oauth1.rfc5849.parameters import prepare_headers
from authlib.oauth1.rfc5849.signature import construct_base_string, hmac_sha1_signature
from authlib.oauth1.rfc5849.util import escape, unescape

SIGNATURE_METHOD = "HMAC-SHA1"

Params = Sequence[tuple[str, str]]


def base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature base string for ``method url`` with these decoded parameters.

    ``params`` are raw (decoded) values: query, form and ``oauth_*`` parameters
    together. Authlib's :func:`construct_base_string` percent-decodes ``oauth_*``
    values once more (it expects them as read from a header), so they are
    escaped here first; ``unescape(escape(v)) == v`` for every string, which
    keeps e.g. a callback URL containing ``%20`` intact.
    """
    prepared = [(k, escape(v) if k.startswith("oauth_") else v) for k, v in params]
    return str(construct_base_string(method, url, prepared))


def signature(base: str, consumer_secret: str, token_secret: str | None) -> str:
    return str(hmac_sha1_signature(base, consumer_secret, token_secret or ""))


def query_params(url: str) -> list[tuple[str, str]]:
    """The decoded query parameters of ``url``, blanks kept (they are signed too)."""
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


@dataclass(frozen=True)
class Signer:
    """Signs requests for one consumer (the app) and, optionally, one token."""

    consumer_key: str
    consumer_secret: str = field(repr=False)
    token: str | None = None
    token_secret: str | None = field(default=None, repr=False)

    def oauth_params(
        self, *, extra: Mapping[str, str] | None = None, nonce: str | None = None, timestamp: str | None = None
    ) -> list[tuple[str, str]]:
        params = [
            ("oauth_consumer_key", self.consumer_key),
            ("oauth_nonce", nonce or generate_token(32)),
            ("oauth_signature_method", SIGNATURE_METHOD),
            ("oauth_timestamp", timestamp or str(int(time.time()))),
            ("oauth_version", "1.0"),
        ]
        if self.token:
            params.append(("oauth_token", self.token))
        params.extend((extra or {}).items())
        return params

    def sign(
        self,
        method: str,
        url: str,
        *,
        form: Params = (),
        extra: Mapping[str, str] | None = None,
        nonce: str | None = None,
        timestamp: str | None = None,
    ) -> str:
        """Return the ``Authorization`` header value for this request.

        ``url`` carries the query string exactly as it will be sent; ``form`` the
        decoded parameters of a form-encoded body (leave it empty for JSON);
        ``extra`` more protocol parameters (``oauth_callback``,
        ``oauth_verifier``). ``nonce`` and ``timestamp`` are for test vectors.
        """
        oauth = self.oauth_params(extra=extra, nonce=nonce, timestamp=timestamp)
        base = base_string(method, url, [*query_params(url), *form, *oauth])
        oauth.append(("oauth_signature", signature(base, self.consumer_secret, self.token_secret)))
        return str(prepare_headers(oauth, {})["Authorization"])


def parse_authorization(header: str) -> dict[str, str] | None:
    """The decoded parameters of an ``Authorization: OAuth ...`` header, or None.

    Used by the fake server to check signatures the way X does.
    """
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "oauth":
        return None
    try:
        items = parse_keqv_list(parse_http_list(rest))
    except (IndexError, ValueError):
        return None
    return {unescape(k): unescape(v) for k, v in items.items()}


def verify(
    method: str,
    url: str,
    params: Params,
    oauth: Mapping[str, str],
    consumer_secret: str,
    token_secret: str | None,
) -> bool:
    """Whether ``oauth["oauth_signature"]`` signs this request (constant-time compare)."""
    given = oauth.get("oauth_signature", "")
    signed = [*params, *((k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm"))]
    expected = signature(base_string(method, url, signed), consumer_secret, token_secret)
    return hmac.compare_digest(expected.encode(), given.encode())
