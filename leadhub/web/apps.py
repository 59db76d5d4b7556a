from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "leadhub.web"
    label = "web"
    verbose_name = "Pages for reps and managers"

    def ready(self) -> None:
        from django.contrib import admin
        from django.db.models.signals import post_save

        from leadhub.web import roles
        from reps.models import Rep

        post_save.connect(roles.sync_rep_groups, sender=Rep, dispatch_uid="web.sync_rep_groups")

        # The admin says whose it is, not "Django administration".
        admin.site.site_header = "LeadHub admin"
        admin.site.site_title = "LeadHub admin"
        admin.site.index_title = "LeadHub set-up"
