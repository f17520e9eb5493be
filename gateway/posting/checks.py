"""What the targets accept: the caller's integrations, and the plugins' validate hook.

Every problem is collected (not the first one) so a client fixes a request in
one round: per field, and per integration when the problem is one platform's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from gateway.errors import NotFound
from gateway.models import Integration, IntegrationStatus
from gateway.plugins import PluginHost
from gateway.posting.errors import FieldProblem
from gateway.posting.requests import Content
from gateway.scoping import Scope
from gateway.types import Draft


async def load_targets(
    scope: Scope, ids: Sequence[uuid.UUID], fields: Sequence[str], *, using_db: Any = None
) -> tuple[list[Integration], list[FieldProblem]]:
    """The caller's integrations by id, in request order; an id of another workspace is simply unknown.

    ``fields`` names each id's place in the request, for the problems.
    """
    rows = await scope.query(Integration).filter(id__in=list(ids)).using_db(using_db) if ids else []
    by_id = {row.id: row for row in rows}
    found: list[Integration] = []
    problems: list[FieldProblem] = []
    for key, field in zip(ids, fields, strict=True):
        row = by_id.get(key)
        if row is None:
            problems.append(FieldProblem(field, "unknown_integration",
                                         f"No integration {key} in this workspace.", integration_id=str(key)))
        elif row.status != IntegrationStatus.ACTIVE:
            problems.append(FieldProblem(field, "integration_inactive", inactive_message(row),
                                         integration_id=str(key)))
        else:
            found.append(row)
    return found, problems


def inactive_message(row: Integration) -> str:
    if row.status == IntegrationStatus.REFRESH_NEEDED:
        why = f" ({row.status_reason})" if row.status_reason else ""
        return f"The {row.platform} account @{row.handle} must be reconnected before it can post{why}."
    return f"The {row.platform} account @{row.handle} is disconnected; connect it again to post."


def check_content(plugins: PluginHost, integration: Integration, content: Content, field: str) -> list[FieldProblem]:
    """The problems the platform of ``integration`` has with ``content``.

    ``field`` names the integration in the request (``integrationIds[0]``) for
    a platform that is not installed.
    """
    target = str(integration.id)
    try:
        info = plugins.info(integration.platform)
    except NotFound:
        return [FieldProblem(field, "unsupported_platform",
                             f"No plugin for {integration.platform!r} is installed on this gateway.", target)]
    problems: list[FieldProblem] = []
    parts = 1 + len(content.thread)
    if content.thread and not info.supports_threads:
        problems.append(FieldProblem("thread", "threads_unsupported",
                                     f"{info.title} does not support threads; send the text alone.", target))
    elif parts > max(info.max_thread_parts, 1):
        problems.append(FieldProblem("thread", "too_many_parts",
                                     f"{info.title} takes at most {info.max_thread_parts} parts; this has {parts}.",
                                     target))
    draft = Draft(platform=integration.platform, text=content.text, thread=content.thread,
                  options=dict(content.options))
    for problem in plugins.validate(draft):
        problems.append(FieldProblem(problem.field, problem.code, problem.message, target))
    return problems
