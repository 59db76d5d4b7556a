"""The demo company's tables: its people, its customers, and where its leads come from."""

import holidays

SEED = 42
DAYS = 30
PEOPLE = 490
RESUBMISSIONS = 36
PARTIALS = 14
PARTIALS_COMPLETED = 8
STAFF_DOMAIN = "leadhub.example"

# --- The sales organisation -------------------------------------------------------------

# (team name, region, team time zone, [(first, last, time zone)]); the first is the manager.
TEAMS = [
    (
        "North America",
        "NA",
        "America/New_York",
        [
            ("Rachel", "Thompson", "America/New_York"),
            ("Marcus", "Johnson", "America/New_York"),
            ("Emily", "Chen", "America/Chicago"),
            ("Diego", "Ramirez", "America/Los_Angeles"),
            ("Sarah", "O'Connor", "America/Denver"),
            ("Jason", "Park", "America/Toronto"),
        ],
    ),
    (
        "EMEA",
        "EMEA",
        "Europe/London",
        [
            ("Oliver", "Bennett", "Europe/London"),
            ("Sophie", "Müller", "Europe/Berlin"),
            ("Lucas", "Martin", "Europe/Paris"),
            ("Hannah", "Okafor", "Europe/London"),
            ("Matteo", "Rossi", "Europe/Berlin"),
        ],
    ),
    (
        "APAC",
        "APAC",
        "Asia/Singapore",
        [
            ("Wei Ling", "Tan", "Asia/Singapore"),
            ("Liam", "Walker", "Australia/Sydney"),
            ("Yuki", "Tanaka", "Asia/Tokyo"),
            ("Arjun", "Mehta", "Asia/Kolkata"),
            ("Chloe", "Nguyen", "Asia/Singapore"),
        ],
    ),
]

# --- Where leads come from --------------------------------------------------------------

# Country code → (how people write it, time zones, phone prefix and national digits).
COUNTRIES: dict[str, tuple[list[str], list[str], str, int]] = {
    "US": (
        ["US", "USA", "United States", "united states of america", "U.S."],
        ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"],
        "+1",
        10,
    ),
    "CA": (["Canada", "CA"], ["America/Toronto", "America/Vancouver"], "+1", 10),
    "GB": (["UK", "United Kingdom", "GB", "England"], ["Europe/London"], "+44", 10),
    "IE": (["Ireland", "IE"], ["Europe/Dublin"], "+353", 9),
    "DE": (["Germany", "DE", "Deutschland"], ["Europe/Berlin"], "+49", 10),
    "FR": (["France", "FR"], ["Europe/Paris"], "+33", 9),
    "NL": (["Netherlands", "NL", "Holland"], ["Europe/Amsterdam"], "+31", 9),
    "ES": (["Spain", "ES", "España"], ["Europe/Madrid"], "+34", 9),
    "IT": (["Italy", "IT"], ["Europe/Rome"], "+39", 10),
    "SE": (["Sweden", "SE"], ["Europe/Stockholm"], "+46", 9),
    "CH": (["Switzerland", "CH"], ["Europe/Zurich"], "+41", 9),
    "AU": (["Australia", "AU"], ["Australia/Sydney", "Australia/Melbourne"], "+61", 9),
    "NZ": (["New Zealand", "NZ"], ["Pacific/Auckland"], "+64", 9),
    "SG": (["Singapore", "SG"], ["Asia/Singapore"], "+65", 8),
    "JP": (["Japan", "JP"], ["Asia/Tokyo"], "+81", 10),
    "IN": (["India", "IN"], ["Asia/Kolkata"], "+91", 10),
}
# Countries whose visitors' browsers send a language other than English.
BROWSER_LANGUAGE = {"DE": "de", "AT": "de", "CH": "de", "FR": "fr"}
REGION_COUNTRIES = {
    "NA": (["US", "CA"], [85, 15]),
    "EMEA": (
        ["GB", "DE", "FR", "NL", "ES", "IT", "SE", "CH", "IE"],
        [28, 22, 14, 9, 7, 6, 5, 5, 4],
    ),
    "APAC": (["AU", "SG", "JP", "IN", "NZ"], [35, 20, 18, 20, 7]),
}
REGION_WEIGHTS = {"NA": 46, "EMEA": 35, "APAC": 19}

FIRST_NAMES = {
    "NA": "James Mary Michael Jennifer David Jessica Chris Ashley Daniel Amanda Matthew Sarah "
    "Kevin Lauren Brian Megan Ryan Nicole Tyler Priya Carlos Maria Andre Kayla Noah Grace",
    "EMEA": "Oliver Amelia Harry Isla Lukas Anna Felix Lena Jonas Marie Louis Camille Hugo "
    "Chloé Sven Ingrid Marco Giulia Pablo Lucía Sean Aoife Pieter Sanne Ahmed Fatima",
    "APAC": "Wei Mei Hiroshi Yuki Aarav Ananya Rohan Priya Jack Charlotte Liam Olivia Haruto "
    "Sakura Ethan Grace Arjun Siti Kenji Aiko Ravi Deepa Lachlan Zoe",
}
LAST_NAMES = {
    "NA": "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Anderson "
    "Taylor Thomas Moore Jackson Lee Harris Clark Lewis Walker Patel Nguyen Kim Cohen",
    "EMEA": "Smith Jones Taylor Müller Schmidt Schneider Fischer Weber Martin Bernard Dubois "
    "Lefèvre Rossi Bianchi García Fernández Jansen de_Vries Andersson Johansson Murphy Kelly "
    "O'Brien Novak",
    "APAC": "Tan Lim Wong Chen Sato Suzuki Takahashi Sharma Patel Iyer Reddy Smith Wilson "
    "Brown Nguyen Tran Kim Park Kaur Singh Watanabe Ito",
}
FREE_MAIL = ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "hotmail.com"]
FREE_MAIL_BY_COUNTRY = {"DE": "gmx.de", "FR": "orange.fr", "GB": "yahoo.co.uk", "JP": "icloud.com"}

TITLES = [
    ("VP of Sales", 3),
    ("Vice President, Revenue Operations", 2),
    ("Head of Marketing", 3),
    ("Head of Sales Development", 2),
    ("Director of Operations", 2),
    ("Senior Director, IT", 1),
    ("Chief Revenue Officer", 1),
    ("CTO", 1),
    ("Founder & CEO", 2),
    ("Marketing Manager", 6),
    ("Sales Operations Manager", 6),
    ("Revenue Operations Analyst", 5),
    ("Account Executive", 5),
    ("Business Development Representative", 4),
    ("IT Manager", 3),
    ("Product Manager", 3),
    ("Data Analyst", 3),
    ("Consultant", 3),
    ("Procurement Specialist", 2),
    ("Office Manager", 2),
    ("Software Engineer", 3),
]
SOURCES = [
    ("website", 22),
    ("demo_request", 10),
    ("webinar", 12),
    ("content_download", 14),
    ("partner_referral", 6),
    ("paid_search", 14),
    ("linkedin_ads", 10),
    ("trade_show", 6),
    ("chat", 6),
]
UTM = {
    "paid_search": (
        ["google", "google", "bing"],
        "cpc",
        ["brand_search", "lead_routing_software", "round_robin_tool", "competitor_terms"],
    ),
    "linkedin_ads": (["linkedin"], "paid_social", ["revops_leaders", "speed_to_lead_guide"]),
    "webinar": (
        ["newsletter", "linkedin", "partner"],
        "email",
        ["webinar_speed_to_lead", "webinar_fair_routing"],
    ),
    "content_download": (
        ["newsletter", "google", "twitter"],
        "organic",
        ["state_of_lead_response", "routing_playbook"],
    ),
    "partner_referral": (
        ["northbeam_partners", "crm_consultants"],
        "referral",
        ["partner_program"],
    ),
    "trade_show": (["saastr", "dreamforce"], "event", ["saastr_annual", "dreamforce_booth"]),
}
PAGES = {
    "pricing_page": "/pricing",
    "demo_request": "/demo",
    "case_study": "/customers/brightline-logistics",
    "integration_docs": "/docs/integrations/salesforce",
    "free_trial": "/signup",
}
PRODUCTS = ["Lead routing", "SLA management", "Routing analytics", "Enterprise plan"]
MESSAGES = [
    "We get about 2,000 inbound leads a month and response times are all over the place.",
    "Looking to replace our round-robin spreadsheet. Can you route by territory?",
    "Do you integrate with Salesforce and HubSpot?",
    "Interested in pricing for a team of 25 reps.",
    "Saw your talk at the conference, would love a walkthrough.",
    "Our SDRs in two time zones keep missing leads overnight.",
    "Is there an on-premise option?",
]

# --- Companies --------------------------------------------------------------------------

# (name, primary domain, region, country, industry, employees)
ACCOUNTS = [
    ("Brightline Logistics", "brightlinelogistics.com", "NA", "US", "Logistics", 2400),
    ("Cobalt Health Systems", "cobalthealth.com", "NA", "US", "Healthcare", 8200),
    ("Evergreen Capital Partners", "evergreencap.com", "NA", "US", "Financial services", 310),
    ("Harborview Insurance", "harborviewins.com", "NA", "US", "Insurance", 1500),
    ("Ironclad Security", "ironcladsec.com", "NA", "US", "Cybersecurity", 420),
    ("Lumen Analytics", "lumenanalytics.io", "NA", "US", "Software", 180),
    ("Pinecrest Retail Group", "pinecrestretail.com", "NA", "US", "Retail", 12500),
    ("Redwood Biotech", "redwoodbio.com", "NA", "US", "Biotechnology", 650),
    ("Summit Manufacturing", "summitmfg.com", "NA", "US", "Manufacturing", 3100),
    ("Tidewater Energy", "tidewaterenergy.com", "NA", "US", "Energy", 5400),
    ("Bluejay Software", "bluejaysoftware.com", "NA", "CA", "Software", 95),
    ("Maple Leaf Credit Union", "mapleleafcu.ca", "NA", "CA", "Financial services", 870),
    ("Meridian Media", "meridianmedia.com", "NA", "US", "Media", 240),
    ("Northstar Robotics", "northstarrobotics.com", "NA", "US", "Robotics", 520),
    ("Albion Bank", "albionbank.co.uk", "EMEA", "GB", "Banking", 22000),
    ("Bergmann Maschinenbau GmbH", "bergmann-maschinenbau.de", "EMEA", "DE", "Manufacturing", 1800),
    ("Castellane SA", "castellane.fr", "EMEA", "FR", "Luxury goods", 4300),
    ("Dalarna Paper AB", "dalarnapaper.se", "EMEA", "SE", "Paper and packaging", 950),
    ("Elbe Logistik", "elbelogistik.de", "EMEA", "DE", "Logistics", 610),
    ("Greenwich Analytics Ltd", "greenwichanalytics.co.uk", "EMEA", "GB", "Software", 140),
    ("Helvetia Precision AG", "helvetia-precision.ch", "EMEA", "CH", "Manufacturing", 2600),
    ("Iberia Renewables", "iberiarenewables.es", "EMEA", "ES", "Energy", 780),
    ("Juniper Telecom", "junipertelecom.ie", "EMEA", "IE", "Telecommunications", 3300),
    ("Koenig Pharma", "koenigpharma.de", "EMEA", "DE", "Pharmaceuticals", 7600),
    ("Lyon Textiles", "lyontextiles.fr", "EMEA", "FR", "Textiles", 210),
    ("Mercia Water", "merciawater.co.uk", "EMEA", "GB", "Utilities", 5100),
    ("Van Dijk Foods", "vandijkfoods.nl", "EMEA", "NL", "Food and beverage", 1300),
    ("Rialto Fashion", "rialtofashion.it", "EMEA", "IT", "Retail", 460),
    ("Austral Mining", "australmining.com.au", "APAC", "AU", "Mining", 6900),
    ("Bamboo Pay", "bamboopay.sg", "APAC", "SG", "Fintech", 330),
    ("Coral Bay Resorts", "coralbayresorts.com.au", "APAC", "AU", "Hospitality", 1200),
    ("Daikoku Electronics", "daikoku-denki.co.jp", "APAC", "JP", "Electronics", 15000),
    ("Emerald Freight", "emeraldfreight.co.nz", "APAC", "NZ", "Logistics", 260),
    ("Fujimoto Foods", "fujimotofoods.co.jp", "APAC", "JP", "Food and beverage", 2200),
    ("Garuda Software", "garudasoft.in", "APAC", "IN", "Software", 1400),
    ("Harbour Bridge Legal", "harbourbridgelegal.com.au", "APAC", "AU", "Legal services", 170),
    ("Indigo Textiles", "indigotextiles.in", "APAC", "IN", "Textiles", 3800),
    ("Jade Pacific Bank", "jadepacificbank.sg", "APAC", "SG", "Banking", 9100),
    ("Kiwi Agritech", "kiwiagritech.co.nz", "APAC", "NZ", "Agriculture", 75),
    ("Lotus Health", "lotushealth.sg", "APAC", "SG", "Healthcare", 540),
]
# Companies the enrichment table knows that are not accounts (yet).
PROSPECTS = [
    ("Vertex Dynamics", "vertexdynamics.com", "NA", "US", "Aerospace", 2900),
    ("Quill & Ink Publishing", "quillink.com", "NA", "US", "Publishing", 120),
    ("Sagebrush Foods", "sagebrushfoods.com", "NA", "US", "Food and beverage", 760),
    ("Copperline Networks", "copperline.net", "NA", "US", "Telecommunications", 1900),
    ("Orbit Learning", "orbitlearning.com", "NA", "US", "Education", 230),
    ("Granite Peak Construction", "granitepeak.com", "NA", "US", "Construction", 880),
    ("Polaris HR", "polarishr.com", "NA", "CA", "Software", 160),
    ("Atlas Freightways", "atlasfreightways.com", "NA", "US", "Logistics", 4100),
    ("Beacon Dental Group", "beacondental.com", "NA", "US", "Healthcare", 340),
    ("Silverline Payments", "silverlinepay.com", "NA", "US", "Fintech", 610),
    ("Nimbus Cloudworks", "nimbuscloud.io", "NA", "CA", "Software", 85),
    ("Prairie Wind Power", "prairiewind.com", "NA", "US", "Energy", 1300),
    ("Thames Digital", "thamesdigital.co.uk", "EMEA", "GB", "Marketing services", 65),
    ("Rheingold Versicherung", "rheingold-versicherung.de", "EMEA", "DE", "Insurance", 5200),
    ("Bordeaux Logistique", "bordeaux-logistique.fr", "EMEA", "FR", "Logistics", 430),
    ("Nordhavn Shipping", "nordhavnshipping.com", "EMEA", "SE", "Shipping", 2700),
    ("Alpenblick Hotels", "alpenblick.ch", "EMEA", "CH", "Hospitality", 390),
    ("Oranje Energie", "oranje-energie.nl", "EMEA", "NL", "Energy", 1100),
    ("Cantabria Telecom", "cantabriatelecom.es", "EMEA", "ES", "Telecommunications", 2300),
    ("Liffey Software", "liffeysoftware.ie", "EMEA", "IE", "Software", 120),
    ("Milano Design Studio", "milanodesign.it", "EMEA", "IT", "Design", 40),
    ("Cotswold Estates", "cotswoldestates.co.uk", "EMEA", "GB", "Real estate", 150),
    ("Hanse Chemie", "hansechemie.de", "EMEA", "DE", "Chemicals", 3600),
    ("Provence Cosmetics", "provencecosmetics.fr", "EMEA", "FR", "Consumer goods", 720),
    ("Uppsala Medtech", "uppsalamedtech.se", "EMEA", "SE", "Medical devices", 480),
    ("Sakura Robotics", "sakurarobotics.co.jp", "APAC", "JP", "Robotics", 1600),
    ("Outback Outfitters", "outbackoutfitters.com.au", "APAC", "AU", "Retail", 280),
    ("Merlion Capital", "merlioncapital.sg", "APAC", "SG", "Financial services", 190),
    ("Bengal Infotech", "bengalinfotech.in", "APAC", "IN", "IT services", 5800),
    ("Tasman Dairy", "tasmandairy.co.nz", "APAC", "NZ", "Agriculture", 900),
    ("Kyoto Precision", "kyotoprecision.co.jp", "APAC", "JP", "Manufacturing", 3300),
    ("Southern Cross Health", "southerncrosshealth.com.au", "APAC", "AU", "Healthcare", 4400),
    ("Mumbai Textiles", "mumbaitextiles.in", "APAC", "IN", "Textiles", 1250),
    ("Raffles Analytics", "rafflesanalytics.sg", "APAC", "SG", "Software", 70),
    ("Pacific Rim Travel", "pacificrimtravel.com.au", "APAC", "AU", "Travel", 350),
]
ENRICHED_ACCOUNTS = 25  # of the accounts' primary domains, the enrichment table knows this many
CITIES = {
    "US": ["New York", "Chicago", "Austin", "San Francisco", "Boston", "Denver", "Atlanta"],
    "CA": ["Toronto", "Vancouver", "Montreal"],
    "GB": ["London", "Manchester", "Birmingham", "Edinburgh"],
    "IE": ["Dublin", "Cork"],
    "DE": ["Berlin", "Munich", "Hamburg", "Frankfurt"],
    "FR": ["Paris", "Lyon", "Bordeaux"],
    "NL": ["Amsterdam", "Rotterdam", "Utrecht"],
    "ES": ["Madrid", "Barcelona", "Valencia"],
    "IT": ["Milan", "Rome", "Turin"],
    "SE": ["Stockholm", "Gothenburg"],
    "CH": ["Zurich", "Geneva", "Basel"],
    "AU": ["Sydney", "Melbourne", "Brisbane", "Perth"],
    "NZ": ["Auckland", "Wellington"],
    "SG": ["Singapore"],
    "JP": ["Tokyo", "Osaka", "Nagoya"],
    "IN": ["Bengaluru", "Mumbai", "Pune", "Hyderabad"],
}
# Small companies nobody knows: names built from these.
SMALL_COMPANY_WORDS = [
    "Acorn",
    "Beacon",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Juniper",
    "Kestrel",
    "Lantern",
    "Mosaic",
    "Nova",
    "Oakridge",
    "Pioneer",
    "Quartz",
    "Riverbend",
    "Sequoia",
    "Trellis",
    "Vantage",
    "Willow",
    "Zenith",
]
SMALL_COMPANY_KINDS = [
    "Consulting",
    "Labs",
    "Studio",
    "Partners",
    "Digital",
    "Analytics",
    "Solutions",
    "Group",
]

SCORING_RULES = [
    ("Asked for a demo", "intent_signals", "contains", "demo_request", 40),
    ("Demo request form", "source", "eq", "demo_request", 40),
    ("Viewed pricing", "intent_signals", "contains", "pricing_page", 15),
    ("Company of 1,000+", "employees", "gte", "1000", 20),
    ("Company of 200+", "employees", "gte", "200", 10),
    ("Senior title", "title", "regex", r"\b(vp|vice president|head|director|chief|c[eft]o)\b", 15),
    ("Partner referral", "source", "eq", "partner_referral", 20),
    ("Met at a trade show", "source", "eq", "trade_show", 10),
    ("Webinar attendee", "source", "eq", "webinar", 5),
    ("Free-mail address", "email_domain", "in", ",".join(sorted(set(FREE_MAIL))), -10),
    ("Student", "custom.student", "eq", "true", -30),
]
PIPELINE = {
    "sales_ready_score": 50,
    "nurture_below_score": 10,
    "routing_required_fields": ["company", "country"],
}
WEB_FORMS = [
    {
        "slug": "contact",
        "name": "Contact us",
        "fields": ["email", "first_name", "last_name", "company", "country", "phone", "message"],
        "required_fields": ["email"],
        "source": "website",
        "capture_partial": False,
    },
    {
        "slug": "demo-request",
        "name": "Request a demo",
        "fields": [
            "email",
            "first_name",
            "last_name",
            "title",
            "company",
            "employees",
            "country",
            "phone",
            "message",
        ],
        "required_fields": ["email", "company"],
        "source": "demo_request",
        "capture_partial": True,
    },
]
ALLOWED_ORIGIN = "https://www.example.com"
INTAKE_KEY_NAME = "Website (demo)"

# Leads arrive in working hours, mostly on weekdays (weights per local hour, 0-23).
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 8, 9, 10, 10, 9, 7, 5, 4, 3, 3, 2, 1]
WEEKEND_WEIGHT = 0.25

# --- How the reps work -------------------------------------------------------------------

SKILLS = ["enterprise", "smb", "fintech", "healthcare", "manufacturing", "public_sector"]

# username → languages (ISO 639-1), skills, tier, weight, max open, max per day, shift.
# A "split" shift is 08:00-12:00 and 13:00-17:00; "standard" is 09:00-17:00; Mon-Fri, local.
REP_PROFILES: dict[str, tuple[list[str], list[str], int, int, int, int, str]] = {
    "rachel.thompson": (["en"], ["enterprise"], 3, 1, 25, 5, "standard"),
    "marcus.johnson": (["en"], ["enterprise", "fintech"], 3, 3, 60, 15, "standard"),
    "emily.chen": (["en", "zh"], ["smb", "healthcare"], 2, 2, 40, 10, "split"),
    "diego.ramirez": (["en", "es"], ["smb", "manufacturing"], 2, 2, 6, 10, "standard"),
    "sarah.oconnor": (["en"], ["public_sector", "healthcare"], 2, 2, 40, 10, "standard"),
    "jason.park": (["en", "fr", "ko"], ["smb"], 1, 1, 30, 8, "standard"),
    "oliver.bennett": (["en", "fr"], ["enterprise"], 3, 1, 25, 5, "standard"),
    "sophie.muller": (["de", "en"], ["manufacturing", "enterprise"], 3, 3, 55, 15, "standard"),
    "lucas.martin": (["fr", "en"], ["fintech", "smb"], 2, 2, 40, 10, "split"),
    "hannah.okafor": (["en"], ["healthcare", "public_sector"], 2, 2, 40, 10, "standard"),
    "matteo.rossi": (["it", "de", "en"], ["manufacturing", "smb"], 1, 1, 30, 8, "standard"),
    "weiling.tan": (["en", "zh", "ms"], ["enterprise", "fintech"], 3, 1, 25, 5, "standard"),
    "liam.walker": (["en"], ["smb", "public_sector"], 2, 2, 45, 10, "standard"),
    "yuki.tanaka": (["ja", "en"], ["manufacturing", "enterprise"], 2, 2, 40, 10, "split"),
    "arjun.mehta": (["en", "hi"], ["fintech", "smb"], 2, 2, 40, 10, "standard"),
    "chloe.nguyen": (["en", "vi", "zh"], ["smb"], 1, 2, 30, 8, "standard"),
}
SHIFTS = {"standard": [("09:00", "17:00")], "split": [("08:00", "12:00"), ("13:00", "17:00")]}
# On vacation from two days before seeding to five days after, so the demo has one rep
# the router must skip for time off.
ON_VACATION = "hannah.okafor"
# New this month: gets RAMP_SHARE of their weight for RAMP_DAYS days from seeding.
RAMPING, RAMP_DAYS, RAMP_SHARE = "chloe.nguyen", 21, "0.50"
# Their max_open (6 in REP_PROFILES) is filled by hand with as many open demo leads, so the
# demo has one rep that is at capacity for real, not by a cap of zero.
AT_CAPACITY = "diego.ramirez"

# The demo's holiday calendars, by the time zones the reps live in: calendar name →
# (country, subdivision, language of the names) in the `holidays` package, which knows the
# public holidays of each country and region for any year (moving feasts, observed days).
HOLIDAY_REGIONS: dict[str, tuple[str, str | None, str]] = {
    "United States": ("US", None, "en_US"),
    "Canada (Ontario)": ("CA", "ON", "en_CA"),
    "United Kingdom (England)": ("GB", "ENG", "en_GB"),
    "Germany (Berlin)": ("DE", "BE", "de"),
    "France": ("FR", None, "fr"),
    "Singapore": ("SG", None, "en_SG"),
    "Japan": ("JP", None, "en_US"),
    "Australia (New South Wales)": ("AU", "NSW", "en_AU"),
    "India": ("IN", None, "en_IN"),
}


def holiday_calendars(*years: int) -> dict[str, list[tuple[str, str]]]:
    """Each demo calendar's public holidays in ``years``: [(ISO date, name)], by date."""
    out = {}
    for name, (country, subdivision, language) in HOLIDAY_REGIONS.items():
        days = holidays.country_holidays(
            country, subdiv=subdivision, years=years, language=language
        )
        out[name] = [(day.isoformat(), title[:100]) for day, title in sorted(days.items())]
    return out


CALENDAR_OF_TIMEZONE = {
    "America/New_York": "United States",
    "America/Chicago": "United States",
    "America/Denver": "United States",
    "America/Los_Angeles": "United States",
    "America/Toronto": "Canada (Ontario)",
    "Europe/London": "United Kingdom (England)",
    "Europe/Berlin": "Germany (Berlin)",
    "Europe/Paris": "France",
    "Asia/Singapore": "Singapore",
    "Asia/Tokyo": "Japan",
    "Australia/Sydney": "Australia (New South Wales)",
    "Asia/Kolkata": "India",
}

# --- What the reps did with their leads (demo/story.py) ----------------------------------

# username → (median minutes to accept, odds of never answering, odds of declining,
# how well they close: a factor on the odds of qualifying and of converting).
REP_HABITS: dict[str, tuple[float, float, float, float]] = {
    "rachel.thompson": (6, 0.0, 0.0, 1.2),
    "marcus.johnson": (1.5, 0.01, 0.04, 1.4),
    "emily.chen": (2.5, 0.02, 0.06, 1.1),
    "diego.ramirez": (4, 0.03, 0.05, 0.9),
    "sarah.oconnor": (3, 0.03, 0.08, 1.0),
    "jason.park": (9, 0.08, 0.10, 0.7),
    "oliver.bennett": (6, 0.0, 0.0, 1.2),
    "sophie.muller": (2, 0.01, 0.05, 1.3),
    "lucas.martin": (3.5, 0.03, 0.07, 1.0),
    "hannah.okafor": (3, 0.02, 0.05, 1.1),
    "matteo.rossi": (7, 0.07, 0.09, 0.8),
    "weiling.tan": (6, 0.0, 0.0, 1.2),
    "liam.walker": (2.5, 0.02, 0.06, 1.0),
    "yuki.tanaka": (4, 0.04, 0.05, 1.1),
    "arjun.mehta": (3, 0.03, 0.07, 0.9),
    "chloe.nguyen": (8, 0.06, 0.08, 0.6),
}
# Odds, per worked lead, that it turns out to be junk once someone looks at it.
JUNK_ODDS = 0.06
# Odds that a worked lead qualifies, and that a qualified one converts (before the rep's
# and the source's factors).
QUALIFY_ODDS, CONVERT_ODDS = 0.5, 0.55
SOURCE_FACTORS = {
    "demo_request": 1.5,
    "partner_referral": 1.5,
    "trade_show": 1.2,
    "website": 1.0,
    "chat": 1.0,
    "paid_search": 0.9,
    "linkedin_ads": 0.8,
    "webinar": 0.7,
    "content_download": 0.5,
}
DECLINE_REASONS = [
    ("Not my territory", 5),
    ("Existing customer: belongs to account management", 3),
    ("Wrong language for me", 2),
    ("At capacity this week", 2),
    ("Duplicate of a lead I already work", 1),
]
REASSIGN_REASONS = [
    "Out sick today: handing over",
    "Better fit: speaks the prospect's language",
    "Balancing workload across the team",
    "The account owner asked for it",
]
# Odds that a manager hands an accepted lead to someone else by hand.
REASSIGN_ODDS = 0.03
TOUCH_KINDS = [("call", 5), ("email", 4), ("meeting", 1)]
DISQUALIFY_REASONS = [
    ("No budget this year", 4),
    ("Chose a competitor", 3),
    ("Not the decision maker", 2),
    ("Timing: revisit next quarter", 2),
]
JUNK_REASONS = [("Fake details", 3), ("Spam submission", 2), ("Student project", 1)]
# Submissions moved to the last hours, so today has leads too: (source, minutes ago). Leads
# captured in the last FRESH_MINUTES have not been answered yet: they wait in their rep's
# queue or in the partner queue, their clocks counting down. The OVERDUE demo requests are
# routed after the story's last SLA sweep and left overdue on purpose: the ticker's sweep
# reminds, then reassigns them soon after ``make run``.
FRESH = [
    ("content_download", 300),
    ("partner_referral", 190),
    ("trade_show", 150),
    ("partner_referral", 95),
    ("paid_search", 70),
    ("chat", 40),
    ("partner_referral", 35),
    ("paid_search", 25),
    ("partner_referral", 15),
    ("linkedin_ads", 12),
]
FRESH_MINUTES = 45
OVERDUE = [("demo_request", 10), ("demo_request", 8)]
