from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Workspaces are not open for self-signup: a company signs up on the public site, and its
    admin adds colleagues."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False
