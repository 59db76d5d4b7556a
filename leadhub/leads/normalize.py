"""Pure normalisers for lead fields. Each returns the clean value or raises ValueError with a
message fit to show the person who sent the data."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
import pycountry
import tldextract
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from reps.models import iana_timezones

# Country names come from two maintained data sets: pycountry (ISO 3166-1 names, official
# names, common names, "Korea, Republic of" read both ways) and Babel's CLDR territory names
# in the languages below ("Cape Verde", "Türkiye", "Deutschland", "Côte d'Ivoire"). Only the
# abbreviations and informal names neither carries are listed here.
COUNTRY_NAME_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "nb", "fi")
COUNTRY_ALIASES = {
    "usa": "US",
    "us of a": "US",
    "america": "US",
    "united states of america": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "britain": "GB",
    "korea": "KR",
    "holland": "NL",
    "uae": "AE",
    "turkey": "TR",
    "ivory coast": "CI",
    "czech republic": "CZ",
    "hong kong": "HK",
    "macau": "MO",
    "burma": "MM",
    "swaziland": "SZ",
    "macedonia": "MK",
}
_COUNTRY_MAX = 100  # longer than any country name: refused before any lookup

# Upper bounds of the employee size bands, smallest first.
EMPLOYEE_BANDS = [
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (500, "201-500"),
    (1000, "501-1000"),
    (5000, "1001-5000"),
    (10000, "5001-10000"),
]
LARGEST_BAND = "10001+"

_COMPANY_SUFFIXES = {
    "inc",
    "incorporated",
    "llc",
    "llp",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "plc",
    "pty",
    "oy",
    "ab",
    "as",
    "kk",
    "pte",
    "group",
    "holdings",
}


# Control characters (C0, DEL, C1). A name with CR/LF in it made every email to the lead
# fail (a header may not contain a line break), so single-line text drops them at intake.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What ends a line or separates words in single-line text: one space instead.
_SPACING = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029]+")
_LINE_BREAK = re.compile(r"\r\n|[\r\x85\u2028\u2029]")
_CONTROLS_BUT_LINE_BREAK_AND_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def refuse_unstorable(text: str) -> None:
    """Refuse what no database column can keep: NUL (PostgreSQL's text and jsonb reject it)
    and lone surrogates (JSON escapes such as "\\ud800" decode to them; they are not
    characters and cannot be written as UTF-8)."""
    if "\x00" in text:
        raise ValueError("Null characters are not allowed.")
    if match := _SURROGATE.search(text):
        raise ValueError(
            f"Contains an invalid character (U+{ord(match.group()):04X}, a lone surrogate): "
            "send text as UTF-8."
        )


def clean_text(raw: str, *, multiline: bool = False) -> str:
    """Text as a lead keeps it, trimmed. Single-line text turns tabs and line breaks into a
    space and drops other control characters; ``multiline`` text (a message) keeps line
    breaks, as \\n, and tabs. Raises ValueError for what cannot be stored at all."""
    refuse_unstorable(raw)
    if multiline:
        text = _LINE_BREAK.sub("\n", raw)
        text = _CONTROLS_BUT_LINE_BREAK_AND_TAB.sub("", text)
    else:
        text = _CONTROLS.sub("", _SPACING.sub(" ", raw))
    return text.strip()


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError("Enter a valid email address.") from None
    return email


def email_domain(email: str) -> str:
    return email.rpartition("@")[2] if "@" in email else ""


def domain_of(url_or_host: str) -> str:
    """'https://www.Acme.com/pricing' → 'acme.com'."""
    host = url_or_host.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    return host.removeprefix("www.")


# Where a company's registrable name ends (example.co.uk, not co.uk; cobalthealth.com): the
# Public Suffix List as tldextract bundles it. suffix_list_urls=() and no cache directory:
# it never goes online and writes nothing.
_PUBLIC_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def domain_candidates(domain: str) -> list[str]:
    """The domain and each parent down to its registrable domain, most specific first:
    'eu.sales.acme.com' → ['eu.sales.acme.com', 'sales.acme.com', 'acme.com'];
    'sub.example.co.uk' → ['sub.example.co.uk', 'example.co.uk']. A name with no
    registrable part (a bare public suffix, 'localhost') is its only candidate."""
    registrable = _PUBLIC_SUFFIXES(domain).top_domain_under_public_suffix or domain
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(max(len(parts) - registrable.count("."), 1))]


def registrable_domain(domain: str) -> str:
    """'eu.cobalthealth.com' → 'cobalthealth.com'; 'sub.example.co.uk' → 'example.co.uk'."""
    return domain_candidates(domain)[-1]


def normalize_website(raw: str) -> str:
    host = domain_of(raw)
    if not host:
        return ""
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        raise ValueError("Enter a web address like acme.com.")
    return host


def _fold(text: str) -> str:
    """' Côte d'Ivoire ' → 'cote d ivoire'; 'U.S.A.' → 'usa'; 'The Netherlands' → 'netherlands'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace(".", "")
    text = " ".join(re.sub(r"[^\w]+", " ", text).split())
    return text.removeprefix("the ")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every folded name → its alpha-2 code. A name two sources give to different countries
    ('Korea', 'Congo') is left out rather than guessed."""
    from babel import Locale  # CLDR data: loaded once, on the first name that is not a code

    found: dict[str, set[str]] = {}

    def add(name: str, code: str) -> None:
        if name:
            found.setdefault(_fold(name), set()).add(code)

    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, "")
            add(name, code)
            if ", " in name:  # "Korea, Republic of" is also written "Republic of Korea"
                head, tail = name.split(", ", 1)
                add(f"{tail} {head}", code)
    for language in COUNTRY_NAME_LANGUAGES:
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
                add(name, code)
    names = {name: codes.pop() for name, codes in found.items() if len(codes) == 1}
    names.update(COUNTRY_ALIASES)
    return names


@lru_cache(maxsize=4096)
def normalize_country(raw: str) -> str:
    """An ISO 3166-1 alpha-2 code from a code (DE, DEU, 276) or a name in a common language."""
    text = raw.strip()
    if not text:
        return ""
    if len(text) <= _COUNTRY_MAX and text.isprintable():
        if text.isascii() and text.isalpha() and len(text) in (2, 3):  # the fast path: codes
            attr = "alpha_2" if len(text) == 2 else "alpha_3"
            country = pycountry.countries.get(**{attr: text.upper()})
            if country is not None:
                return country.alpha_2
        if text.isdigit() and len(text) == 3:
            country = pycountry.countries.get(numeric=text)
            if country is not None:
                return country.alpha_2
        folded = _fold(text)
        code = _country_names().get(folded)
        if code:
            return code
        if len(folded) == 2 and folded.isalpha():  # 'u.s.', 'D.E.'
            country = pycountry.countries.get(alpha_2=folded.upper())
            if country is not None:
                return country.alpha_2
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise ValueError(f"Unknown country {shown!r}: use a name or an ISO code such as DE or DEU.")


@lru_cache(maxsize=4096)
def normalize_state(raw: str, country: str) -> str:
    """A state or region as its ISO 3166-2 code without the country ('California' → 'CA').
    Unknown names are kept as written: regions are not always subdivisions."""
    text = raw.strip()
    if not text or not country:
        return text
    wanted = text.lower()
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        code = sub.code.split("-", 1)[1]
        if wanted in (code.lower(), sub.code.lower(), sub.name.lower()):
            return code
    return text


def normalize_phone(raw: str, country: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    if re.search(r"[^\d\s()+\-./]", re.sub(r"(?i)\s*(ext\.?|x)\s*\d+$", "", text)):
        raise ValueError("Enter a phone number using digits, spaces, + ( ) - . only.")
    digits = re.sub(r"\D", "", text)
    if len(digits) < 6 or len(digits) > 15:
        raise ValueError("A phone number has 6 to 15 digits.")
    try:
        number = phonenumbers.parse(text, country or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if text.startswith("00"):
        number = _parse_with_idd(text)
        if number is not None:
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return "+" + digits[2:]
    # Without a country (or with a number the country's plan rejects) keep the digits, with
    # a leading + when the sender gave one: still comparable for dedupe.
    return ("+" if text.startswith("+") else "") + digits


# "00" is the international call prefix the ITU recommends and most of the world dials
# (the UK among them): parsing with such a region lets phonenumbers strip it and read the
# country code that follows, as it does for "+".
_IDD_00_REGION = "GB"


def _parse_with_idd(text: str) -> "phonenumbers.PhoneNumber | None":
    """``0044 20 7946 0018`` read as ``+44 20 7946 0018``; None unless the 00 was an
    international prefix followed by a country code."""
    try:
        number = phonenumbers.parse(text, _IDD_00_REGION, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code_source != phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD:
        return None
    return number


def employee_band(employees: int | None) -> str:
    if employees is None:
        return ""
    for upper, band in EMPLOYEE_BANDS:
        if employees <= upper:
            return band
    return LARGEST_BAND


def parse_employees(raw: object) -> int | None:
    """A head count: 250, '1,200', '51-200' (lower bound kept), '10000+'."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError("Enter a number of employees.")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip().replace(",", "").replace(" ", "")
        match = re.fullmatch(r"(\d+)(?:\.0+)?(?:(?:-|\u2013|to)(\d+)|\+)?", text)
        if not match:
            raise ValueError("Enter a number of employees, e.g. 250 or 51-200.")
        value = int(match.group(1))
        if match.group(2) and int(match.group(2)) < value:
            raise ValueError("The range's upper bound is below its lower bound.")
    if value < 0:
        raise ValueError("The number of employees cannot be negative.")
    if value > 10_000_000:
        raise ValueError("That is more employees than any company has.")
    return value


_MONEY_SUFFIX = {"k": Decimal(1_000), "m": Decimal(1_000_000), "b": Decimal(1_000_000_000)}
_MAX_MONEY = Decimal("1e14")  # Lead.annual_revenue: 16 digits, 2 after the point


def parse_money(raw: object) -> Decimal | None:
    """Annual revenue: 1200000, '1,200,000', '$1.2M', '€800k'.

    Parsed here with Decimal rather than price-parser: that library finds a price inside
    free text and guesses the decimal separator, but knows no k/M/B suffixes; a revenue
    field needs a strict answer (an amount or an error), which Decimal gives once NaN,
    Infinity and out-of-range exponents are refused."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError("Enter an amount.")
    text = str(raw).strip().lower().replace(",", "").replace(" ", "")
    text = re.sub(r"^[$€£¥]|(usd|eur|gbp)$", "", text)
    factor = Decimal(1)
    if text and text[-1] in _MONEY_SUFFIX:
        factor = _MONEY_SUFFIX[text[-1]]
        text = text[:-1]
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("Enter an amount, e.g. 1200000 or 1.2M.") from None
    if not value.is_finite():
        raise ValueError("Enter an amount, e.g. 1200000 or 1.2M.")
    if value < 0:
        raise ValueError("Revenue cannot be negative.")
    # Compared before any arithmetic: 1e999999999 would overflow the decimal context.
    if value >= _MAX_MONEY / factor:
        raise ValueError("That amount is too large.")
    return (value * factor).quantize(Decimal("0.01"))


@lru_cache(maxsize=1)
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in iana_timezones()}


def normalize_timezone(raw: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    name = _timezones().get(text.lower())
    if name is None:
        raise ValueError(f"Unknown time zone {raw!r}: use an IANA name such as Europe/Berlin.")
    return name


@lru_cache(maxsize=1024)
def normalize_language(raw: str) -> str:
    text = raw.strip()
    if not text:
        return ""
    base = re.split(r"[-_]", text)[0]
    # Codes first: lookup() alone takes "en" for the language *named* En (alpha-3 enc).
    language = pycountry.languages.get(alpha_2=base.lower()) or pycountry.languages.get(
        alpha_3=base.lower()
    )
    try:
        language = language or pycountry.languages.lookup(base)
    except LookupError:
        raise ValueError(f"Unknown language {raw!r}: use a code such as en or a name.") from None
    code = getattr(language, "alpha_2", "")
    if not code:
        raise ValueError(f"{raw!r} has no two-letter ISO 639-1 code.")
    return code


def normalize_company_name(raw: str) -> str:
    """A key for matching company names: 'Acme, Inc.' and 'ACME' both give 'acme'."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words)


def normalize_signal(raw: str) -> str:
    """'Demo Request' → 'demo_request'."""
    return re.sub(r"[^a-z0-9]+", "_", raw.strip().lower()).strip("_")
