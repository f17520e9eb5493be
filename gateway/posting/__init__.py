"""The post service: everything about posts that is not HTTP.

The REST blueprint (:mod:`gateway.api.posts`), the worker and the MCP server
all go through these functions, so a rule (a time without an offset is
refused, a state change is a compare-and-set with its event) holds whichever
door a request came in by. Every function takes the :class:`~gateway.runtime.Runtime`
and the caller's :class:`~gateway.scoping.Scope`; none reads a request.
"""

from __future__ import annotations

from gateway.posting.create import Checked, Created, check_request, create_posts
from gateway.posting.errors import FieldProblem, ValidationFailed
from gateway.posting.manage import cancel_post, delete_post, edit_post, retry_post
from gateway.posting.queries import Page, attempts_of, list_posts
from gateway.posting.transitions import emit, enqueue, move

__all__ = [
    "Checked",
    "Created",
    "FieldProblem",
    "Page",
    "ValidationFailed",
    "attempts_of",
    "cancel_post",
    "check_request",
    "create_posts",
    "delete_post",
    "edit_post",
    "emit",
    "enqueue",
    "list_posts",
    "move",
    "retry_post",
]
