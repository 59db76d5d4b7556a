"""Pools and their members, written through ``pool_save``: the settings are checked by the
service's own ``check_pool_settings``, and the member rows replace the pool's membership in
rotation order."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from leadhub.leads.admin import ReadOnlyAdmin
from routing.config_services import Member, check_pool_settings, pool_save
from routing.models import Pool, PoolMember, PoolState


class PoolForm(forms.ModelForm):
    class Meta:
        model = Pool
        fields = ["name", "team", "method", "settings", "active"]

    def clean_settings(self) -> dict:
        data = self.cleaned_data["settings"]
        if data in (None, ""):
            return {}
        try:
            check_pool_settings(data)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["settings"]) from None
        return data


class PoolMemberInline(admin.TabularInline):
    model = PoolMember
    fields = ["rep", "position", "weight"]
    autocomplete_fields = ["rep"]
    extra = 0


def _members(formset: BaseInlineFormSet) -> list[Member]:
    """The rows kept on the page, in the order of their positions (then of the rows)."""
    kept = [
        (form.cleaned_data.get("position") or 0, index, form.cleaned_data)
        for index, form in enumerate(formset.forms)
        if form.cleaned_data.get("rep") and not form.cleaned_data.get("DELETE")
    ]
    return [Member(rep_id=data["rep"].pk, weight=data.get("weight")) for _, _, data in sorted(kept)]


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    form = PoolForm
    inlines = [PoolMemberInline]
    list_display = ["name", "method", "team", "member_count", "active"]
    list_filter = ["method", "active", "team"]
    list_select_related = ["team"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pool]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, pool: Pool) -> int:
        return pool.member_count

    def save_model(self, request: HttpRequest, obj: Pool, form: PoolForm, change: bool) -> None:
        pool_save(pool=obj, **{name: form.cleaned_data[name] for name in form.Meta.fields})

    def save_related(
        self, request: HttpRequest, form: PoolForm, formsets: list, change: bool
    ) -> None:
        for formset in formsets:
            if formset.model is PoolMember:
                # Unsaved: fills new/changed/deleted_objects, which the history message reads.
                formset.save(commit=False)
                pool_save(pool=form.instance, members=_members(formset))
            else:
                self.save_formset(request, form, formset, change)


@admin.register(PoolState)
class PoolStateAdmin(ReadOnlyAdmin):
    list_display = ["pool", "last_rep_id", "updated_at"]
    list_select_related = ["pool"]
    search_fields = ["pool__name"]
