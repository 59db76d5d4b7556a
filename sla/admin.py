from django.contrib import admin

from sla.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "rep", "kind", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), "rep__team"]
    search_fields = ["title", "rep__user__username"]
    list_select_related = ["rep__user"]
    raw_id_fields = ["rep", "lead", "decision"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False
