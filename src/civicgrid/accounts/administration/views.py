"""Account pages of the system administrator: list, detail, create, edit, data-scope grants,
deactivate/reactivate, temporary-password reset, unlock after lockout and the person link. Thin: parse,
call one service or selector, render. Accounts come from selectors scoped by the administrator's own
grants, so an account outside them is the same 404 as a missing one. A temporary password appears only
in the response to the POST that set it (never in a message, the session, a log or the audit trail)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.accounts.administration import services
from civicgrid.accounts.administration.forms import (
    AccountCreateForm,
    AccountFilterForm,
    AccountForm,
    GrantForm,
    LinkPersonForm,
)
from civicgrid.accounts.administration.policies import can_change, has_root_grant, is_privileged
from civicgrid.accounts.administration.selectors import (
    account_get,
    account_list,
    grantable_nodes,
    grants_by_account,
    linked_person,
    locked_usernames,
)
from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.web.permissions import querystring_without_page, requires

ACCOUNTS_PER_PAGE = 50


def _apply_error(form: Any, error: ApplicationError) -> None:
    """Show a service's refusal on the field it concerns, else above the form."""
    field = error.extra.get("field")
    form.add_error(field if isinstance(field, str) and field in form.fields else None, error.message)


def _detail_url(account: User) -> str:
    return reverse("accounts:detail", args=[account.username])


@requires(Action.MANAGE_ACCOUNTS)
@require_GET
def account_list_view(request: HttpRequest) -> HttpResponse:
    """Accounts in the administrator's scope, filtered by role, state and name; paginated."""
    filters = AccountFilterForm(request.GET)
    data = filters.cleaned_data if filters.is_valid() else {}
    accounts = account_list(
        actor=request.user, role=data.get("role", ""), status=data.get("status", ""), search=data.get("q", "")
    )
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    grants = grants_by_account(actor=request.user, accounts=shown)
    locked = locked_usernames(account.username for account in shown)
    rows = [(account, grants.get(account.pk, []), account.username in locked) for account in shown]
    return render(
        request,
        "accounts/manage/list.html",
        {"filters": filters, "page_obj": page, "rows": rows, "querystring_without_page": querystring_without_page(request)},
    )


@sensitive_variables("issued")
def _render_issued(request: HttpRequest, issued: services.IssuedPassword, *, created: bool) -> HttpResponse:
    # Rendered straight into the POST's response (no-store, see core.middleware): shown once, kept nowhere.
    return render(
        request, "accounts/manage/temporary_password.html",
        {"account": issued.account, "temporary_password": issued.temporary_password, "created": created},
    )


@requires(Action.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("id_number")
@sensitive_variables("issued", "form")
def account_create_view(request: HttpRequest) -> HttpResponse:
    """Open an account: name, role, department, data scopes, optional person link; shows the temporary password once."""
    form = AccountCreateForm(request.POST if request.method == "POST" else None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.account_create(
                actor=request.user,
                username=form.cleaned_data["username"],
                display_name=form.cleaned_data["display_name"],
                role=form.cleaned_data["role"],
                department=form.cleaned_data["department"],
                nodes=form.cleaned_data["nodes"],
                person_id_number=form.cleaned_data["id_number"],
            )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            return _render_issued(request, issued, created=True)
    return render(
        request, "accounts/manage/form.html", {"form": form, "account": None},
        status=400 if request.method == "POST" else 200,
    )


def _detail(request: HttpRequest, account: User, *, status: int = 200, **forms: Any) -> HttpResponse:
    actor: Any = request.user
    grants = grants_by_account(actor=actor, accounts=[account]).get(account.pk, [])
    return render(
        request,
        "accounts/manage/detail.html",
        {
            "account": account,
            "grants": grants,
            "locked": account.username in locked_usernames([account.username]),
            "person": linked_person(actor=actor, account=account),
            "can_change": can_change(actor, account),
            "is_self": account.pk == actor.pk,
            "privileged": is_privileged(account),
            "root_grant": has_root_grant(actor),
            "grant_form": forms.get("grant_form") or GrantForm(actor=actor),
            "link_form": forms.get("link_form") or LinkPersonForm(),
        },
        status=status,
    )


@requires(Action.MANAGE_ACCOUNTS)
@require_GET
def account_detail_view(request: HttpRequest, username: str) -> HttpResponse:
    """One account: role, state, lockout, grants, linked person (masked) and the actions on it."""
    return _detail(request, account_get(actor=request.user, username=username))


@requires(Action.MANAGE_ACCOUNTS)
@require_http_methods(["GET", "POST"])
def account_edit_view(request: HttpRequest, username: str) -> HttpResponse:
    """Change display name, role and department."""
    account = account_get(actor=request.user, username=username)
    initial = {"display_name": account.display_name, "role": account.role, "department": account.department}
    form = AccountForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(
                actor=request.user, account=account, display_name=form.cleaned_data["display_name"],
                role=form.cleaned_data["role"], department=form.cleaned_data["department"],
            )
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("账号 %(username)s 已保存。") % {"username": account.username})
            return redirect(_detail_url(account))
    return render(
        request, "accounts/manage/form.html", {"form": form, "account": account},
        status=400 if request.method == "POST" else 200,
    )


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
def account_grant_add_view(request: HttpRequest, username: str) -> HttpResponse:
    """Add a data-scope grant inside the administrator's own scope."""
    account = account_get(actor=request.user, username=username)
    form = GrantForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            services.account_grant_add(actor=request.user, account=account, node=form.cleaned_data["node"])
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("已授权数据范围：%(node)s。") % {"node": form.cleaned_data["node"].name})
            return redirect(_detail_url(account))
    return _detail(request, account, status=400, grant_form=form)


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
def account_grant_remove_view(request: HttpRequest, username: str) -> HttpResponse:
    """Withdraw one data-scope grant."""
    account = account_get(actor=request.user, username=username)
    node = grantable_nodes(actor=request.user).filter(code=str(request.POST.get("node", ""))[:32]).first()
    if node is None:
        messages.error(request, _("该网格节点不存在或不在您的数据范围内。"))
    else:
        try:
            services.account_grant_remove(actor=request.user, account=account, node=node)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已撤销数据范围：%(node)s。") % {"node": node.name})
    return redirect(_detail_url(account))


def _simple_action(request: HttpRequest, username: str, action: Any, done: str) -> HttpResponse:
    account = account_get(actor=request.user, username=username)
    try:
        action(actor=request.user, account=account)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"username": account.username})
    return redirect(_detail_url(account))


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
def account_deactivate_view(request: HttpRequest, username: str) -> HttpResponse:
    """Deactivate an account (never deleted)."""
    return _simple_action(request, username, services.account_deactivate, _("账号 %(username)s 已停用。"))


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
def account_reactivate_view(request: HttpRequest, username: str) -> HttpResponse:
    """Reactivate a deactivated account."""
    return _simple_action(request, username, services.account_reactivate, _("账号 %(username)s 已启用。"))


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
def account_unlock_view(request: HttpRequest, username: str) -> HttpResponse:
    """Lift a sign-in lockout."""
    return _simple_action(request, username, services.account_unlock, _("账号 %(username)s 已解除锁定。"))


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
@sensitive_variables("issued")
def account_reset_password_view(request: HttpRequest, username: str) -> HttpResponse:
    """Set a new temporary password (shown once); the user must change it at next sign-in."""
    account = account_get(actor=request.user, username=username)
    try:
        issued = services.account_reset_password(actor=request.user, account=account)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_detail_url(account))
    return _render_issued(request, issued, created=False)


@requires(Action.MANAGE_ACCOUNTS)
@require_POST
@sensitive_post_parameters("id_number")
@sensitive_variables("form")
def account_person_view(request: HttpRequest, username: str) -> HttpResponse:
    """Link the account to its person record by exact ID number, or remove the link (`unlink`)."""
    account = account_get(actor=request.user, username=username)
    if request.POST.get("unlink"):
        try:
            services.account_unlink_person(actor=request.user, account=account)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已解除人员关联。"))
        return redirect(_detail_url(account))
    form = LinkPersonForm(request.POST)
    if form.is_valid():
        try:
            services.account_link_person(actor=request.user, account=account, id_number=form.cleaned_data["id_number"])
        except ApplicationError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("已关联人员。"))
            return redirect(_detail_url(account))
    return _detail(request, account, status=400, link_form=form)
