"""Import jobs: one row per uploaded file, with its progress, counts and error report. The stored
file and this row are the history of rows written in bulk (bulk writes skip per-row history)."""

import datetime as dt
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A running job whose heartbeat is older than this is treated as dead (worker killed, database lost).
STALE_AFTER = dt.timedelta(minutes=15)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    """One import of one file into one registry (schema)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    schema = models.CharField(_("导入类型"), max_length=64)
    original_filename = models.CharField(_("文件名"), max_length=255)
    file = models.CharField(_("存储文件"), max_length=255, help_text=_("相对于 MEDIA_ROOT 的路径"))
    file_format = models.CharField(_("文件格式"), max_length=16, blank=True)
    sheet = models.CharField(_("指定工作表"), max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("操作人"),
    )
    scope_root = models.ForeignKey(
        "territory.Node", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("限定网格"),
    )
    # The data scope the job ran with (the actor's granted subtree, or the scope root): who may see it.
    scope_path = models.CharField(max_length=255, blank=True, db_index=True)
    dry_run = models.BooleanField(_("预检"), default=False)
    status = models.CharField(
        _("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED, db_index=True
    )
    rows_total = models.PositiveIntegerField(_("数据行数"), default=0)
    rows_processed = models.PositiveIntegerField(_("已处理"), default=0)
    rows_created = models.PositiveIntegerField(_("新增"), default=0)
    rows_updated = models.PositiveIntegerField(_("更新"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("未变"), default=0)
    rows_error = models.PositiveIntegerField(_("错误行"), default=0)
    error_report = models.CharField(_("错误报告"), max_length=255, blank=True)
    message = models.TextField(_("说明"), blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The uploader's address, so the audit event written by the background worker names it.
    client_ip = models.CharField(max_length=64, blank=True)
    # The interface language of whoever started the import: the background worker writes the job's
    # message and error report in it. Blank (jobs from before the field): the site's default language.
    language = models.CharField(_("语言"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        indexes = [models.Index(fields=["actor", "-created_at"], name="ingest_job_actor_created")]

    def __str__(self) -> str:
        return f"{self.schema} {self.original_filename}"

    @property
    def file_path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.file

    @property
    def error_report_path(self) -> Path | None:
        return Path(settings.MEDIA_ROOT) / self.error_report if self.error_report else None

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.SUCCEEDED, ImportStatus.FAILED}

    @property
    def is_stale(self) -> bool:
        """Running, but no progress reported for STALE_AFTER: the worker most likely died."""
        if self.status != ImportStatus.RUNNING:
            return False
        last = self.heartbeat_at or self.started_at or self.created_at
        return last is not None and timezone.now() - last > STALE_AFTER

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_processed / self.rows_total))
