"""Territories: written through ``territory_save`` and ``territory_delete``, whose checks the
form runs first so that a refusal is an error on the field it names."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from routing.config_services import check_territory_parent, territory_delete, territory_save
from routing.models import Territory


class TerritoryForm(forms.ModelForm):
    class Meta:
        model = Territory
        fields = [
            "name",
            "parent",
            "pool",
            "countries",
            "states",
            "postal_prefixes",
            "postal_ranges",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("parent") is not None:
            try:
                check_territory_parent(territory=self.instance, parent=cleaned["parent"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    form = TerritoryForm
    list_display = ["name", "parent", "pool", "countries", "states", "active"]
    list_filter = ["active", "pool", "parent"]
    list_select_related = ["parent", "pool"]
    search_fields = ["name"]
    autocomplete_fields = ["parent", "pool"]

    def save_model(
        self, request: HttpRequest, obj: Territory, form: TerritoryForm, change: bool
    ) -> None:
        territory_save(
            territory=obj, **{name: form.cleaned_data[name] for name in form.Meta.fields}
        )

    def delete_model(self, request: HttpRequest, obj: Territory) -> None:
        territory_delete(territory=obj)
