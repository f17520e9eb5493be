"""What LinkedIn accepts, checked before anything is stored.

Lengths are counted in Unicode code points (Python's ``len``). LinkedIn
documents its limits in "characters" without saying more; code points is the
closest reading, and what the fake enforces. An emoji made of several code
points (a family, a flag) counts as several here, so we may refuse a text
LinkedIn would take, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.types import Draft, Problem

PLATFORM = "linkedin"
MAX_LENGTH = 3000  #: a share's commentary
MAX_COMMENT_LENGTH = 1250  #: a comment, which is how follow-up thread parts go out
MAX_THREAD_PARTS = 10  #: the share plus up to nine comments
VISIBILITIES = ("PUBLIC", "CONNECTIONS")


def visibility(options: Mapping[str, Any]) -> str:
    """The share's visibility from the post options; ``PUBLIC`` unless told otherwise."""
    value = options.get("visibility")
    return str(value).upper() if value else "PUBLIC"


def validate(draft: Draft) -> list[Problem]:
    problems: list[Problem] = []
    problems.extend(_check_text("text", draft.text, MAX_LENGTH, "post"))
    for index, part in enumerate(draft.thread):
        problems.extend(_check_text(f"thread[{index}]", part, MAX_COMMENT_LENGTH, "comment"))
    parts = 1 + len(draft.thread)
    if parts > MAX_THREAD_PARTS:
        problems.append(
            Problem(
                "thread",
                "too_many_parts",
                f"A LinkedIn thread has at most {MAX_THREAD_PARTS} parts (the post and"
                f" {MAX_THREAD_PARTS - 1} comments); this one has {parts}.",
            )
        )
    raw = draft.options.get("visibility")
    if raw is not None and (not isinstance(raw, str) or raw.upper() not in VISIBILITIES):
        problems.append(
            Problem(
                "options.visibility",
                "invalid_option",
                f"LinkedIn visibility must be one of {', '.join(VISIBILITIES)}; got {raw!r}.",
            )
        )
    return problems


def _check_text(field: str, text: str, limit: int, what: str) -> list[Problem]:
    if not text.strip():
        return [Problem(field, "empty", f"A LinkedIn {what} cannot be empty.")]
    length = len(text)
    if length > limit:
        return [
            Problem(
                field,
                "too_long",
                f"A LinkedIn {what} has at most {limit} characters; this one has {length}.",
            )
        ]
    return []
