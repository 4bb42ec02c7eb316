"""Which fields a column can fill, a first guess from the header, and turning cell text into
field values (picklist labels in English or Chinese, yes/no, dates, numbers)."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core_crm.customers.fields import ACCOUNT_FIELDS, CONTACT_FIELDS, LEAD_FIELDS
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.customfields.models import CustomField, FieldType
from core_crm.customfields.values import FALSE_WORDS, TRUE_WORDS, clean_value, definitions

from .reading import MAX_CELL_CHARS

MODELS: dict[str, type[models.Model]] = {"account": Account, "contact": Contact, "lead": Lead}
SKIPPED_FIELDS = {"parent", "reports_to"}  # links to records of the same file: not by import

# Columns that are not one model field.
FULL_NAME = "full_name"
TAGS = "tags"
OWNER_EMAIL = "owner_email"
# A custom field is filled from a column mapped to "cf_<key>" (its name in filters and columns).
CUSTOM_PREFIX = "cf_"
SPECIAL_LABELS = {
    FULL_NAME: gettext_lazy("Full name (split into family and given name)"),
    TAGS: gettext_lazy("Tags (separated by commas)"),
    OWNER_EMAIL: gettext_lazy("Owner (email of a user)"),
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("e-mail", "mail", "email address", "邮箱", "电子邮件", "电子邮箱", "邮件"),
    "phone": ("tel", "telephone", "phone number", "office phone", "电话", "座机", "办公电话"),
    "mobile": ("cell", "cellphone", "mobile phone", "手机", "手机号", "手机号码", "移动电话"),
    "first_name": ("first", "given name", "forename", "名"),
    "last_name": ("last", "surname", "family name", "姓"),
    FULL_NAME: ("name", "full name", "contact", "contact name", "姓名", "名字", "联系人"),
    "title": ("job title", "position", "job", "职位", "职务", "头衔"),
    "department": ("dept", "部门"),
    "city": ("town", "城市", "所在城市"),
    "website": ("web", "url", "homepage", "site", "网站", "网址", "主页"),
    "notes": ("note", "comment", "comments", "remarks", "备注", "说明"),
    TAGS: ("tag", "labels", "标签"),
    OWNER_EMAIL: ("owner", "assigned to", "sales rep", "负责人", "销售"),
    "street": ("address", "street address", "地址", "街道"),
    "region": ("state", "province", "省", "省份", "地区"),
    "postal_code": ("zip", "zip code", "postcode", "邮编", "邮政编码"),
    "country": ("国家",),
    "industry": ("sector", "行业"),
    "source": ("lead source", "来源"),
    "birthday": ("date of birth", "birth date", "生日", "出生日期"),
}
COMPANY_SYNONYMS = (
    "company",
    "company name",
    "organization",
    "organisation",
    "公司",
    "公司名称",
    "单位",
    "企业",
)


@dataclass(frozen=True)
class Target:
    key: str
    label: str


def custom_key(target: str) -> str | None:
    """The custom field key of an import target ("cf_region" → "region"), else None."""
    return target[len(CUSTOM_PREFIX) :] if target.startswith(CUSTOM_PREFIX) else None


def custom_label(field: CustomField) -> str:
    return _("Custom: %(label)s") % {"label": field.display_label(translation.get_language())}


def custom_targets(object_type: str) -> dict[str, CustomField]:
    """The active custom fields of the object type by import target ("cf_<key>")."""
    return {CUSTOM_PREFIX + f.key: f for f in definitions(object_type)}


def targets(object_type: str) -> list[Target]:
    """The fields a column may fill, in form order, labelled in the current language; the
    object type's active custom fields come last, as "Custom: <label>"."""
    model = MODELS[object_type]
    names = {"account": ACCOUNT_FIELDS, "contact": CONTACT_FIELDS, "lead": LEAD_FIELDS}[object_type]
    out: list[Target] = []
    for name in names:
        if name in SKIPPED_FIELDS:
            continue
        label = str(getattr(model._meta.get_field(name), "verbose_name", name))
        if object_type == "contact" and name == "account":
            label = _("Account (company name)")
        out.append(Target(name, label[:1].upper() + label[1:]))
    if object_type in ("contact", "lead"):
        out.append(Target(FULL_NAME, str(SPECIAL_LABELS[FULL_NAME])))
    out += [
        Target(TAGS, str(SPECIAL_LABELS[TAGS])),
        Target(OWNER_EMAIL, str(SPECIAL_LABELS[OWNER_EMAIL])),
    ]
    out += [Target(key, custom_label(f)) for key, f in custom_targets(object_type).items()]
    return out


def _norm(text: str) -> str:
    text = text.replace("\uff1a", ":").replace("\uff08", "(").replace("\uff09", ")")
    return re.sub(r"[\s_\-.:*()]+", " ", text.strip().lower()).strip()


def signature(header: list[str]) -> str:
    """Files with the same columns in the same order share a signature (and a mapping)."""
    return hashlib.sha256("\x1f".join(_norm(h) for h in header).encode()).hexdigest()


def guess_mapping(object_type: str, header: list[str]) -> dict[str, str]:
    """Column index → field, from field names and labels in English and Chinese."""
    model = MODELS[object_type]
    names: dict[str, str] = {}
    choices = targets(object_type)
    custom = custom_targets(object_type)
    for target in choices:
        if target.key in custom:
            continue
        names.setdefault(_norm(target.key), target.key)
        if target.key in {t for t in (FULL_NAME, TAGS, OWNER_EMAIL)}:
            continue
        field: Any = model._meta.get_field(target.key)
        names.setdefault(_norm(str(field.verbose_name)), target.key)
        with translation.override("zh-hans"):
            names.setdefault(_norm(str(field.verbose_name)), target.key)
    # A custom field by its label (English or Chinese, with or without "Custom:") or key:
    # after the standard fields' own names, before the synonyms, so a workspace's own
    # "Sector" field is not taken for the standard industry.
    for key, definition in custom.items():
        with translation.override("zh-hans"):
            zh_label = custom_label(definition)
        for word in (custom_label(definition), zh_label, definition.label, definition.label_zh):
            if word:
                names.setdefault(_norm(word), key)
        for word in (definition.key,):
            if word:
                names.setdefault(_norm(word), key)
    for key, words in SYNONYMS.items():
        if key in {t.key for t in choices}:
            for word in words:
                names.setdefault(_norm(word), key)
    company_target = {"account": "name", "contact": "account", "lead": "company"}[object_type]
    for word in COMPANY_SYNONYMS:
        names.setdefault(_norm(word), company_target)
    if object_type == "account":
        names[_norm("name")] = "name"
        names[_norm("account name")] = "name"
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, title in enumerate(header):
        key = names.get(_norm(title), "")
        if key and key not in used:
            mapping[str(index)] = key
            used.add(key)
    return mapping


def split_full_name(text: str) -> tuple[str, str]:
    """(first, last): "李娜" → ("娜", "李"); "Jane van Dyke" → ("Jane", "van Dyke")."""
    text = text.strip()
    if not text:
        return "", ""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text) and " " not in text:
        compound = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙")
        cut = 2 if text[:2] in compound and len(text) > 2 else 1
        return text[cut:], text[:cut]
    if "," in text:  # "Smith, Jane"
        last, first = (p.strip() for p in text.split(",", 1))
        return first, last
    parts = text.split()
    if len(parts) == 1:
        return "", parts[0]
    return parts[0], " ".join(parts[1:])


class Converter:
    """Cell text → field value for one object type, with the picklists of its fields read in
    one query (per chunk of a run: `reload`)."""

    def __init__(self, object_type: str) -> None:
        self.model = MODELS[object_type]
        self.picklists: dict[str, dict[str, PicklistValue]] = {}
        self.reload()

    def reload(self) -> None:
        fields: list[Any] = list(self.model._meta.concrete_fields)
        names = {
            field.remote_field.limit_choices_to["picklist"]
            for field in fields
            if getattr(field, "related_model", None) is PicklistValue
        }
        self.picklists = {}
        for value in PicklistValue.objects.filter(picklist__in=names):
            table = self.picklists.setdefault(value.picklist, {})
            for word in (value.code, value.label, value.label_zh):
                if word:
                    table.setdefault(word.strip().lower(), value)

    def convert(self, name: str, raw: str) -> Any:
        """The value to set, or ValidationError with a message for the person importing."""
        text = _checked_length(raw)
        field: Any = self.model._meta.get_field(name)
        related = getattr(field, "related_model", None)
        if related is PicklistValue:
            if not text:
                return None
            picklist = field.remote_field.limit_choices_to["picklist"]
            value = self.picklists.get(picklist, {}).get(text.lower())
            if value is None:
                known = sorted(
                    {v.label for v in self.picklists.get(picklist, {}).values() if v.is_active}
                )
                raise ValidationError(
                    _("“%(value)s” is not in the list. Known values: %(known)s.")
                    % {"value": text, "known": ", ".join(known)}
                )
            if not value.is_active:
                raise ValidationError(
                    _("“%(value)s” is retired; choose a current value.") % {"value": text}
                )
            return value
        if getattr(field, "choices", None):
            if not text:
                return field.get_default()
            for code, label in field.choices:
                if text.lower() in {str(code).lower(), str(label).lower()} or text == _localized(
                    label
                ):
                    return code
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {
                    "value": text,
                    "choices": ", ".join(str(label) for _c, label in field.choices if _c),
                }
            )
        if isinstance(field, models.BooleanField):
            if text.lower() in TRUE_WORDS:
                return True
            if not text or text.lower() in FALSE_WORDS:
                return False
            raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": text})
        if isinstance(field, models.DateField):
            return parse_date(text) if text else None
        if isinstance(field, models.IntegerField):
            if not text:
                return None if field.null else field.get_default()
            try:
                return int(decimal.Decimal(text.replace(",", "").replace(" ", "")))
            except decimal.InvalidOperation as exc:
                raise ValidationError(
                    _("“%(value)s” is not a whole number.") % {"value": text}
                ) from exc
        if isinstance(field, models.DecimalField):
            if not text:
                return None
            try:
                return decimal.Decimal(text.replace(",", "").replace(" ", ""))
            except decimal.InvalidOperation as exc:
                raise ValidationError(_("“%(value)s” is not a number.") % {"value": text}) from exc
        if isinstance(field, models.URLField) and text and "://" not in text:
            return f"https://{text}"
        return text

    def convert_custom(self, field: CustomField, raw: str) -> Any:
        """A custom value in its canonical form (None when empty), by the field's own rules;
        dates may also be written the ways spreadsheets write them (2026/3/31, 2026年3月31日)."""
        text = _checked_length(raw)
        if text and field.field_type == FieldType.DATE:
            try:
                return parse_date(text).isoformat()
            except ValidationError:
                pass  # the field's own message says how to write it
        return clean_value(field, text)


def _checked_length(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_CELL_CHARS:
        raise ValidationError(
            _("%(length)d characters is too long (at most %(limit)d).")
            % {"length": len(text), "limit": MAX_CELL_CHARS}
        )
    return text


def _localized(label: object) -> str:
    with translation.override("zh-hans"):
        return str(label)


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d.%m.%Y")


def parse_date(text: str) -> dt.date:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        pass
    raise ValidationError(_("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": text})
