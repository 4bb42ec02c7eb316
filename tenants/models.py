from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists


class Tenant(TenantMixin):
    """A company's workspace. Its slug is its PostgreSQL schema name and its subdomain."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment past due")
        SUSPENDED = "suspended", _("Suspended")
        CANCELED = "canceled", _("Canceled")

    name = models.CharField(_("company name"), max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRIALING)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The migrated schema new tenants are cloned from; it has no domain and serves no request.
    is_template = models.BooleanField(default=False, editable=False)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_open(self) -> bool:
        """Whether its people may use the workspace (suspended and canceled ones may not)."""
        return self.status not in (self.Status.SUSPENDED, self.Status.CANCELED)

    @property
    def trial_days_left(self) -> int | None:
        if self.status != self.Status.TRIALING or self.trial_ends_at is None:
            return None
        return max(0, (self.trial_ends_at - timezone.now()).days)

    def save(self, *args: object, **kwargs: object) -> None:
        """A new tenant never adopts a schema that is already there: it holds someone else's
        data. Checked before the row exists, because when schema creation fails django-tenants
        deletes the row with force_drop=True, which would drop that very schema."""
        creating = self._state.adding and self.schema_name != settings.PUBLIC_SCHEMA_NAME
        if creating and schema_exists(self.schema_name, case_sensitive=False):
            raise ValidationError(f"A schema named {self.schema_name!r} already exists.")
        # django-tenants saves the row before creating the schema; remember it is new, so a
        # schema appearing in between (a concurrent signup) is refused, not adopted.
        self._being_created = creating
        try:
            super().save(*args, **kwargs)
        finally:
            self._being_created = False

    def create_schema(
        self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1
    ) -> bool:
        """Clone the template when there is one; otherwise django-tenants migrates from zero.

        Unlike django-tenants' clone path, no `migrate --fake` follows: the clone carries the
        template's own migration records, so a template that lagged behind the code is caught
        up by the next real migrate instead of being marked as migrated.
        """
        from .provisioning import clone_from_template, template_schema_for

        if self.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return False  # the public site's row: its schema is the database's own
        if schema_exists(self.schema_name, case_sensitive=False):
            if getattr(self, "_being_created", False):
                raise ValidationError(f"A schema named {self.schema_name!r} already exists.")
            if check_if_exists:
                return False
        base = template_schema_for(self) if sync_schema else None
        if base is None:
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        clone_from_template(base, self.schema_name)
        return True

    def url(self, path: str = "/") -> str:
        """Absolute URL of `path` on this workspace's primary domain."""
        domain = self.get_primary_domain()
        host = domain.domain if domain else f"{self.schema_name}.{settings.GUANXI_BASE_DOMAIN}"
        port = f":{settings.GUANXI_URL_PORT}" if settings.GUANXI_URL_PORT else ""
        return f"{settings.GUANXI_URL_SCHEME}://{host}{port}{path}"


class Domain(DomainMixin):
    pass


class SigninToken(models.Model):
    """A single-use, short-lived token that signs a user in on their workspace's host.

    The public site issues it (after signup) and the workspace redeems it; only its hash is
    stored, so a leaked database row cannot be replayed.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user_id = models.BigIntegerField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sign-in token for user {self.user_id} of {self.tenant_id}"


class WorkspaceMember(models.Model):
    """Public index of which workspaces an email address belongs to, for the workspace finder.

    Kept by the user services of each tenant; holds no password or profile data.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="members")
    email = models.EmailField()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), "tenant", name="workspace_member_unique"),
        ]
        indexes = [models.Index(Lower("email"), name="workspace_member_email")]

    def __str__(self) -> str:
        return f"{self.email} in {self.tenant_id}"
