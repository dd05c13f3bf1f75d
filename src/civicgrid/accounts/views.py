"""Sign-in pages. Lockout is django-axes; session rotation on login is Django's own."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from civicgrid.accounts.services import account_password_changed


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (old password, the validators of AUTH_PASSWORD_VALIDATORS, session kept);
    a successful change also ends the temporary-password state (accounts.first_login)."""

    template_name = "accounts/password_change.html"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        account_password_changed(user=form.user)
        return response
