"""Indicator definitions (指标) and their values per node and period, rolled up the territory tree."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicgrid.indicators.registry import Direction, PeriodKind, Unit

UNIT_CHOICES = [
    (Unit.PERCENT.value, _("百分比（%）")),
    (Unit.PERMILLE.value, _("千分比（‰）")),
    (Unit.RATIO.value, _("比值")),
    (Unit.COUNT.value, _("数量（无分母）")),
]
DIRECTION_CHOICES = [(Direction.HIGHER.value, _("越高越好")), (Direction.LOWER.value, _("越低越好"))]
PERIOD_CHOICES = [
    (PeriodKind.DAY.value, _("日")),
    (PeriodKind.WEEK.value, _("周")),
    (PeriodKind.MONTH.value, _("月")),
    (PeriodKind.YEAR.value, _("年")),
]
UNIT_SCALE = {Unit.PERCENT: Decimal(100), Unit.PERMILLE: Decimal(1000), Unit.RATIO: Decimal(1), Unit.COUNT: Decimal(1)}
UNIT_SUFFIX = {Unit.PERCENT: "%", Unit.PERMILLE: "‰", Unit.RATIO: "", Unit.COUNT: ""}


class Indicator(models.Model):
    """An indicator: numerator and denominator specs over registered sources, a unit, a target and
    whether higher or lower is better, computed per period of one kind. Built-ins are written by
    `indicators_sync_builtins`; administrators add their own."""

    code = models.SlugField(_("指标编码"), max_length=64, unique=True)
    name = models.CharField(_("指标名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    unit = models.CharField(_("单位"), max_length=16, choices=UNIT_CHOICES, default=Unit.PERCENT.value)
    numerator = models.JSONField(_("分子"))
    denominator = models.JSONField(_("分母"), null=True, blank=True)
    target = models.DecimalField(_("目标值"), max_digits=14, decimal_places=4, null=True, blank=True)
    direction = models.CharField(_("方向"), max_length=8, choices=DIRECTION_CHOICES, default=Direction.HIGHER.value)
    period = models.CharField(_("统计周期"), max_length=8, choices=PERIOD_CHOICES, default=PeriodKind.MONTH.value)
    # The code of the territory node whose subtree the indicator applies to (blank: everywhere).
    region_code = models.CharField(_("适用区域（节点编码）"), max_length=32, blank=True)
    # That node's materialised path (kept by the services), so applicability needs no node lookup.
    region_path = models.CharField(max_length=255, blank=True, editable=False)
    valid_from = models.DateField(_("启用日期"), null=True, blank=True)
    valid_to = models.DateField(_("停用日期"), null=True, blank=True)
    is_builtin = models.BooleanField(_("内置"), default=False, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)
    # Bumped by every incremental update, so a long recomputation can tell that it raced one.
    revision = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("指标")
        verbose_name_plural = _("指标")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_from__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="indicators_indicator_validity_order",
                violation_error_message=_("停用日期须晚于启用日期。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_denominator(self) -> bool:
        return self.denominator is not None and self.unit != Unit.COUNT

    @property
    def unit_suffix(self) -> str:
        return UNIT_SUFFIX[Unit(self.unit)]


class IndicatorValue(models.Model):
    """The value of one indicator at one node for one period: numerator and denominator summed over
    the node's whole subtree (`numerator`, `denominator`) and over records attributed to the node
    itself (`own_*`, what incremental updates adjust). `as_of` is the cut day: the period's last day
    once it is over, the day of the last refresh while it runs. `scope_path` and `depth` copy the
    node's, so scoped and children queries need no join."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values", verbose_name=_("指标"))
    node = models.ForeignKey(
        "territory.Node", on_delete=models.CASCADE, related_name="indicator_values", verbose_name=_("网格节点")
    )
    scope_path = models.CharField(max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    period_kind = models.CharField(_("统计周期"), max_length=8, choices=PERIOD_CHOICES)
    period_start = models.DateField(_("周期起始"))
    as_of = models.DateField(_("截至日期"))
    numerator = models.BigIntegerField(_("分子"), default=0)
    denominator = models.BigIntegerField(_("分母"), default=0)
    own_numerator = models.BigIntegerField(default=0)
    own_denominator = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        ordering = ["indicator_id", "period_start", "scope_path"]  # by id: no join to the indicator
        verbose_name = _("指标值")
        verbose_name_plural = _("指标值")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "node", "period_kind", "period_start"], name="indicators_value_unique"
            ),
        ]
        indexes = [
            # Children of a node (its subtree one level down) in one period: equality columns first, then
            # the path prefix. A node's own rows use the unique constraint's index.
            models.Index(
                fields=["indicator", "period_kind", "period_start", "depth", "scope_path"],
                name="indicators_value_level",
                opclasses=["int8_ops", "varchar_ops", "date_ops", "int2_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}@{self.node_id} {self.period_kind} {self.period_start}"

    @property
    def ratio(self) -> Decimal | None:
        """Numerator over denominator (None when the denominator is zero)."""
        if not self.denominator:
            return None
        return Decimal(self.numerator) / Decimal(self.denominator)


class IndicatorDay(models.Model):
    """What one day adds to an indicator at one node: numerator and denominator summed over the
    node's whole subtree for the records dated that day. Kept only for indicators whose numerator and
    denominator are flows over registries (a period counted through day D is then the sum of its days
    up to D), and only for the top node of the indicator's area and the levels just below it
    (`services.day_levels()`), where counting an "as of" day from the registries means scanning most
    of the county. The top node has a row for every stored day (the marker that the day is stored);
    other nodes only where the day has anything. `scope_path` and `depth` copy the node's.
    Invariant: numerator = own_numerator + Σ numerator of the node's children that keep day rows
    (the same for the denominator)."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="days", verbose_name=_("指标"))
    node = models.ForeignKey(
        "territory.Node", on_delete=models.CASCADE, related_name="indicator_days", verbose_name=_("网格节点")
    )
    scope_path = models.CharField(max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    day = models.DateField(_("日期"))
    numerator = models.BigIntegerField(_("分子"), default=0)
    denominator = models.BigIntegerField(_("分母"), default=0)
    # What the incremental update recounts for this row: the node's own records above the lowest
    # level kept; at the lowest level, its whole subtree (nothing below it keeps day rows).
    own_numerator = models.BigIntegerField(default=0)
    own_denominator = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["indicator_id", "day", "scope_path"]
        verbose_name = _("指标日值")
        verbose_name_plural = _("指标日值")
        constraints = [
            models.UniqueConstraint(fields=["indicator", "node", "day"], name="indicators_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}@{self.node_id} {self.day}"
