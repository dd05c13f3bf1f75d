"""The append-only audit trail shared by every app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    VIEW_SENSITIVE = "view_sensitive", _("查看敏感信息")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    PERMISSION_CHANGE = "permission_change", _("权限变更")


class AuditEvent(models.Model):
    """One row per audited action. Database triggers refuse UPDATE and refuse DELETE inside retention."""

    ts = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("操作人"),
    )
    actor_username = models.CharField(_("账号"), max_length=150, blank=True)
    ip = models.CharField(_("来源地址"), max_length=64, blank=True)
    action = models.CharField(_("动作"), max_length=32, choices=AuditAction.choices, db_index=True)
    success = models.BooleanField(_("成功"), default=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True, db_index=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    scope_path = models.CharField(_("所属网格路径"), max_length=255, blank=True, db_index=True)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    reason = models.CharField(_("事由"), max_length=200, blank=True)

    class Meta:
        ordering = ["-ts", "-id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")

    def __str__(self) -> str:
        return f"{self.ts:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action} {self.object_type}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit events are append-only")


class ScheduledJob(models.Model):
    """The durable state of one recurring job (core.scheduling): when it is next due and what its last
    run was. Claiming an occurrence is a compare-and-set on `next_due_at`."""

    name = models.CharField(_("任务"), max_length=100, unique=True)
    cadence = models.CharField(_("周期"), max_length=40)  # the cadence the next due time was planned with
    next_due_at = models.DateTimeField(_("下次执行时间"))
    last_due_at = models.DateTimeField(_("上次计划时间"), null=True, blank=True)
    last_enqueued_at = models.DateTimeField(_("上次入队时间"), null=True, blank=True)
    last_missed = models.PositiveIntegerField(_("上次合并的错过次数"), default=0)
    last_task_id = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(_("调度错误"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")

    def __str__(self) -> str:
        return self.name


class ScheduledRunOutcome(models.TextChoices):
    ENQUEUED = "enqueued", _("已入队")
    SKIPPED_QUEUED = "skipped_queued", _("上次任务仍在排队，未重复入队")


class ScheduledRun(models.Model):
    """One claimed occurrence of a recurring job; at most one row per (job, due time)."""

    job = models.ForeignKey(ScheduledJob, on_delete=models.CASCADE, related_name="runs", verbose_name=_("任务"))
    due_at = models.DateTimeField(_("计划时间"))
    enqueued_at = models.DateTimeField(_("入队时间"), db_index=True)
    missed = models.PositiveIntegerField(_("合并的错过次数"), default=0)
    outcome = models.CharField(_("结果"), max_length=20, choices=ScheduledRunOutcome.choices)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("定时任务执行记录")
        verbose_name_plural = _("定时任务执行记录")
        constraints = [
            models.UniqueConstraint(fields=["job", "due_at"], name="core_scheduledrun_once_per_occurrence"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.due_at:%Y-%m-%d %H:%M}"
