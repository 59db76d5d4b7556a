"""Forgiving intake: an intake key's field mapping, unknown fields kept in custom, strict
keys, errors named by the sender's field, and the mapping's admin."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from leadhub.leads import normalize
from leadhub.leads.fieldmap import MAPPABLE_FIELDS, clean_field_map, translate
from leadhub.leads.intake import MAX_CUSTOM_BYTES, MAX_CUSTOM_DEPTH
from leadhub.leads.models import IntakeKey, Lead
from leadhub.leads.tests.test_admin import form_data

URL = "/api/leads/"


@pytest.fixture
def key(db) -> IntakeKey:
    key = IntakeKey(name="Forms", source="website")
    key.raw = key.set_new_key()
    key.save()
    return key


@pytest.fixture
def sender(api, key):
    api.credentials(HTTP_X_API_KEY=key.raw)
    return api


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


# -- translate: no database ---------------------------------------------------------------


def test_hubspot_properties_are_unwrapped_and_named_by_their_path():
    body = {"properties": {"email": {"value": "a@b.example"}, "jobtitle": {"value": "CTO"}}}
    result = translate(body, field_map={}, strict=False)
    assert result.data == {"email": "a@b.example", "title": "CTO"}
    assert result.origin == {"email": "properties.email", "title": "properties.jobtitle"}


def test_a_name_value_list_with_one_item_per_checkbox_choice_is_joined_like_hubspot():
    body = {"fields": [{"name": "interest", "value": "a"}, {"name": "interest", "value": "b"}]}
    assert translate(body, field_map={}, strict=False).data == {"interest": "a;b"}


def test_fields_that_are_not_name_value_items_are_an_ordinary_field():
    body = {"fields": [{"label": "x"}], "email": "a@b.example"}
    result = translate(body, field_map={}, strict=True)
    assert result.errors == {"fields": ["Unknown field."]}


def test_the_keys_own_mapping_wins_over_the_standard_aliases():
    body = {"Account": "Acme", "numemployees": "50"}
    result = translate(
        body, field_map={"Account": "custom", "num_employees": "employees"}, strict=True
    )
    assert result.errors == {}
    assert result.data == {"Account": "Acme", "employees": "50"}


def test_a_field_mapped_to_ignore_is_dropped_even_by_a_strict_key():
    body = {"email": "a@b.example", "identity-profiles": [{"vid": 1}]}
    result = translate(body, field_map={"identity-profiles": "ignore"}, strict=True)
    assert (result.data, result.errors) == ({"email": "a@b.example"}, {})


def test_two_sender_fields_for_one_lead_field_keep_the_first_and_file_the_second():
    body = {"email": "a@b.example", "Email": "c@d.example", "E-mail": "", "e_mail": "a@b.example"}
    assert translate(body, field_map={}, strict=False).data == {
        "email": "a@b.example",
        "Email": "c@d.example",
    }
    strict = translate(body, field_map={}, strict=True)
    assert strict.errors == {"Email": ["Also sent as email; send one."]}


def test_a_blank_first_value_gives_way_to_a_later_one():
    body = {"properties": {"email": {"value": ""}}, "email": "a@b.example"}
    result = translate(body, field_map={}, strict=False)
    assert result.data == {"email": "a@b.example"} and result.origin["email"] == "email"


def test_a_duplicate_whose_name_is_a_lead_field_is_filed_under_its_path():
    body = {"properties": {"email": {"value": "a@b.example"}}, "email": "c@d.example"}
    assert translate(body, field_map={}, strict=False).data == {
        "email": "a@b.example",
        "also.email": "c@d.example",
    }


@pytest.mark.parametrize(
    "value, problem",
    [
        ([], "Must be a JSON object"),
        ({"a": "nope"}, "'nope' is not a lead field"),
        ({"": "email"}, "empty"),
        ({"a\x00": "email"}, "'a\\x00'"),
        ({"x" * 201: "email"}, "at most 200 characters"),
        ({"E-mail": "email", "e_mail": "phone"}, "same name mapped twice"),
        ({"a": 5}, "5 is not a lead field"),
        ({str(i): "email" for i in range(201)}, "At most 200 fields"),
    ],
)
def test_a_mapping_an_admin_cannot_mean_is_refused_with_the_reason(value, problem):
    with pytest.raises(ValueError, match=problem.replace("\\", "\\\\").replace("(", r"\(")):
        clean_field_map(value)


def test_a_good_mapping_is_kept_as_typed():
    assert clean_field_map({"numemployees": "employees", "hs_lang": "custom"}) == {
        "numemployees": "employees",
        "hs_lang": "custom",
    }
    assert "custom" in MAPPABLE_FIELDS and "email" in MAPPABLE_FIELDS


@pytest.mark.parametrize(
    "raw, country, e164",
    [
        ("0044 20 7946 0018", "", "+442079460018"),
        ("0044 (0)20 7946 0018", "", "+442079460018"),
        ("0044 20 7946 0018", "US", "+442079460018"),
        ("00 1 212 555 0100", "", "+12125550100"),
        ("0015551234567", "", "+15551234567"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("020 7946 0018", "", "02079460018"),
    ],
)
def test_a_phone_with_the_international_00_prefix_is_read_as_plus(raw, country, e164):
    assert normalize.normalize_phone(raw, country) == e164


# -- the API --------------------------------------------------------------------------------


def test_hubspot_form_shape_creates_a_lead_with_the_rest_in_custom(sender):
    body = {
        "properties": {
            "email": {"value": "ana@initech.example"},
            "firstname": {"value": "Ana"},
            "hs_persona": {"value": "persona_1"},
        },
        "portal-id": 62515,
    }
    response = sender.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.source) == ("ana@initech.example", "Ana", "website")
    assert lead.custom == {"hs_persona": "persona_1", "portal-id": 62515}


def test_flat_firstname_and_jobtitle_are_mapped(sender):
    body = {"email": "ana@initech.example", "firstname": "Ana", "jobtitle": "CTO"}
    assert sender.post(URL, body, format="json").status_code == 201
    assert Lead.objects.values_list("first_name", "title").get() == ("Ana", "CTO")


def test_form_encoded_firstname_and_company_are_mapped(sender):
    body = urlencode({"FirstName": "Ana", "Company": "Initech", "Email": "ana@initech.example"})
    response = sender.post(URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.json()
    assert Lead.objects.values_list("first_name", "company").get() == ("Ana", "Initech")


def test_a_phone_with_00_and_no_country_is_stored_in_e164(sender):
    assert sender.post(URL, {"phone": "0044 20 7946 0018"}, format="json").status_code == 201
    assert Lead.objects.get().phone == "+442079460018"


def test_a_bad_value_is_a_400_naming_the_senders_field_and_nothing_is_stored(sender):
    body = {"properties": {"email": {"value": "not an email"}, "company": {"value": ["x"]}}}
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"properties.email", "properties.company"}
    assert not Lead.objects.exists()


def test_problems_found_while_mapping_and_while_cleaning_come_in_one_answer(sender, key):
    key.strict = True
    key.save()
    response = sender.post(URL, {"Email": "nope", "utm_term": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "utm_term": ["Unknown field."],
        "Email": ["Enter a valid email address."],
    }


def test_a_strict_key_refuses_unknown_fields_as_before(sender, key):
    key.strict = True
    key.save()
    body = {"email": "ana@initech.example", "firstname": "Ana", "favourite_colour": "red"}
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"favourite_colour": ["Unknown field."]}
    del body["favourite_colour"]
    assert sender.post(URL, body, format="json").status_code == 201


def test_a_keys_mapping_applies_to_its_own_requests(sender, key):
    key.field_map = {"numemployees": "employees", "hs_language": "language"}
    key.save()
    body = {"email": "ana@initech.example", "numemployees": "51-200", "hs_language": "de"}
    assert sender.post(URL, body, format="json").status_code == 201
    lead = Lead.objects.get()
    assert (lead.employees, lead.language, lead.custom) == (51, "de", {})


def test_user_tokens_keep_the_strict_documented_fields(revops_api):
    response = revops_api.post(
        URL, {"email": "ana@initech.example", "firstname": "Ana"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"firstname": ["Unknown field."]}


def test_a_value_too_deep_for_custom_is_a_400_naming_the_senders_field(sender):
    body = {"email": "ana@initech.example", "properties": {"extra": {"value": nested(10)}}}
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "properties.extra": [f"Must be nested at most {MAX_CUSTOM_DEPTH} levels deep."]
    }
    body["properties"]["extra"]["value"] = nested(9)
    assert sender.post(URL, body, format="json").status_code == 201


def test_unknown_fields_past_customs_size_limit_are_a_400_on_custom(sender):
    body = {"email": "ana@initech.example", **{f"f{i}": "x" * 1000 for i in range(20)}}
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"custom": [f"At most {MAX_CUSTOM_BYTES:,} characters of JSON."]}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "a@b.example", "bad\x00name": "x"}, "bad\x00name"),
        ({"email": "a@b.example", "big": 10**30}, "big"),
        ({"email": "a@b.example", "nul": "a\x00b"}, "nul"),
        ({"properties": {"phone": {"value": 10**30}}}, "properties.phone"),
        ({"fields": [{"name": "email", "value": {"a": 1}}]}, "fields.email"),
    ],
)
def test_unstorable_input_is_a_400_naming_the_field(sender, body, field):
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


# -- the admin --------------------------------------------------------------------------------


def change_url(key: IntakeKey) -> str:
    return reverse("admin:leads_intakekey_change", args=[key.pk])


def test_the_mapping_is_edited_as_rows(admin_client, key):
    page = admin_client.get(change_url(key))
    assert b"jobtitle" not in page.content and b"Job Title" in page.content  # the aliases
    assert page.content.count(b'placeholder="sender field"') == 5  # blank rows to fill
    data = form_data(page)
    data.update({"field_map_rows_0": "numemployees", "field_map_rows_1": "employees"})
    response = admin_client.post(change_url(key), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    key.refresh_from_db()
    assert key.field_map == {"numemployees": "employees"}
    # The saved row comes back as a row, with blank ones after it.
    again = form_data(admin_client.get(change_url(key)))
    assert again["field_map_rows_0"] == "numemployees" and again["field_map_rows_2"] == ""


def test_the_mapping_is_edited_as_json(admin_client, key):
    data = form_data(admin_client.get(change_url(key)))
    data["field_map"] = '{"hs_language": "language"}'
    assert admin_client.post(change_url(key), data).status_code == 302
    key.refresh_from_db()
    assert key.field_map == {"hs_language": "language"}


@pytest.mark.parametrize(
    "edit, field, problem",
    [
        ({"field_map": '{"a": "nope"}'}, "field_map", "is not a lead field"),
        ({"field_map": "[1]"}, "field_map", "Must be a JSON object"),
        ({"field_map": "{"}, "field_map", "Enter a valid JSON"),
        ({"field_map_rows_0": "a"}, "field_map_rows", "give both"),
        ({"field_map_rows_0": "a\x00", "field_map_rows_1": "email"}, "field_map_rows", "a"),
        (
            {"field_map": '{"a": "email"}', "field_map_rows_0": "b", "field_map_rows_1": "email"},
            "__all__",
            "not both",
        ),
    ],
)
def test_a_bad_mapping_is_a_form_error_and_nothing_is_saved(
    admin_client, key, edit, field, problem
):
    data = {**form_data(admin_client.get(change_url(key))), **edit}
    response = admin_client.post(change_url(key), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert problem in " ".join(errors[field])
    key.refresh_from_db()
    assert key.field_map == {}


def test_a_strict_key_is_set_in_the_admin(admin_client, key):
    data = {**form_data(admin_client.get(change_url(key))), "strict": "on"}
    assert admin_client.post(change_url(key), data).status_code == 302
    key.refresh_from_db()
    assert key.strict


def test_saving_the_page_unchanged_keeps_the_mapping(admin_client, key):
    key.field_map = {"numemployees": "employees", "Account": "custom"}
    key.save()
    data = form_data(admin_client.get(change_url(key)))
    assert admin_client.post(change_url(key), data).status_code == 302
    key.refresh_from_db()
    assert key.field_map == {"numemployees": "employees", "Account": "custom"}


def test_a_row_cleared_in_the_admin_leaves_the_mapping(admin_client, key):
    key.field_map = {"numemployees": "employees", "hs_language": "language"}
    key.save()
    data = form_data(admin_client.get(change_url(key)))
    row = next(n for n in range(0, 20, 2) if data[f"field_map_rows_{n}"] == "numemployees")
    data.update({f"field_map_rows_{row}": "", f"field_map_rows_{row + 1}": ""})
    assert admin_client.post(change_url(key), data).status_code == 302
    key.refresh_from_db()
    assert key.field_map == {"hs_language": "language"}


@pytest.mark.parametrize(
    "body",
    [
        {"properties": {"employees": {"value": 10**40}}, "email": "a@b.example"},
        {
            "fields": [
                {"name": "email", "value": "a@b.example"},
                {"name": "first_name", "value": True},
            ]
        },
        {"email": "a@b.example", "FirstName": "x" * 10_000},
        {"email": "a@b.example", "x" * 20_000: "long name"},
    ],
    ids=["huge-int", "wrong-type", "overlong", "overlong-name"],
)
def test_bad_values_in_any_shape_are_a_400_not_a_500(sender, body):
    response = sender.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert not Lead.objects.exists()


def test_a_list_body_is_still_refused_as_not_an_object(sender):
    response = sender.post(URL, [{"email": "a@b.example"}], format="json")
    assert response.json() == {"non_field_errors": ["Send a JSON object."]}


def test_a_mapping_that_is_not_an_object_in_the_database_is_ignored(sender, key):
    IntakeKey.objects.filter(pk=key.pk).update(field_map=["oops"])
    assert sender.post(URL, {"Email": "a@b.example"}, format="json").status_code == 201
