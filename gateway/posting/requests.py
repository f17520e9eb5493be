"""The shape of post requests: what a client sent, read into typed values or problems.

Only the shape is checked here (types, required fields, unknown fields, the
time); what a platform accepts is asked of the plugins in
:mod:`gateway.posting.checks`. Unknown fields are refused rather than ignored:
a misspelled ``scheduledFor`` must not turn a scheduled post into one that
goes out now.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.models import Source
from gateway.posting.errors import FieldProblem
from gateway.posting.times import When, parse_when

MAX_TARGETS = 50
MAX_PARTS = 100  #: a sanity bound before the platforms' own (much lower) limits
CREATE_FIELDS = frozenset({"text", "thread", "options", "integrationIds", "scheduledFor", "timeZone", "source"})
EDIT_FIELDS = frozenset({"text", "thread", "options", "scheduledFor", "timeZone"})


@dataclass(frozen=True)
class Content:
    text: str
    thread: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateRequest:
    content: Content
    integration_ids: tuple[uuid.UUID, ...]
    when: When
    source: Source | None  #: what the body asked for, if anything
    target_fields: tuple[str, ...] = ()  #: where each id was in the request: ``integrationIds[2]``

    def field_of(self, integration_id: uuid.UUID) -> str:
        return self.target_fields[self.integration_ids.index(integration_id)]


@dataclass(frozen=True)
class EditRequest:
    """A partial change: ``None`` (or absent from ``given``) leaves a field as it is."""

    given: frozenset[str]
    text: str | None
    thread: tuple[str, ...] | None
    options: Mapping[str, Any] | None
    when: When | None


def request_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the body in canonical JSON: the same request, however its keys are ordered."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _unknown(body: Mapping[str, Any], allowed: frozenset[str]) -> list[FieldProblem]:
    return [
        FieldProblem(str(name), "unknown_field",
                     f"Unknown field {name!r}; expected some of: {', '.join(sorted(allowed))}.")
        for name in body if name not in allowed
    ]


def parse_text(value: Any, *, required: bool = True) -> tuple[str | None, list[FieldProblem]]:
    if value is None:
        return None, [FieldProblem("text", "required", "text is required: the post's words.")] if required else []
    if not isinstance(value, str):
        return None, [FieldProblem("text", "invalid_type", "text must be a string.")]
    if not value.strip():
        return value, [FieldProblem("text", "empty", "The post has no text.")]
    return value, []


def parse_thread(value: Any) -> tuple[tuple[str, ...], list[FieldProblem]]:
    if value is None:
        return (), []
    if not isinstance(value, list):
        return (), [FieldProblem("thread", "invalid_type",
                                 "thread must be a list of strings: the parts that follow the text, in order.")]
    problems: list[FieldProblem] = []
    if len(value) >= MAX_PARTS:
        problems.append(FieldProblem("thread", "too_many_parts", f"A thread has at most {MAX_PARTS} parts."))
    for index, part in enumerate(value):
        if not isinstance(part, str):
            problems.append(FieldProblem(f"thread[{index}]", "invalid_type", "Each thread part must be a string."))
        elif not part.strip():
            problems.append(FieldProblem(f"thread[{index}]", "empty", f"Thread part {index + 1} has no text."))
    return tuple(p if isinstance(p, str) else "" for p in value), problems


def parse_options(value: Any) -> tuple[dict[str, Any], list[FieldProblem]]:
    if value is None:
        return {}, []
    if not isinstance(value, dict):
        return {}, [FieldProblem("options", "invalid_type",
                                 'options must be an object of platform options, such as {"visibility": "PUBLIC"}.')]
    return dict(value), []


def parse_targets(value: Any) -> tuple[dict[uuid.UUID, str], list[FieldProblem]]:
    """The valid ids, each with its place in the request (for the problems), and the problems."""
    if value is None:
        return {}, [FieldProblem("integrationIds", "required",
                                 "integrationIds is required: the ids of the accounts to post to.")]
    if not isinstance(value, list) or not value:
        return {}, [FieldProblem("integrationIds", "invalid_type",
                                 "integrationIds must be a non-empty list of integration ids.")]
    if len(value) > MAX_TARGETS:
        return {}, [FieldProblem("integrationIds", "too_many", f"At most {MAX_TARGETS} integrations per request.")]
    ids: dict[uuid.UUID, str] = {}
    problems: list[FieldProblem] = []
    for index, item in enumerate(value):
        try:
            key = uuid.UUID(item) if isinstance(item, str) else None
        except ValueError:
            key = None
        if key is None:
            problems.append(FieldProblem(f"integrationIds[{index}]", "unknown_integration",
                                         f"{item!r} is not an integration id.", integration_id=str(item)))
        elif key in ids:
            problems.append(FieldProblem(f"integrationIds[{index}]", "duplicate",
                                         "This integration is listed twice.", integration_id=str(key)))
        else:
            ids[key] = f"integrationIds[{index}]"
    return ids, problems


def parse_source(value: Any) -> tuple[Source | None, list[FieldProblem]]:
    if value is None:
        return None, []
    try:
        return Source(value), []
    except ValueError:
        return None, [FieldProblem("source", "invalid_value",
                                   f"source must be one of {', '.join(s.value for s in Source)}.")]


@dataclass(frozen=True)
class Parsed:
    """A request as far as it could be read, and what is wrong with it.

    The checks that ask the database and the plugins run on what could be
    read, so one answer lists every problem: a time without an offset and a
    text too long for X come back together.
    """

    request: CreateRequest
    problems: list[FieldProblem]

    @property
    def content_readable(self) -> bool:
        """Whether text, thread and options have the right types (if not, no plugin can judge them)."""
        return not any(p.field.split("[")[0] in ("text", "thread", "options") and p.code in _SHAPE
                       for p in self.problems)


_SHAPE = frozenset({"invalid_type", "required"})


def read_create(body: Mapping[str, Any], *, now: datetime | None = None) -> Parsed:
    """Read a create (or validate) request, collecting every problem of its shape."""
    problems = _unknown(body, CREATE_FIELDS)
    text, found = parse_text(body.get("text"))
    problems += found
    thread, found = parse_thread(body.get("thread"))
    problems += found
    options, found = parse_options(body.get("options"))
    problems += found
    targets, found = parse_targets(body.get("integrationIds"))
    problems += found
    when, found = parse_when(body.get("scheduledFor"), body.get("timeZone"), now=now)
    problems += found
    source, found = parse_source(body.get("source"))
    problems += found
    request = CreateRequest(Content(text or "", thread, options), tuple(targets), when, source, tuple(targets.values()))
    return Parsed(request, problems)


def read_edit(body: Mapping[str, Any], *, now: datetime | None = None) -> tuple[EditRequest, list[FieldProblem]]:
    """Read a PATCH body. ``"scheduledFor": null`` means "publish now"."""
    problems = _unknown(body, EDIT_FIELDS)
    if "integrationIds" in body:
        problems = [p for p in problems if p.field != "integrationIds"]
        problems.append(FieldProblem("integrationIds", "not_editable",
                                     "A post belongs to one integration; create a new post for another."))
    if not any(name in body for name in EDIT_FIELDS):
        problems.append(FieldProblem("body", "empty",
                                     f"Nothing to change: send some of {', '.join(sorted(EDIT_FIELDS))}."))
    text, thread, options, when = None, None, None, None
    if "text" in body:
        text, found = parse_text(body["text"])
        problems += found
    if "thread" in body:
        thread, found = parse_thread(body["thread"])
        problems += found
    if "options" in body:
        options, found = parse_options(body["options"])
        problems += found
    if "scheduledFor" in body or "timeZone" in body:
        if "scheduledFor" not in body:
            problems.append(FieldProblem("scheduledFor", "required",
                                         "Send scheduledFor with timeZone: the zone says how to read the time."))
        when, found = parse_when(body.get("scheduledFor"), body.get("timeZone"), now=now)
        problems += found
    return EditRequest(frozenset(body), text, thread, options, when), problems
