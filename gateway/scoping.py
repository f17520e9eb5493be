"""Workspace scoping: the one way handlers read tenant data.

A request authenticated as a workspace gets a :class:`Scope`; every query of
tenant rows starts from it, so a row of another workspace is simply not found
(404, never 403: its existence is not revealed).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from tortoise.exceptions import ValidationError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from gateway.errors import NotFound

M = TypeVar("M", bound=Model)


class Scope:
    def __init__(self, workspace_id: uuid.UUID) -> None:
        self.workspace_id = workspace_id

    def query(self, model: type[M]) -> QuerySet[M]:
        """All rows of ``model`` in this workspace."""
        return model.filter(workspace_id=self.workspace_id)

    async def get(self, model: type[M], row_id: Any, **filters: Any) -> M:
        """One row of this workspace by id, or :class:`NotFound`."""
        name = model.__name__.lower()
        try:
            key = uuid.UUID(str(row_id))
        except ValueError:
            raise NotFound(f"no {name} {row_id!r}") from None
        try:
            row = await self.query(model).filter(id=key, **filters).first()
        except ValidationError:
            row = None
        if row is None:
            raise NotFound(f"no {name} {row_id}")
        return row
