"""A/B routing experiments, written through ``routing.experiments.services`` (the form runs
``experiment_check`` first, so a refusal is an error on the field it names). The change
page shows the figures per arm and the verdict; "End now" stops running ones."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from routing.experiments.selectors import arm_name, experiment_results, experiment_state
from routing.experiments.services import (
    FIELDS,
    experiment_check,
    experiment_delete,
    experiment_save,
    experiment_stop,
)
from routing.models import Experiment, RuleSet


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = FIELDS
        labels = {
            "arm_a_ruleset": "Arm A: rule set version",
            "arm_a_pool": "Arm A: pool",
            "arm_b_ruleset": "Arm B: rule set version",
            "arm_b_pool": "Arm B: pool",
            "split": "Split (% in arm A)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        published = RuleSet.objects.filter(is_draft=False).order_by("-version")
        for name in ("arm_a_ruleset", "arm_b_ruleset"):
            self.fields[name].queryset = published

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        stored = Experiment.objects.get(pk=self.instance.pk) if self.instance.pk else None
        try:
            experiment_check(experiment=stored, **{n: cleaned.get(n) for n in FIELDS})
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    list_display = ["name", "state", "arm_a", "arm_b", "split", "starts_at", "ends_at"]
    list_select_related = ["arm_a_ruleset", "arm_a_pool", "arm_b_ruleset", "arm_b_pool"]
    search_fields = ["name"]
    readonly_fields = ["results"]
    actions = ["end_now"]

    @admin.display(description="State")
    def state(self, obj: Experiment) -> str:
        return experiment_state(obj)

    @admin.display(description="Arm A")
    def arm_a(self, obj: Experiment) -> str:
        return arm_name(obj, "a")

    @admin.display(description="Arm B")
    def arm_b(self, obj: Experiment) -> str:
        return arm_name(obj, "b")

    @admin.display(description="Figures")
    def results(self, obj: Experiment) -> str:
        if obj.pk is None:
            return "-"
        data = experiment_results(obj)
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    a["arm"].upper(),
                    a["name"],
                    a["leads"],
                    a["converted"],
                    "-" if a["conversion_rate"] is None else f"{100 * a['conversion_rate']:.1f} %",
                )
                for a in data["arms"]
            ),
        )
        return format_html(
            "<table><tr><th>Arm</th><th>Strategy</th><th>Leads</th><th>Converted</th>"
            "<th>Conversion</th></tr>{}</table><p>{}</p>",
            rows,
            data["verdict_text"],
        )

    def save_model(
        self, request: HttpRequest, obj: Experiment, form: ExperimentForm, change: bool
    ) -> None:
        stored = experiment_save(
            experiment=Experiment.objects.get(pk=obj.pk) if change else None,
            actor=request.user,
            **{name: form.cleaned_data[name] for name in FIELDS},
        )
        obj.pk = stored.pk

    def delete_model(self, request: HttpRequest, obj: Experiment) -> None:
        experiment_delete(experiment=obj)

    @admin.action(description="End the selected experiments now")
    def end_now(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                experiment_stop(experiment=experiment)
            except ValidationError as exc:
                refusal = " ".join(exc.messages)
                self.message_user(request, f"{experiment}: {refusal}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment} ended.")
