"""The words of a reminder, in the assignee's language and time zone."""

from __future__ import annotations

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from core_crm.users.middleware import zone_of

from .models import Activity, Kind


def reminder_message(activity: Activity) -> tuple[str, str]:
    """(title, body) of the reminder for the activity's assignee."""
    user = activity.owner
    moment = activity.due_at if activity.kind == Kind.TASK else activity.start_at
    with translation.override(user.language or settings.LANGUAGE_CODE):
        local = timezone.localtime(moment, zone_of(user.time_zone)) if moment else None
        when = formats.date_format(local, "DATETIME_FORMAT") if local else ""
        zone = local.tzname() if local else ""
        if activity.kind == Kind.TASK:
            title = _("Due %(when)s %(zone)s: %(subject)s")
        else:
            title = _("%(kind)s at %(when)s %(zone)s: %(subject)s")
        title = title % {
            "kind": Kind(activity.kind).label,
            "when": when,
            "zone": zone,
            "subject": activity.subject,
        }
        lines = []
        if activity.account_id:
            lines.append(_("Account: %(name)s") % {"name": activity.account})
        if activity.location:
            lines.append(_("Where: %(place)s") % {"place": activity.location})
        if activity.description:
            lines.append(activity.description[:500])
        return str(title), "\n".join(str(line) for line in lines)
