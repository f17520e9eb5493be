"""Validation problems of a post request, and the error that carries them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.errors import GatewayError


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request: which field, for which integration (if any), and why."""

    field: str  #: ``text``, ``thread[1]``, ``scheduledFor``, ``integrationIds[0]``...
    code: str  #: stable and machine-readable: ``too_long``, ``in_past``...
    message: str  #: a sentence for a person
    integration_id: str | None = None  #: None: the problem is the request's, whatever the target

    def as_json(self) -> dict[str, Any]:
        return {"integrationId": self.integration_id, "field": self.field, "code": self.code, "message": self.message}


class ValidationFailed(GatewayError):
    """The request cannot be accepted as it is: 422 with one problem per field and integration."""

    code = "validation_failed"
    status = 422

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = dedupe(problems)
        first = self.problems[0].message if self.problems else "the request is not valid"
        more = len(self.problems) - 1
        message = first if more <= 0 else f"{first} (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(message, details=[p.as_json() for p in self.problems])


def dedupe(problems: Iterable[FieldProblem]) -> list[FieldProblem]:
    """Problems in order, without repeats.

    A problem the request has as a whole (no integration) hides the same
    field and code reported by a plugin for one integration: an empty text is
    said once, not once per platform.
    """
    items = list(problems)
    general = {(p.field, p.code) for p in items if p.integration_id is None}
    seen: set[tuple[str | None, str, str]] = set()
    kept: list[FieldProblem] = []
    for problem in items:
        key = (problem.integration_id, problem.field, problem.code)
        if key in seen or (problem.integration_id is not None and (problem.field, problem.code) in general):
            continue
        seen.add(key)
        kept.append(problem)
    return kept
