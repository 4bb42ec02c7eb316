"""Settings → Profile: a person's name, language (of emails and reminders; the pages follow it
too) and time zone (of every time shown, reminders and the calendar)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .models import User

# Offered first: where most of our customers work.
COMMON_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "UTC"]


@cache
def zone_choices() -> list[tuple[str, str]]:
    others = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    return [(z, z) for z in COMMON_ZONES] + [(z, z) for z in others if z not in COMMON_ZONES]


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Name"), max_length=150)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=zone_choices)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = User.objects.get(pk=cast(User, request.user).pk)  # the model, not the lazy object
    initial = {name: getattr(user, name) for name in services.PROFILE_FIELDS}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user, data=form.cleaned_data)
        translation.activate(user.language)
        messages.success(request, _("Profile saved."))
        response = redirect("profile")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
        return response
    status = 400 if request.method == "POST" else 200
    return render(request, "users/profile.html", {"form": form}, status=status)
