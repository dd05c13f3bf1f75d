"""Messages are asserted in the default language (简体中文): another test may leave English active."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    with translation.override(settings.LANGUAGE_CODE):
        yield
