from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo company and the demo login (``manage.py seed_demo``, ``demo_login``). Sits
    with the composition root: it calls every app's services, and none of them imports it."""

    name = "leadhub.demo"
    label = "demo"
    verbose_name = "Demo"
