"""The plans shown on the public site. Every workspace starts with a free trial of Growth."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Plan:
    code: str
    name: Promise
    price_per_seat_month: int  # USD
    description: Promise
    features: tuple[Promise, ...]
    highlighted: bool = False


PLANS: tuple[Plan, ...] = (
    Plan(
        "starter",
        _("Starter"),
        15,
        _("For a small team getting its customers in one place."),
        (_("Accounts, contacts and leads"), _("Import from spreadsheets"), _("Up to 10 users")),
    ),
    Plan(
        "growth",
        _("Growth"),
        39,
        _("For sales teams with a pipeline to run."),
        (
            _("Everything in Starter"),
            _("Pipelines, quotes and forecasts"),
            _("One industry module"),
            _("REST API"),
        ),
        highlighted=True,
    ),
    Plan(
        "enterprise",
        _("Enterprise"),
        79,
        _("For companies with many departments and regions."),
        (
            _("Everything in Growth"),
            _("All industry modules"),
            _("Two-factor sign-in enforced"),
            _("Priority support"),
        ),
    ),
)
