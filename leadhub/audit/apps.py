from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "leadhub.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib import admin

        from leadhub.audit import registry, stamp
        from leadhub.audit.admin import attach_history

        registry.register_models()
        stamp.connect()
        # After every app's admin module is loaded (django.contrib.admin's ready() comes
        # first in INSTALLED_APPS and autodiscovers them).
        attach_history(admin.site)
