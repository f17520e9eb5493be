"""Event tests run with a short keepalive, so that keepalives are seen in a test's time."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.events import HUB
from gateway.settings import Settings
from gateway.streaming import Hub

KEEPALIVE = 0.3


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return Settings.from_env(base_env).with_(sse_keepalive=KEEPALIVE)


@pytest.fixture
def hub(app: Any) -> Hub:
    """The started app's event hub."""
    found: Hub = app.app.extensions[HUB]
    return found
