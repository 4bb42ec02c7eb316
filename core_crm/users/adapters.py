from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Workspaces are not open for self-signup: a company signs up on the public site, and its
    admin adds colleagues."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def is_safe_url(self, url: str | None) -> bool:
        """Redirect only within this workspace's own host: ALLOWED_HOSTS covers every
        workspace, and ?next= must not send people to another company's."""
        from django.utils.http import url_has_allowed_host_and_scheme

        request = self.request
        if not url or request is None:
            return False
        return url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
