"""Fixtures of the indicator tests: the test sources registered for the session."""

from __future__ import annotations

import pytest

from civicgrid.indicators.registry import _SOURCES
from civicgrid.indicators.tests import factories

# Playwright on Debian's Chromium, as the web tests configure it (skip locally without it, fail in CI).
from civicgrid.web.tests.conftest import browser_context_args, browser_type_launch_args  # noqa: F401


@pytest.fixture(autouse=True)
def test_sources():
    """Register the test-only sources around each test (they read existing models only)."""
    factories.register_test_sources()
    factories.TABLE_STATE.facts.clear()
    factories.TABLE_STATE.paths.clear()
    yield factories.TABLE_STATE
    for code in (factories.PEOPLE_BY_NODE, factories.PEOPLE_BY_PATH, factories.TABLE):
        _SOURCES.pop(code, None)
