"""Query-string parameters of the REST API, read one way everywhere: a bad value is a 400
naming the parameter."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

YES = ("1", "true", "yes")
NO = ("0", "false", "no")


def flag(params: Any, name: str) -> bool | None:
    """true/false (1/0, yes/no) from `params[name]`; None when it is not given."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if value.lower() in YES:
        return True
    if value.lower() in NO:
        return False
    raise ValidationError({name: [_("Use true or false, not “%(value)s”.") % {"value": value}]})


def int_param(params: Any, name: str) -> int | None:
    """A whole number (an id, a year) from `params[name]`; None when it is not given."""
    value = params.get(name)
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise ValidationError({name: [_("Give an id (a whole number).")]})
    return int(value)
