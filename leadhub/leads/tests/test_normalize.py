import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.leads import normalize


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("DE", "DE"),
        ("deu", "DE"),
        ("Germany", "DE"),
        ("United States", "US"),
        ("USA", "US"),
        ("uk", "GB"),
        ("South Korea", "KR"),
        ("  france ", "FR"),
        ("Bolivia", "BO"),
        # Names only the libraries know (pycountry's "Korea, Republic of" read both ways,
        # CLDR's English and other-language names), once refusing the whole lead (issue 15).
        ("Republic of Korea", "KR"),
        ("Turkiye", "TR"),
        ("Türkiye", "TR"),
        ("Cape Verde", "CV"),
        ("Cabo Verde", "CV"),
        ("Côte d\u2019Ivoire", "CI"),  # CLDR's spelling, with a typographic apostrophe
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Vereinigte Staaten", "US"),
        ("The Netherlands", "NL"),
        ("Iran, Islamic Republic of", "IR"),
        ("Islamic Republic of Iran", "IR"),
        ("North Korea", "KP"),
        ("U.S.A.", "US"),
        ("u.s.", "US"),
        ("276", "DE"),
        ("", ""),
    ],
)
def test_country_becomes_iso_alpha2_from_code_or_name(raw, code):
    assert normalize.normalize_country(raw) == code


def test_unknown_country_is_refused_with_a_helpful_message():
    with pytest.raises(ValueError, match="Unknown country 'Narnia'"):
        normalize.normalize_country("Narnia")


@pytest.mark.parametrize("raw", ["Narnia", "XX", "999", "Republic of", "x" * 10_000, "\x00DE"])
def test_a_value_no_library_reads_is_refused_not_guessed(raw):
    with pytest.raises(ValueError, match="Unknown country"):
        normalize.normalize_country(raw)


def test_a_name_two_countries_share_is_not_guessed_from_the_libraries():
    """'Korea' alone is listed on purpose (KR); a shared name without an alias is left out."""
    names = normalize._country_names()
    assert names["korea"] == "KR"
    assert "guinea" in names  # GN's own name, not Equatorial Guinea's or Guinea-Bissau's
    assert names["guinea"] == "GN"


def test_state_name_becomes_its_code_within_the_country_and_unknown_regions_stay():
    assert normalize.normalize_state("California", "US") == "CA"
    assert normalize.normalize_state("ca", "US") == "CA"
    assert normalize.normalize_state("Bavaria", "DE") == "Bavaria"  # pycountry: "Bayern"
    assert normalize.normalize_state("Bayern", "DE") == "BY"
    assert normalize.normalize_state("Greater Tokyo", "") == "Greater Tokyo"


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("+44 20 7946 0958", "", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
        ("+1 415.555.2671 ext 12", "", "+14155552671"),
    ],
)
def test_phone_becomes_e164_where_the_country_allows(raw, country, e164):
    assert normalize.normalize_phone(raw, country) == e164


def test_phone_without_a_country_keeps_its_digits_comparable():
    assert normalize.normalize_phone("555 123 4567", "") == "5551234567"


@pytest.mark.parametrize("raw", ["call me", "12", "+1 (555) 555-5555-5555-5555"])
def test_phone_that_is_not_a_number_is_refused(raw):
    with pytest.raises(ValueError):
        normalize.normalize_phone(raw, "US")


@pytest.mark.parametrize(
    ("raw", "count", "band"),
    [
        (7, 7, "1-10"),
        ("1,200", 1200, "1001-5000"),
        ("51-200", 51, "51-200"),
        ("10000+", 10000, "5001-10000"),
        ("20000", 20000, "10001+"),
        ("", None, ""),
    ],
)
def test_employees_parse_to_a_count_and_a_size_band(raw, count, band):
    parsed = normalize.parse_employees(raw)
    assert parsed == count
    assert normalize.employee_band(parsed) == band


@pytest.mark.parametrize("raw", ["lots", "-5", "200-50", True])
def test_bad_employee_counts_are_refused(raw):
    with pytest.raises(ValueError):
        normalize.parse_employees(raw)


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("1,200,000", Decimal("1200000.00")),
        ("$1.2M", Decimal("1200000.00")),
        ("800k", Decimal("800000.00")),
        (5000, Decimal("5000.00")),
    ],
)
def test_revenue_accepts_the_ways_people_write_money(raw, amount):
    assert normalize.parse_money(raw) == amount


def test_company_names_match_across_punctuation_case_and_legal_suffixes():
    key = normalize.normalize_company_name
    assert key("Acme, Inc.") == key("ACME") == key("acme llc") == "acme"
    assert key("Müller & Söhne GmbH") == "muller and sohne"
    assert key("Co") == "co"  # a name that is only a suffix is kept


def test_website_is_stored_as_its_bare_domain():
    assert normalize.normalize_website("https://www.Acme.com/pricing?x=1") == "acme.com"
    with pytest.raises(ValueError):
        normalize.normalize_website("not a site")


def test_language_and_timezone_accept_codes_and_names():
    assert normalize.normalize_language("German") == "de"
    assert normalize.normalize_language("en-GB") == "en"
    assert normalize.normalize_timezone("europe/berlin") == "Europe/Berlin"
    with pytest.raises(ValueError):
        normalize.normalize_timezone("Mars/Olympus")


@given(st.integers(min_value=1, max_value=10_000_000))
def test_every_head_count_falls_in_exactly_the_band_that_contains_it(n):
    band = normalize.employee_band(n)
    if band.endswith("+"):
        assert n >= int(band[:-1])
    else:
        low, high = (int(x) for x in band.split("-"))
        assert low <= n <= high


@given(st.text(alphabet=string.ascii_letters + string.digits + " .,&-", max_size=40))
def test_company_key_is_stable_under_case_and_whitespace(name):
    key = normalize.normalize_company_name
    assert key(name) == key(f"  {name.upper()}  ")
