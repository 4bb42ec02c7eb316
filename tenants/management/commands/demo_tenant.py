import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django_tenants.utils import tenant_context

from core_crm.customers.demo import seed_demo_data
from core_crm.users.models import User
from core_crm.users.services import user_create, user_set_password
from tenants.models import Tenant
from tenants.provisioning import provision_tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.example.com"


class Command(BaseCommand):
    help = "Create or update the 'demo' workspace and its admin, and print how to sign in."

    def handle(self, *args: object, **options: object) -> None:
        password = os.environ.get("GUANXI_DEMO_PASSWORD", "guanxi-demo-2026")
        tenant = Tenant.objects.filter(schema_name=DEMO_SLUG).first()
        if tenant is None:
            tenant = provision_tenant(
                slug=DEMO_SLUG, name="Demo Trading Co.", status=Tenant.Status.ACTIVE
            )
        elif not tenant.is_open:
            tenant.status = Tenant.Status.ACTIVE
            tenant.save()
        with tenant_context(tenant):
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = user_create(
                    email=DEMO_EMAIL,
                    full_name="Demo Admin",
                    password=password,
                    is_workspace_admin=True,
                    send_verification=False,
                )
            else:
                user_set_password(user=user, password=password)
            seeded = seed_demo_data(password=password)
        port = f":{settings.GUANXI_URL_PORT}" if settings.GUANXI_URL_PORT else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Demo workspace: {settings.GUANXI_URL_SCHEME}://{DEMO_SLUG}."
                f"{settings.GUANXI_BASE_DOMAIN}{port}/\n"
                f"  Sign in as {DEMO_EMAIL} with password {password}\n"
                f"  Colleagues (same password): manager.east@, rep.east1@, marketing@, "
                f"service@, viewer@demo.example.com\n"
                f"  {'Demo data created.' if seeded else 'Demo data kept as it was.'}\n"
                f"  Public site (signup): {settings.GUANXI_URL_SCHEME}://"
                f"{settings.GUANXI_BASE_DOMAIN}{port}/\n"
            )
        )
