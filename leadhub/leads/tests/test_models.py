import pytest
from django.core.exceptions import ValidationError

from leadhub.leads.intake import LeadDataError, clean_lead_data
from leadhub.leads.models import TRANSITIONS, WebForm


def test_closed_statuses_have_no_way_out_and_every_open_one_can_be_junked():
    for status, allowed in TRANSITIONS.items():
        if status in {"converted", "disqualified", "junk"}:
            assert allowed == frozenset()
        else:
            assert {"junk", "disqualified"} <= allowed


def test_origins_match_ignoring_case_and_trailing_slash_but_never_blank():
    form = WebForm(allowed_origins="https://WWW.example.com/\n\n  http://localhost:3000 ")
    assert form.origin_allowed("https://www.example.com")
    assert form.origin_allowed("http://localhost:3000/")
    assert not form.origin_allowed("")
    assert not form.origin_allowed("https://example.com")


@pytest.mark.parametrize(
    ("fields", "origins", "error_on"),
    [
        (["company", "message"], "", "fields"),
        (["email"], "www.example.com", "allowed_origins"),
        (["email", "not_a_field"], "", "fields"),
    ],
)
def test_web_form_configuration_errors_name_the_field(fields, origins, error_on):
    form = WebForm(name="x", slug="x", fields=fields, allowed_origins=origins)
    with pytest.raises(ValidationError) as exc:
        form.clean()
    assert error_on in exc.value.message_dict


def test_null_characters_are_refused_before_they_reach_the_database():
    with pytest.raises(LeadDataError) as exc:
        clean_lead_data({"email": "a@b.com", "company": "Ac\x00me"})
    assert exc.value.errors == {"company": ["Null characters are not allowed."]}
