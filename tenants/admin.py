from django.contrib import admin

from .models import Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """The platform operators' console for workspaces: status changes suspend or reopen one."""

    list_display = ["name", "schema_name", "status", "trial_ends_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_template=False)

    def delete_queryset(self, request, queryset) -> None:
        # One by one, so each workspace's schema is dropped with its row (a bulk delete would
        # leave schemas behind).
        for tenant in queryset:
            tenant.delete()

    def has_add_permission(self, request) -> bool:
        return False  # workspaces are created by signup, which provisions the schema
