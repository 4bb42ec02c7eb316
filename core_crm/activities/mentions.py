"""@mentions in notes and descriptions: `@Li Na`, `@linA` (email local part) or `@"Li Na"`.

A mention matches a colleague when the text after `@` starts with their full name (case-
insensitive, longest name first, so "@Li Na" wins over "@Li") or equals their email's local
part. Emails themselves (`someone@example.com`) are not mentions: the `@` must start a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core_crm.users.models import User

_AT = re.compile(r"(?:^|(?<=[\s(\[,;:\uff0c\u3002\uff1b\uff1a\uff08]))@")
_LOCAL = re.compile(r"[A-Za-z0-9._+-]+")


def mentioned_users(text: str, candidates: Iterable[Any] | None = None) -> list[User]:
    """The active users `text` mentions, each once, in order of first mention."""
    if not text or "@" not in text:
        return []
    people = (
        list(candidates) if candidates is not None else list(User.objects.filter(is_active=True))
    )
    by_name = sorted(
        ((p.full_name.strip().lower(), p) for p in people if p.full_name.strip()),
        key=lambda pair: -len(pair[0]),
    )
    by_local = {p.email.split("@")[0].lower(): p for p in people}
    found: dict[int, User] = {}
    lowered = text.lower()
    for match in _AT.finditer(text):
        rest = lowered[match.end() :]
        if rest.startswith('"'):
            rest = rest[1:]
        person = None
        for name, candidate in by_name:
            if rest.startswith(name):
                after = rest[len(name) : len(name) + 1]
                # A name ends at a word boundary (CJK names need none).
                if not after or not (after.isalnum() and after.isascii()):
                    person = candidate
                    break
        if person is None:
            local = _LOCAL.match(rest)
            if local:
                person = by_local.get(local.group(0).rstrip("."))
        if person is not None and person.is_active:
            found.setdefault(person.pk, person)
    return list(found.values())
