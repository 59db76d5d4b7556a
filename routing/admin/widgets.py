"""The condition editor: a condition as rows of field / operator / value (``all`` or ``any``
of them), drawn by static/web/condition_rows.js over the JSON text the field submits, which
stays one click away ("Raw JSON") and is all a browser without JavaScript shows. The widget
only edits: the condition is checked where it always is (``engine.parse_condition``, through
``check_draft_rule`` for a rule), so a bad row comes back as that check's form error."""

import json
from typing import Any

from django import forms
from django.template import loader
from django.utils.safestring import SafeString, mark_safe

from routing.engine.conditions import KNOWN_FIELDS, OP_WORDS


class ConditionRowsWidget(forms.Textarea):
    template_name = "admin/widgets/condition_rows.html"

    class Media:
        css = {"all": ["web/condition_rows.css"]}
        js = ["web/condition_rows.js"]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"rows": 3, "cols": 40, **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            fields=sorted(KNOWN_FIELDS),
            ops_json=json.dumps(OP_WORDS),
        )
        return context

    def _render(
        self, template_name: str, context: dict[str, Any], renderer: Any = None
    ) -> SafeString:
        # The project's template engine: the template is templates/admin/widgets/, which
        # the forms renderer (app directories only) does not search.
        return mark_safe(loader.render_to_string(template_name, context))  # noqa: S308
