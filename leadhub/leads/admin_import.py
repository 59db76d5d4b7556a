"""The admin's CSV upload: a form, the import, and its report on the same page.

LeadAdmin.get_urls wires ``import_view`` at ``admin:leads_lead_import`` inside
``admin_site.admin_view`` (staff login, CSRF, no caching). Large files are better run with
``manage.py import_leads``: the import happens inside this request.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect

from leadhub.leads.importer import MAX_ERRORS, ImportFileError, lead_import_csv, open_csv
from leadhub.leads.models import Lead


class LeadImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One lead per row, a header row first. See docs/import.md for column names.",
    )
    source = forms.CharField(
        label="Lead source",
        required=False,
        max_length=100,
        help_text="Set on rows that have no source of their own, e.g. trade_show_2025.",
    )
    encoding = forms.ChoiceField(
        label="Encoding",
        choices=[
            ("utf-8", "UTF-8 (Excel: CSV UTF-8)"),
            ("cp1252", "Windows Western (Excel on Windows: CSV)"),
            ("mac_roman", "Mac Roman (old Excel for Mac: CSV)"),
            ("latin-1", "ISO-8859-1"),
        ],
        initial="utf-8",
    )
    dry_run = forms.BooleanField(
        label="Check only: report what would happen and save nothing",
        label_suffix="",
        required=False,
    )


@csrf_protect
def import_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("leads.add_lead"):
        raise PermissionDenied
    report = None
    if request.method == "POST":
        form = LeadImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            upload.seek(0)
            try:
                # Wraps the upload's own file (memory or a temporary file): read in lines,
                # never as one string.
                text = open_csv(upload.file, encoding=form.cleaned_data["encoding"])
                report = lead_import_csv(
                    file=text,
                    source=form.cleaned_data["source"],
                    actor=request.user,
                    dry_run=form.cleaned_data["dry_run"],
                )
                text.detach()  # leave closing the upload to Django
            except ImportFileError as exc:
                form.add_error("file", str(exc))
    else:
        form = LeadImportForm()
    context = {
        **admin.site.each_context(request),
        "title": "Import leads from CSV",
        "opts": Lead._meta,
        "form": form,
        "report": report,
        "max_errors": MAX_ERRORS,
    }
    return render(request, "admin/leads/lead/import.html", context)
