"""``scheduledFor`` and ``timeZone``: when a post should go out, never guessed.

A time is accepted as ISO 8601 with a UTC offset (``2026-05-01T09:00:00+02:00``,
``...Z``), or as a local time without one plus an IANA ``timeZone``
(``Europe/Paris``). A local time that the zone skips (the spring-forward gap)
or repeats (the autumn overlap) is refused with a message that says so: the
client adds an offset to say which instant it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.posting.errors import FieldProblem

_HAS_TIME = re.compile(r"^\d{4}-?\d{2}-?\d{2}[T ]\d{2}")


@dataclass(frozen=True)
class When:
    """The instant a post is due (UTC), or None for "now"; and the zone to show it in."""

    at: datetime | None
    time_zone: str | None


def parse_zone(value: Any, field: str = "timeZone") -> tuple[str | None, list[FieldProblem]]:
    if value is None:
        return None, []
    if not isinstance(value, str) or not value.strip():
        return None, [FieldProblem(field, "invalid_type",
                                   f"{field} must be an IANA time zone name such as Europe/Paris.")]
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None, [FieldProblem(field, "unknown_time_zone",
                                   f"{name!r} is not a known IANA time zone; use a name such as Europe/Paris.")]
    return name, []


def parse_when(value: Any, zone_value: Any, *, now: datetime | None = None) -> tuple[When, list[FieldProblem]]:
    """Read ``scheduledFor`` (+ ``timeZone``); problems say exactly what to fix."""
    zone, problems = parse_zone(zone_value)
    if problems:
        return When(None, None), problems
    if value is None:
        return When(None, zone), []
    if not isinstance(value, str):
        return When(None, zone), [FieldProblem("scheduledFor", "invalid_type",
                                               "scheduledFor must be an ISO 8601 date and time, or null.")]
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text) if _HAS_TIME.match(text) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return When(None, zone), [FieldProblem(
            "scheduledFor", "invalid_time",
            f"{value!r} is not an ISO 8601 date and time such as 2026-05-01T09:00:00+02:00.")]
    if parsed.tzinfo is not None:
        at = parsed.astimezone(UTC)
    elif zone is None:
        return When(None, None), [FieldProblem(
            "scheduledFor", "missing_offset",
            f"{value!r} has no UTC offset: add one (such as +02:00 or Z), or send timeZone with an IANA"
            " name such as Europe/Paris. A time is never guessed.")]
    else:
        local, problem = resolve_local(parsed, zone)
        if problem:
            return When(None, zone), [problem]
        assert local is not None
        at = local.astimezone(UTC)
    current = now or datetime.now(UTC)
    if at <= current:
        return When(None, zone), [FieldProblem(
            "scheduledFor", "in_past",
            f"scheduledFor {at.isoformat()} is in the past (it is now {current.replace(microsecond=0).isoformat()});"
            " leave it out to publish now.")]
    return When(at, zone), []


def resolve_local(naive: datetime, zone_name: str) -> tuple[datetime | None, FieldProblem | None]:
    """A wall-clock time in ``zone_name`` as one aware instant, or why it is not one."""
    zone = ZoneInfo(zone_name)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    shown = naive.isoformat(timespec="minutes")
    back = first.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:  # the wall time does not survive a round trip: it does not exist
        return None, FieldProblem(
            "scheduledFor", "nonexistent_time",
            f"{shown} does not exist in {zone_name}: the clocks skip it that day (the change to"
            f" UTC{_offset(second)}). Choose another time, or send an explicit offset.")
    return None, FieldProblem(
        "scheduledFor", "ambiguous_time",
        f"{shown} happens twice in {zone_name} (the clocks go back that day): send it with an offset,"
        f" {naive.isoformat(timespec='minutes')}{_offset(first)} or {naive.isoformat(timespec='minutes')}"
        f"{_offset(second)}, to say which.")


def _offset(moment: datetime) -> str:
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
