"""System check: every registered indicator source and built-in indicator is well declared, so a
typo in an app's registration fails `civicgrid check` (and the test run), not a recomputation."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from civicgrid.core.errors import ApplicationError
from civicgrid.indicators.registry import builtins, check_source, sources, validate_measure


@register()
def indicator_registry_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Errors for malformed sources and built-ins whose formula does not match its sources."""
    errors = [Error(problem, id="indicators.E001") for source in sources().values() for problem in check_source(source)]
    for definition in builtins().values():
        sides = [("numerator", definition.numerator), ("denominator", definition.denominator)]
        for side, measure in sides:
            if measure is None:
                continue
            try:
                validate_measure(measure)
            except ApplicationError as exc:
                errors.append(Error(f"built-in indicator {definition.code} {side}: {exc.message}", id="indicators.E002"))
    return errors
