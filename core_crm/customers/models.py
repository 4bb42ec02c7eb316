from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Concat, Lower, Right
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Picklist(models.TextChoices):
    """The value lists a workspace admin edits."""

    ACCOUNT_SOURCE = "source", _("Sources")
    INDUSTRY = "industry", _("Industries")
    ACCOUNT_STATUS = "account_status", _("Account statuses")
    RELATIONSHIP = "relationship", _("Relationship types")
    INTENTION = "intention", _("Intention levels")
    DISQUALIFY_REASON = "disqualify_reason", _("Disqualification reasons")
    CONTACT_ROLE = "contact_role", _("Contact roles")
    LOST_REASON = "lost_reason", _("Lost reasons")


class PicklistValue(models.Model):
    """One value of a picklist. Values in use are retired (is_active=False), never deleted."""

    picklist = models.CharField(max_length=40, choices=Picklist.choices)
    code = models.SlugField(max_length=60)
    label = models.CharField(_("label"), max_length=100)
    label_zh = models.CharField(_("Chinese label"), max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["picklist", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["picklist", "code"], name="picklist_value_code"),
        ]

    def __str__(self) -> str:
        return self.label

    def display(self, language: str) -> str:
        return self.label_zh if language.startswith("zh") and self.label_zh else self.label


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _digits(name: str) -> models.Func:
    return models.Func(
        Coalesce(name, models.Value("")),
        models.Value("[^0-9]"),
        models.Value(""),
        models.Value("g"),
        function="regexp_replace",
        output_field=models.TextField(),
    )


def _search_text(*fields: str, phones: tuple[str, ...] = ()) -> models.GeneratedField:
    """Lower-cased searchable text (for partial words and Chinese, via trigrams); phone
    numbers also as bare digits, so "13912345678" finds "+86 139 1234 5678"."""
    parts: list[object] = []
    for name in fields:
        parts += [Coalesce(name, models.Value("")), models.Value(" ")]
    for name in phones:
        parts += [_digits(name), models.Value(" ")]
    return models.GeneratedField(
        expression=Lower(Concat(*parts, output_field=models.TextField())),
        output_field=models.TextField(),
        db_persist=True,
    )


def _search_vector(*fields: str) -> models.GeneratedField:
    """Whole-word full-text search ('simple' config: no stemming, any language)."""
    return models.GeneratedField(
        expression=SearchVector(*fields, config="simple"),
        output_field=SearchVectorField(),
        db_persist=True,
    )


PHONE_KEY_DIGITS = 10  # compared from the right: country and trunk prefixes do not matter


def phone_key_expression(name: str) -> Right:
    """The last ten digits of a phone field, as duplicate detection compares (and indexes) it."""
    return Right(_digits(name), PHONE_KEY_DIGITS)


def _dedupe_indexes(prefix: str, phones: tuple[str, ...], city: bool) -> list[models.Index]:
    """Indexes behind duplicate detection (core_crm/customers/duplicates.py): email
    case-insensitively, the last ten digits of each phone, the city case-insensitively."""
    indexes = [models.Index(Lower("email"), name=f"{prefix}_email_ci")]
    for name in phones:
        indexes.append(models.Index(phone_key_expression(name), name=f"{prefix}_{name}_key"))
    if city:
        indexes.append(models.Index(Lower("city"), name=f"{prefix}_city_ci"))
    return indexes


def _search_indexes(prefix: str) -> list[models.Index]:
    return [
        GinIndex(
            OpClass(models.F("search_text"), name="gin_trgm_ops"), name=f"{prefix}_search_trgm"
        ),
        GinIndex(fields=["search_vector"], name=f"{prefix}_search_fts"),
    ]


def person_name(first: str, last: str) -> str:
    """ "Li Na" in English, "李娜" in Chinese: family name first, no space, for CJK names."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _picklist_fk(picklist: str, verbose: StrOrPromise) -> models.ForeignKey[PicklistValue | None]:
    return models.ForeignKey(
        PicklistValue,
        verbose_name=verbose,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a value in use cannot be deleted, only retired
        related_name="+",
        limit_choices_to={"picklist": picklist},
    )


class Owned(models.Model):
    """Records under record security: owned by a user, with creation and change times."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class Account(Owned):
    """A customer, prospect, partner...: a company, or a person buying for themselves."""

    class Kind(models.TextChoices):
        PROSPECT = "prospect", _("Prospect")
        CUSTOMER = "customer", _("Customer")
        PARTNER = "partner", _("Partner")
        COMPETITOR = "competitor", _("Competitor")
        DISTRIBUTOR = "distributor", _("Distributor")
        RETAILER = "retailer", _("Retailer")

    class ValueClass(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    name = models.CharField(_("name"), max_length=200)
    is_person = models.BooleanField(_("person"), default=False)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.PROSPECT)
    industry = _picklist_fk(Picklist.INDUSTRY, _("industry"))
    source = _picklist_fk(Picklist.ACCOUNT_SOURCE, _("source"))
    status = _picklist_fk(Picklist.ACCOUNT_STATUS, _("status"))
    relationship = _picklist_fk(Picklist.RELATIONSHIP, _("relationship type"))
    intention = _picklist_fk(Picklist.INTENTION, _("intention level"))
    value_class = models.CharField(
        _("value class"), max_length=1, choices=ValueClass.choices, blank=True
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="branches",
        verbose_name=_("parent account"),
    )
    territory = models.CharField(_("territory"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")
    notes = models.TextField(_("notes"), blank=True)
    search_text = _search_text("name", "email", "phone", "city", "website", phones=("phone",))
    search_vector = _search_vector("name", "email", "phone", "city")

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name", "pk"]
        indexes = [
            models.Index(fields=["owner", "name"]),
            *_search_indexes("account"),
            *_dedupe_indexes("account", ("phone",), city=True),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(Owned):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        NONE = "", _("No preference")

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    role = _picklist_fk(Picklist.CONTACT_ROLE, _("role"))
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        verbose_name=_("account"),
    )
    reports_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        verbose_name=_("reports to"),
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    do_not_email = models.BooleanField(_("do not email"), default=False)
    do_not_call = models.BooleanField(_("do not call"), default=False)
    do_not_sms = models.BooleanField(_("do not SMS"), default=False)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    notes = models.TextField(_("notes"), blank=True)
    search_text = _search_text(
        "last_name", "first_name", "email", "phone", "mobile", "title", phones=("phone", "mobile")
    )
    search_vector = _search_vector("first_name", "last_name", "email", "phone", "mobile")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "pk"]
        indexes = [
            models.Index(fields=["owner", "last_name"]),
            *_search_indexes("contact"),
            *_dedupe_indexes("contact", ("phone", "mobile"), city=False),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return person_name(self.first_name, self.last_name)


class Employment(models.Model):
    """A contact's time at an account; moving companies closes one and opens another."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="employments")
    account = models.ForeignKey(Account, null=True, on_delete=models.SET_NULL, related_name="+")
    account_name = models.CharField(max_length=200)  # kept if the account is deleted
    title = models.CharField(max_length=100, blank=True)
    started_at = models.DateField(default=timezone.localdate)
    ended_at = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(ended_at__isnull=True),
                name="one_current_employment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} at {self.account_name}"


class Consent(models.Model):
    """What a contact agreed to, when and how; withdrawing keeps the record."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=100)  # e.g. "marketing email"
    granted_at = models.DateTimeField(_("granted"))
    method = models.CharField(_("how"), max_length=100)  # e.g. "web form", "signed paper"
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]

    def __str__(self) -> str:
        return f"{self.purpose} ({self.contact_id})"


class Lead(Owned):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        WORKING = "working", _("Working")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    class Rating(models.TextChoices):
        HOT = "hot", _("Hot")
        WARM = "warm", _("Warm")
        COLD = "cold", _("Cold")

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    source = _picklist_fk(Picklist.ACCOUNT_SOURCE, _("source"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    disqualify_reason = _picklist_fk(Picklist.DISQUALIFY_REASON, _("disqualification reason"))
    rating = models.CharField(_("rating"), max_length=10, choices=Rating.choices, blank=True)
    score = models.IntegerField(_("score"), default=0)
    converted_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="leads")
    notes = models.TextField(_("notes"), blank=True)
    search_text = _search_text(
        "last_name", "first_name", "company", "email", "phone", "city", phones=("phone",)
    )
    search_vector = _search_vector("first_name", "last_name", "company", "email", "phone")

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["owner", "status"]),
            *_search_indexes("lead"),
            *_dedupe_indexes("lead", ("phone",), city=True),
        ]

    def __str__(self) -> str:
        name = person_name(self.first_name, self.last_name)
        return f"{name} ({self.company})" if self.company else name


class ConversionRequest(models.Model):
    """A rep's request to convert a lead, where the workspace requires a manager's approval."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="conversion_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    request_comment = models.TextField(blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(decision="pending"),
                name="one_pending_conversion_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Conversion of lead {self.lead_id}: {self.decision}"


class NotDuplicate(models.Model):
    """Two records of one type that a person checked and found to be different: the duplicates
    page and the "Merge with…" picker stop offering them as a pair. Ids are stored lowest first.

    A mark naming a record that no longer exists is ignored (and applies again if the record
    comes back with its id, as undoing a merge does), so deletes and merges need not touch it."""

    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    low_id = models.BigIntegerField()
    high_id = models.BigIntegerField()
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-marked_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "low_id", "high_id"], name="not_duplicate_pair"
            ),
            models.CheckConstraint(
                condition=Q(low_id__lt=models.F("high_id")), name="not_duplicate_ids_ordered"
            ),
        ]
        indexes = [models.Index(fields=["content_type", "high_id"], name="not_duplicate_high")]

    def __str__(self) -> str:
        return f"{self.content_type_id}: {self.low_id} ≠ {self.high_id}"
