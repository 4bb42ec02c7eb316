"""Likely duplicates of an account, contact or lead, before it is saved or imported.

A record is a likely duplicate of another of the same type when they share an email address
(case-insensitive), a phone number (the last ten digits, so "+86 138 0013 8000" matches
"13800138000"), or have a similar name (pg_trgm similarity of at least NAME_SIMILARITY) in the
same city (accounts, leads) or at the same account (contacts).

Matching looks at every record of the workspace, so a rep cannot create the twin of a record
owned by another team without noticing; a match the user may not read is returned without the
record (`Match.record is None`), so nothing about it is disclosed beyond its existence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Lower

from core_crm.access.policy import visible
from core_crm.users.models import User

from .models import PHONE_KEY_DIGITS, Account, Contact, Lead, phone_key_expression

NAME_SIMILARITY = 0.6
PHONE_MIN_DIGITS = 7  # shorter numbers (extensions, typos) are not evidence


@dataclass(frozen=True)
class Rule:
    object_type: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    name_fields: tuple[str, ...]  # joined by a space, lower-cased
    place: str  # city (text, case-insensitive) or a foreign key id for contacts


RULES: dict[type[Model], Rule] = {
    Account: Rule("account", ("email",), ("phone",), ("name",), "city"),
    Contact: Rule(
        "contact", ("email",), ("phone", "mobile"), ("first_name", "last_name"), "account_id"
    ),
    Lead: Rule("lead", ("email",), ("phone",), ("first_name", "last_name"), "city"),
}


@dataclass
class Match:
    """One existing record that looks like the new one, and why."""

    pk: int
    reasons: list[str] = field(default_factory=list)  # "email", "phone", "name"
    record: Model | None = None  # None: the user may not read it


def phone_key(value: object) -> str:
    """The part of a phone number that identifies it; "" when too short to mean anything."""
    digits = re.sub(r"\D", "", str(value or ""))
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= PHONE_MIN_DIGITS else ""


def name_key(rule: Rule, data: Mapping[str, Any]) -> str:
    return " ".join(str(data.get(n) or "").strip() for n in rule.name_fields).strip().lower()


def place_key(rule: Rule, data: Mapping[str, Any]) -> object:
    if rule.place == "account_id":
        value = data.get("account_id", data.get("account"))
        return getattr(value, "pk", value) or None
    return str(data.get(rule.place) or "").strip().lower() or None


def find_duplicates(
    model: type[Model],
    data: Mapping[str, Any],
    *,
    user: User,
    exclude_pk: object = None,
    limit: int = 5,
) -> list[Match]:
    """Likely duplicates of one record described by `data` (field name → value)."""
    found = find_duplicates_many(model, [data], user=user, exclude_pk=exclude_pk)
    return found.get(0, [])[:limit]


def find_duplicates_many(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    user: User,
    exclude_pk: object = None,
) -> dict[int, list[Match]]:
    """Likely duplicates of many new records at once (row index → matches), in a fixed number
    of queries whatever the number of rows: one per rule plus one to load what is visible."""
    rule = RULES[model]
    found: dict[int, dict[int, Match]] = {}

    def add(index: int, pk: int, reason: str) -> None:
        if exclude_pk is not None and str(pk) == str(exclude_pk):
            return
        match = found.setdefault(index, {}).setdefault(pk, Match(pk))
        if reason not in match.reasons:
            match.reasons.append(reason)

    base: QuerySet[Any] = model._default_manager.all()
    emails: dict[str, list[int]] = {}
    phones: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        for name in rule.emails:
            value = str(row.get(name) or "").strip().lower()
            if value:
                emails.setdefault(value, []).append(index)
        for name in rule.phones:
            key = phone_key(row.get(name))
            if key:
                phones.setdefault(key, []).append(index)

    if emails:
        condition = Q()
        for name in rule.emails:
            condition |= Q(**{f"{name}_key__in": list(emails)})
        annotated = base.annotate(**{f"{n}_key": Lower(n) for n in rule.emails})
        for values in annotated.filter(condition).values("pk", *(f"{n}_key" for n in rule.emails)):
            for name in rule.emails:
                for index in emails.get(values[f"{name}_key"], []):
                    add(index, values["pk"], "email")

    if phones:
        condition = Q()
        for name in rule.phones:
            condition |= Q(**{f"{name}_key__in": list(phones)})
        annotated = base.annotate(**{f"{n}_key": phone_key_expression(n) for n in rule.phones})
        for values in annotated.filter(condition).values("pk", *(f"{n}_key" for n in rule.phones)):
            for name in rule.phones:
                for index in phones.get(values[f"{name}_key"], []):
                    add(index, values["pk"], "phone")

    for index, pk in _similar_names(model, rule, rows):
        add(index, pk, "name")

    if not found:
        return {}
    all_pks = {pk for matches in found.values() for pk in matches}
    readable = {
        obj.pk: obj
        for obj in visible(user, base.filter(pk__in=all_pks), rule.object_type).select_related(
            "owner"
        )
    }
    result: dict[int, list[Match]] = {}
    for index, matches in found.items():
        ordered = sorted(matches.values(), key=lambda m: (-len(m.reasons), m.pk))
        for match in ordered:
            match.record = readable.get(match.pk)
        result[index] = ordered
    return result


def _similar_names(
    model: type[Model], rule: Rule, rows: Iterable[Mapping[str, Any]]
) -> list[tuple[int, int]]:
    """(row index, record pk) pairs with a similar name at the same place, in one query."""
    indexes, names, places = [], [], []
    for index, row in enumerate(rows):
        name, place = name_key(rule, row), place_key(rule, row)
        if name and place is not None:
            indexes.append(index)
            names.append(name)
            places.append(str(place))
    if not indexes:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    name_sql = " || ' ' || ".join(f"coalesce(t.{n}, '')" for n in rule.name_fields)
    name_sql = f"lower(trim({name_sql}))"
    place_sql = "t.account_id::text" if rule.place == "account_id" else f"lower(t.{rule.place})"
    sql = f"""
        SELECT v.i, t.id
        FROM unnest(%s::int[], %s::text[], %s::text[]) AS v(i, name, place)
        JOIN {table} t ON {place_sql} = v.place
        WHERE similarity({name_sql}, v.name) >= %s
    """  # noqa: S608 - identifiers come from the model, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [indexes, names, places, NAME_SIMILARITY])
        return [(i, pk) for i, pk in cursor.fetchall()]


def reason_labels(match: Match) -> list[str]:
    """The reasons of a match in the reader's language."""
    from django.utils.translation import gettext as _

    labels = {"email": _("same email"), "phone": _("same phone"), "name": _("similar name")}
    return [str(labels[r]) for r in match.reasons]
