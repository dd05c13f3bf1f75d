"""What territory offers the indicator engine: responsibility coverage (包干覆盖率) as a snapshot —
for each day, every node whose kind needs a primary responsible person and whether one was in force
that day (assignments are effective-dated, so any past day has its answer)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from civicgrid.indicators.registry import BuiltinIndicator, Measure, Source, register_builtin, register_source
from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Assignment, Node

COVERAGE_SOURCE = "territory.coverage"


def coverage_rows(
    *, days: Sequence[dt.date], path_prefix: str = "", node_id: int | None = None
) -> Iterator[dict[str, Any]]:
    """One row per day and active node needing a primary holder: its kind and whether the required
    role had a primary holder in force (valid_from ≤ day < valid_to). Two queries for any number of days."""
    nodes = Node.objects.filter(is_active=True, kind__in=list(REQUIRED_ROLE_BY_KIND))
    if path_prefix:
        nodes = nodes.filter(path__startswith=path_prefix)
    if node_id is not None:
        nodes = nodes.filter(pk=node_id)
    kinds = dict(nodes.values_list("pk", "kind"))
    if not kinds:
        return
    terms: dict[int, list[tuple[dt.date, dt.date | None]]] = defaultdict(list)
    holders = Assignment.objects.filter(
        is_primary=True, role__in=sorted(set(REQUIRED_ROLE_BY_KIND.values())), valid_from__lte=max(days)
    )
    if node_id is not None:
        holders = holders.filter(node_id=node_id)
    elif path_prefix:
        holders = holders.filter(node__path__startswith=path_prefix)
    for holder_node, role, valid_from, valid_to in holders.values_list("node_id", "role", "valid_from", "valid_to"):
        if holder_node in kinds and REQUIRED_ROLE_BY_KIND[kinds[holder_node]] == role:
            terms[holder_node].append((valid_from, valid_to))
    for day in days:
        for pk, kind in kinds.items():
            covered = any(start <= day and (end is None or end > day) for start, end in terms.get(pk, ()))
            yield {"day": day, "node_id": pk, "kind": kind, "covered": covered}


register_source(Source(
    code=COVERAGE_SOURCE,
    label=_("包干覆盖（需配第一责任人的节点）"),
    snapshot=coverage_rows,
    filter_fields={"kind": ("exact", "in"), "covered": ("exact",)},
    description=_("每日快照：需配第一责任人的节点，及当日是否有在任第一责任人。"),
))

register_builtin(BuiltinIndicator(
    code="responsibility_coverage",
    name=_("包干覆盖率"),
    numerator=Measure(COVERAGE_SOURCE, filters={"covered": True}),
    denominator=Measure(COVERAGE_SOURCE),
    target=Decimal("100"),
    description=_("有在任第一责任人的节点 ÷ 需配第一责任人的节点（周期末日，或截至当日）——不漏一户，不漏一人。"),
    order=10,
))
