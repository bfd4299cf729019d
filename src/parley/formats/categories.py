"""The notification categories and what the formats layer knows about each (docs/formats.md).

Each category says what a kind of incident is called, how CAP names it, what structured detail
it carries, and its default deadlines.

A category code is ``domain.name`` (``nuclear.facility-event``). Each maps to one or more CAP 1.2
``<category>`` values (CAP 1.2 s3.2.2) and to an event code ``profile:parley:category:1`` whose
value is the code itself, so that a Parley category survives a trip through any CAP tool. SAME
codes and keywords let CAP imports from agencies that know nothing of Parley find a category.

The structured ``details`` of a notification are checked against ``Category.details``: a small
table of typed fields (decimal strings, integer milliseconds, enumerations, points, areas), the
same for every node, so that the signed body means the same everywhere. Deadlines here are
*defaults* for the network policy (``parley.core.policy``), which may set others within bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

EVENT_CODE_NAME = "profile:parley:category:1"

CAP_CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

FieldKind = Literal[
    "text",
    "int",
    "decimal",
    "ms",
    "bool",
    "enum",
    "point",
    "area",
    "areas",
    "texts",
    "object",
    "objects",
]

YES_NO_UNKNOWN = ("yes", "no", "unknown")


@dataclass(frozen=True)
class DetailField:
    """One typed field of a category's ``details`` object."""

    name: str
    kind: FieldKind
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    fields: tuple[DetailField, ...] = ()


@dataclass(frozen=True)
class Deadlines:
    """Default deadlines in milliseconds from the entry's time (DESIGN.md, Deadlines)."""

    delivered_within: int
    acknowledged_within: int

    def to_dict(self) -> dict[str, int]:
        """The deadlines as a JSON ``deadlines`` object, in ms (protocol §11)."""
        return {
            "delivered_within": self.delivered_within,
            "acknowledged_within": self.acknowledged_within,
        }


@dataclass(frozen=True)
class Category:
    """A notification category and everything the formats layer knows about it."""

    code: str
    title: str
    cap_categories: tuple[str, ...]
    deadlines: Deadlines
    human_ack: bool
    details: tuple[DetailField, ...] = ()
    same_codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = field(default=(), repr=False)

    @property
    def event_code(self) -> dict[str, str]:
        """The CAP ``<eventCode>`` that names this category: ``profile:parley:category:1``."""
        return {"name": EVENT_CODE_NAME, "value": self.code}


def _f(name: str, kind: FieldKind, doc: str, **kw: object) -> DetailField:
    return DetailField(name, kind, doc, **kw)  # type: ignore[arg-type]


# Reusable fields.
POINT = "[lon, lat] as decimal strings"
DEAD = _f("dead", "int", "people killed", minimum=0)
INJURED = _f("injured", "int", "people injured", minimum=0)
MISSING = _f("missing", "int", "people missing", minimum=0)
AFFECTED = _f("affected_people", "int", "people affected", minimum=0)
LOCATION = _f("location", "point", f"where it happened, {POINT}")
FACILITY = _f("facility", "text", "name of the facility or site")
SUBSTANCE = _f("substance", "text", "substance involved")

ART5_RELEASE = (
    _f("nature", "text", "nature of the radioactive release"),
    _f("physical_chemical_form", "text", "probable physical and chemical form"),
    _f("quantity_bq", "decimal", "quantity released, becquerel"),
    _f("composition", "text", "composition (nuclides)"),
    _f("effective_height_m", "decimal", "effective height of the release, metres"),
)
ART5 = (
    _f("accident_time", "ms", "(a) time of the accident"),
    _f("location", "point", f"(a) exact location where appropriate, {POINT}"),
    _f("nature", "text", "(a) nature of the accident"),
    _f("facility_or_activity", "text", "(b) the facility or activity involved"),
    _f("cause", "text", "(c) assumed or established cause"),
    _f("foreseeable_development", "text", "(c) foreseeable development relevant to release"),
    _f("release", "object", "(d) general characteristics of the release", fields=ART5_RELEASE),
    _f("meteorological_conditions", "text", "(e) current and forecast meteorology"),
    _f("hydrological_conditions", "text", "(e) current and forecast hydrology"),
    _f("environmental_monitoring", "text", "(f) results of environmental monitoring"),
    _f("protective_measures", "text", "(g) off-site protective measures taken or planned"),
    _f("predicted_behaviour", "text", "(h) predicted behaviour over time of the release"),
)
CRAFT = (
    _f("name", "text", "name or call sign"),
    _f("flag", "text", "flag state or operator (party code or ISO 3166 code)"),
    _f("kind", "text", "type (e.g. destroyer, coast guard cutter, fighter aircraft)"),
    _f("identifier", "text", "IMO/MMSI number, hull number, tail number or ICAO address"),
)

_DISASTER = Deadlines(delivered_within=60 * SECOND, acknowledged_within=60 * MINUTE)
_URGENT = Deadlines(delivered_within=60 * SECOND, acknowledged_within=15 * MINUTE)
_HOTLINE = Deadlines(delivered_within=60 * SECOND, acknowledged_within=5 * MINUTE)
_DAY = Deadlines(delivered_within=60 * SECOND, acknowledged_within=24 * HOUR)

HOTLINE_DEADLINES = _HOTLINE
"""Default deadlines of ``hotline`` entries, which have no category (DESIGN.md, scenario 4)."""

_CATEGORIES: tuple[Category, ...] = (
    Category(
        "geo.earthquake",
        "Earthquake",
        ("Geo",),
        _DISASTER,
        True,
        (
            _f("magnitude", "decimal", "magnitude"),
            _f("magnitude_type", "text", "magnitude scale, e.g. Mw, Mj, ML"),
            _f("depth_km", "decimal", "hypocentre depth, km"),
            _f("epicenter", "point", f"epicentre, {POINT}"),
            _f("origin_time", "ms", "origin time"),
            _f("max_intensity", "text", "maximum intensity with its scale, e.g. 'JMA 6+'"),
            _f("tsunami_threat", "enum", "whether a tsunami may follow", choices=YES_NO_UNKNOWN),
        ),
        ("EQW",),
        ("earthquake", "seismic", "quake", "地震", "지진", "землетрясение", "gempa"),
    ),
    Category(
        "geo.tsunami",
        "Tsunami",
        ("Geo",),
        _URGENT,
        True,
        (
            _f("source_event", "text", "the earthquake or eruption that caused it"),
            _f("origin_time", "ms", "origin time of the source event"),
            _f("epicenter", "point", f"source location, {POINT}"),
            _f("max_wave_height_m", "decimal", "expected or observed maximum height, metres"),
            _f("first_arrival", "ms", "expected first arrival on the coast"),
        ),
        ("TSW", "TSA"),
        ("tsunami", "津波", "해일", "цунами"),
    ),
    Category(
        "geo.volcano",
        "Volcanic eruption",
        ("Geo",),
        _DISASTER,
        True,
        (
            _f("volcano", "text", "volcano name"),
            _f("volcano_number", "text", "Smithsonian GVP volcano number"),
            _f("alert_level", "text", "national alert level with its scale"),
            _f("vei", "int", "volcanic explosivity index", minimum=0, maximum=8),
            _f("ash_column_km", "decimal", "ash column height above sea level, km"),
            _f("eruption_time", "ms", "start of the eruption"),
        ),
        ("VOW",),
        ("volcan", "eruption", "ashfall", "ash fall", "噴火", "화산", "вулкан"),
    ),
    Category(
        "geo.landslide",
        "Landslide",
        ("Geo",),
        _DISASTER,
        True,
        (LOCATION, _f("trigger", "text", "rain, earthquake, ..."), AFFECTED, DEAD, MISSING),
        (),
        ("landslide", "mudslide", "debris flow", "土砂", "산사태", "оползень", "longsor"),
    ),
    Category(
        "met.tropical-cyclone",
        "Tropical cyclone / typhoon",
        ("Met",),
        _DISASTER,
        True,
        (
            _f("name", "text", "storm name"),
            _f("international_number", "text", "international number, e.g. 2410"),
            _f("intensity_class", "text", "intensity class with its scale"),
            _f("max_wind_kt", "decimal", "maximum sustained wind, knots"),
            _f("central_pressure_hpa", "decimal", "central pressure, hPa"),
            _f("position", "point", f"centre position, {POINT}"),
            _f("position_time", "ms", "time of the position"),
            _f("movement", "text", "direction and speed of movement"),
        ),
        ("HUW", "HUA", "TRW", "TRA", "TYW", "TYA"),
        ("typhoon", "hurricane", "cyclone", "tropical storm", "台風", "태풍", "тайфун", "siklon"),
    ),
    Category(
        "met.storm-surge",
        "Storm surge",
        ("Met",),
        _DISASTER,
        True,
        (
            _f("max_surge_m", "decimal", "maximum surge height, metres"),
            _f("coast", "text", "coast affected"),
            _f("peak_time", "ms", "expected peak"),
        ),
        ("SSW", "SSA", "CFW", "CFA"),
        ("storm surge", "coastal flood", "高潮", "폭풍해일"),
    ),
    Category(
        "met.flood",
        "Flood",
        ("Met", "Geo"),
        _DISASTER,
        True,
        (
            _f("river", "text", "river or basin"),
            _f("gauge", "text", "gauge station"),
            _f("water_level_m", "decimal", "observed water level, metres"),
            _f("warning_level_m", "decimal", "warning level at the gauge, metres"),
            AFFECTED,
        ),
        ("FLW", "FFW", "FLA", "FFA", "FLS", "FFS"),
        (
            "flood",
            "inundation",
            "hochwasser",
            "洪水",
            "홍수",
            "наводнение",
            "banjir",
            "översvämning",
        ),
    ),
    Category(
        "met.heavy-rain",
        "Heavy rain",
        ("Met",),
        _DISASTER,
        False,
        (
            _f("rainfall_mm", "decimal", "expected or observed rainfall, mm"),
            _f("period_hours", "int", "over how many hours", minimum=1, maximum=720),
        ),
        (),
        (
            "heavy rain",
            "rainfall",
            "starkregen",
            "dauerregen",
            "大雨",
            "호우",
            "ливень",
            "hujan",
            "kraftigt regn",
        ),
    ),
    Category(
        "met.heat",
        "Extreme heat",
        ("Met", "Health"),
        _DISASTER,
        False,
        (
            _f("max_temp_c", "decimal", "expected maximum temperature, Celsius"),
            _f("heat_index_c", "decimal", "heat index, Celsius"),
            _f("duration_days", "int", "expected duration, days", minimum=1, maximum=90),
        ),
        ("EHW", "EHA"),
        ("heat", "hitze", "高温", "폭염", "жара"),
    ),
    Category(
        "met.storm",
        "Severe storm, wind, hail or tornado",
        ("Met",),
        _DISASTER,
        False,
        (
            _f("phenomenon", "text", "thunderstorm, gale, tornado, hail, ..."),
            _f("max_gust_kt", "decimal", "maximum gust, knots"),
        ),
        ("SVR", "SVA", "TOR", "TOA", "HWW", "HWA", "EWW", "SQW"),
        (
            "thunderstorm",
            "tornado",
            "wind",
            "gale",
            "hail",
            "squall",
            "gewitter",
            "böen",
            "sturm",
            "orkan",
            "暴風",
            "강풍",
            "storm",
            "blixt",
            "åska",
        ),
    ),
    Category(
        "met.winter",
        "Snow, ice or extreme cold",
        ("Met",),
        _DISASTER,
        False,
        (
            _f("snowfall_cm", "decimal", "expected snowfall, cm"),
            _f("min_temp_c", "decimal", "expected minimum temperature, Celsius"),
        ),
        ("BZW", "WSW", "WSA", "ECW"),
        (
            "snow",
            "blizzard",
            "ice storm",
            "icing",
            "frost",
            "freez",
            "cold wave",
            "extreme cold",
            "schnee",
            "glätte",
            "大雪",
            "대설",
        ),
    ),
    Category(
        "met.other",
        "Other weather hazard",
        ("Met",),
        _DISASTER,
        False,
        (),
        (),
        (),
    ),
    Category(
        "env.wildfire",
        "Wildfire",
        ("Fire",),
        _DISASTER,
        False,
        (
            _f("fire_name", "text", "name of the fire"),
            _f("area_ha", "decimal", "area burnt, hectares"),
            _f("containment_pct", "int", "containment, percent", minimum=0, maximum=100),
        ),
        ("FRW",),
        (
            "bushfire",
            "bush fire",
            "wildfire",
            "grass fire",
            "forest fire",
            "scrub fire",
            "waldbrand",
            "山火事",
            "산불",
        ),
    ),
    Category(
        "env.air-quality",
        "Air quality",
        ("Env", "Health"),
        _DAY,
        False,
        (
            _f("pollutant", "text", "pollutant, e.g. PM2.5, ozone, volcanic SO2"),
            _f("index", "text", "air quality index with its scale"),
        ),
        ("AQA",),
        ("air quality", "smog", "dust storm", "yellow dust", "황사", "黄砂"),
    ),
    Category(
        "industrial.chemical-release",
        "Chemical release",
        ("CBRNE", "Env"),
        _URGENT,
        True,
        (
            _f("substance", "text", "substance released", required=True),
            _f("cas_number", "text", "CAS registry number", pattern=r"^[0-9]{2,7}-[0-9]{2}-[0-9]$"),
            _f("un_number", "text", "UN number", pattern=r"^UN[0-9]{4}$"),
            _f("quantity_kg", "decimal", "quantity released, kg"),
            _f(
                "release",
                "enum",
                "whether there is a release",
                required=True,
                choices=YES_NO_UNKNOWN,
            ),
            _f("transboundary", "enum", "whether it may cross a border", choices=YES_NO_UNKNOWN),
            FACILITY,
        ),
        ("HMW",),
        ("chemical", "hazardous material", "hazmat", "toxic", "gas leak", "化学", "화학"),
    ),
    Category(
        "industrial.explosion",
        "Industrial explosion",
        ("CBRNE", "Safety"),
        _URGENT,
        True,
        (FACILITY, SUBSTANCE, DEAD, INJURED),
        (),
        ("explosion", "blast", "explosive", "爆発", "폭발", "взрыв"),
    ),
    Category(
        "industrial.fire",
        "Industrial fire",
        ("Fire", "Safety"),
        _DISASTER,
        True,
        (FACILITY, SUBSTANCE, DEAD, INJURED),
        (),
        ("industrial fire", "plant fire", "refinery fire", "factory fire"),
    ),
    Category(
        "nuclear.facility-event",
        "Event at a nuclear facility",
        ("CBRNE",),
        Deadlines(delivered_within=60 * SECOND, acknowledged_within=15 * MINUTE),
        True,
        (
            _f("facility", "text", "facility name", required=True),
            _f(
                "facility_type",
                "enum",
                "kind of facility",
                choices=(
                    "power-reactor",
                    "research-reactor",
                    "fuel-cycle",
                    "waste-management",
                    "transport",
                    "radioactive-source",
                    "other",
                ),
            ),
            _f("ines_level", "int", "INES level 0-7, where known", minimum=0, maximum=7),
            _f("ines_provisional", "bool", "whether the INES rating is provisional"),
            _f(
                "release",
                "enum",
                "whether radioactive material is released",
                required=True,
                choices=YES_NO_UNKNOWN,
            ),
            _f(
                "transboundary",
                "enum",
                "whether a transboundary release may occur (Early Notification Convention Art. 1)",
                choices=YES_NO_UNKNOWN,
            ),
            _f(
                "art5",
                "object",
                "Early Notification Convention Art. 5 data, as available",
                fields=ART5,
            ),
        ),
        ("NUW", "RHW"),
        ("nuclear", "radiolog", "radiation", "reactor", "原子力", "원자력", "ядерн"),
    ),
    Category(
        "security.terrorism",
        "Terrorist attack",
        ("Security",),
        _URGENT,
        True,
        (
            _f("attack_type", "text", "bombing, armed assault, vehicle ramming, CBRN, ..."),
            _f("ongoing", "bool", "whether the attack is ongoing"),
            LOCATION,
            DEAD,
            INJURED,
        ),
        (),
        ("terror", "テロ", "테러", "теракт"),
    ),
    Category(
        "security.mass-casualty",
        "Mass-casualty event",
        ("Security", "Rescue"),
        _URGENT,
        True,
        (_f("cause", "text", "cause of the event"), LOCATION, DEAD, INJURED, MISSING),
        ("MCE",),
        ("mass casualty", "mass-casualty"),
    ),
    Category(
        "security.major-event",
        "Security of a major event",
        ("Security",),
        _DAY,
        True,
        (
            _f("event_name", "text", "name of the event", required=True),
            _f("start", "ms", "start of the event"),
            _f("end", "ms", "end of the event"),
            _f("venue", "text", "venue"),
            _f("expected_attendance", "int", "expected attendance", minimum=0),
        ),
        (),
        ("major event", "summit", "olympic"),
    ),
    Category(
        "cyber.incident",
        "Cyber incident",
        ("Infra", "Security"),
        _DISASTER,
        True,
        (
            _f("sector", "text", "sector affected, e.g. energy, water, finance"),
            _f("affected_systems", "text", "systems or services affected"),
            _f(
                "impact",
                "enum",
                "functional impact",
                choices=("none", "minimal", "moderate", "significant", "severe", "unknown"),
            ),
            _f("incident_time", "ms", "when the incident began"),
            _f("attack_vector", "text", "how the attack was carried out"),
            _f("cves", "texts", "CVE identifiers involved", pattern=r"^CVE-[0-9]{4}-[0-9]{4,}$"),
        ),
        (),
        ("cyber", "ransomware", "malware", "ddos", "intrusion", "サイバー", "사이버"),
    ),
    Category(
        "cyber.exploited-vulnerability",
        "Exploited vulnerability",
        ("Infra", "Security"),
        _DAY,
        True,
        (
            _f(
                "cves",
                "texts",
                "CVE identifiers",
                required=True,
                pattern=r"^CVE-[0-9]{4}-[0-9]{4,}$",
            ),
            _f("vendor", "text", "vendor"),
            _f("product", "text", "product"),
            _f(
                "exploitation",
                "enum",
                "state of exploitation",
                choices=("active", "proof-of-concept", "none", "unknown"),
            ),
            _f("patch_available", "enum", "whether a fix exists", choices=YES_NO_UNKNOWN),
            _f("cvss", "decimal", "CVSS base score"),
        ),
        (),
        ("vulnerability", "exploit", "CVE-"),
    ),
    Category(
        "cyber.indicators",
        "Indicators of compromise",
        ("Security",),
        _DAY,
        False,
        (
            _f("indicator_count", "int", "number of indicators", minimum=0),
            _f("indicator_types", "texts", "STIX indicator types present"),
            _f("valid_until", "ms", "end of validity"),
        ),
        (),
        ("indicator", "ioc"),
    ),
    Category(
        "health.outbreak",
        "Disease outbreak",
        ("Health",),
        _DAY,
        True,
        (
            _f("pathogen", "text", "pathogen (agent), e.g. influenza A(H5N1)", required=True),
            _f("disease", "text", "disease"),
            _f("icd11", "text", "ICD-11 code"),
            _f("cases", "int", "cases, total", minimum=0),
            _f("confirmed_cases", "int", "laboratory-confirmed cases", minimum=0),
            _f("suspected_cases", "int", "suspected cases", minimum=0),
            _f("deaths", "int", "deaths", minimum=0),
            _f("first_onset", "ms", "onset of the first known case"),
            _f("human_to_human", "enum", "human-to-human transmission", choices=YES_NO_UNKNOWN),
            _f("ihr_notified", "bool", "whether WHO was notified under IHR (2005) Art. 6"),
        ),
        (),
        ("outbreak", "epidemic", "pandemic", "disease", "infection", "感染", "감염", "вспышка"),
    ),
    Category(
        "military.exercise-notice",
        "Prior notice of a military exercise",
        ("Security",),
        _DAY,
        True,
        (
            _f("exercise_name", "text", "exercise name"),
            _f("start", "ms", "start of the exercise", required=True),
            _f("end", "ms", "end of the exercise", required=True),
            _f("participants", "texts", "participating states or forces"),
            _f("personnel", "int", "number of personnel", minimum=0),
            _f("forces", "text", "forces and main equipment"),
            _f("live_fire", "bool", "whether live fire takes place"),
        ),
        (),
        ("military exercise", "exercise notice", "drill", "演習", "훈련", "учения"),
    ),
    Category(
        "military.launch-notice",
        "Prior notice of a missile or space launch",
        ("Security", "Transport"),
        _DISASTER,
        True,
        (
            _f(
                "vehicle",
                "enum",
                "what is launched",
                required=True,
                choices=("ballistic-missile", "cruise-missile", "space-launch-vehicle", "other"),
            ),
            _f("window_start", "ms", "start of the launch window", required=True),
            _f("window_end", "ms", "end of the launch window", required=True),
            _f("launch_area", "area", "launch site or area", required=True),
            _f(
                "hazard_areas",
                "areas",
                "impact or hazard areas: polygon, or circle + radius",
                required=True,
            ),
            _f("azimuth_deg", "decimal", "launch azimuth, degrees"),
            _f("payload", "text", "payload, if a space launch"),
        ),
        (),
        ("launch", "missile", "rocket", "satellite", "発射", "발사", "пуск"),
    ),
    Category(
        "maritime.encounter",
        "Unplanned encounter at sea",
        ("Security", "Transport"),
        _HOTLINE,
        True,
        (
            _f("position", "point", f"position, {POINT}"),
            _f("time", "ms", "time of closest approach"),
            _f("vessels", "objects", "vessels involved", fields=CRAFT),
            _f("closest_approach_m", "decimal", "closest approach, metres"),
            _f("nature", "text", "what happened"),
        ),
        (),
        ("encounter at sea", "vessel encounter", "collision at sea"),
    ),
    Category(
        "air.encounter",
        "Unplanned encounter in the air",
        ("Security", "Transport"),
        _HOTLINE,
        True,
        (
            _f("position", "point", f"position, {POINT}"),
            _f("time", "ms", "time of closest approach"),
            _f("aircraft", "objects", "aircraft involved", fields=CRAFT),
            _f("closest_approach_m", "decimal", "closest approach, metres"),
            _f("altitude_ft", "decimal", "altitude, feet"),
            _f("nature", "text", "what happened"),
        ),
        (),
        ("aircraft", "intercept", "air encounter"),
    ),
    Category(
        "maritime.search-rescue",
        "Search and rescue",
        ("Rescue", "Transport"),
        _URGENT,
        True,
        (
            _f("position", "point", f"last known position, {POINT}"),
            _f("persons", "int", "persons in distress", minimum=0),
            _f("vessel", "text", "vessel or aircraft in distress"),
            _f("rcc", "text", "rescue coordination centre in charge"),
            _f("assistance_requested", "bool", "whether assistance is requested"),
        ),
        (),
        ("search and rescue", "distress", "man overboard"),
    ),
    Category(
        "displacement.displaced",
        "People displaced",
        ("Safety", "Other"),
        _DAY,
        True,
        (
            _f("displaced", "int", "people displaced", required=True, minimum=0),
            _f("sheltered", "int", "people in shelters", minimum=0),
            _f("cause", "text", "cause of the displacement"),
            _f("as_of", "ms", "time the figures refer to"),
        ),
        (),
        ("displaced", "evacuees", "refugees", "避難", "대피"),
    ),
    Category(
        "general.other",
        "Other",
        ("Other",),
        _DISASTER,
        False,
        (),
        ("CEM", "LAE", "CDW"),
        (),
    ),
)

CATEGORIES: dict[str, Category] = {c.code: c for c in _CATEGORIES}
"""Every category by code, in the order of docs/formats.md."""

DEFAULT_CATEGORY = "general.other"

# When nothing names a category, the CAP <category> decides.
_CAP_FALLBACK = {"Met": "met.other", "Fire": "env.wildfire", "Health": "health.outbreak"}


def category(code: str) -> Category:
    """The category named ``code``; KeyError for an unknown one."""
    return CATEGORIES[code]


def is_category_pattern(pattern: str) -> bool:
    """Whether ``pattern`` names categories: a code (``geo.tsunami``) or a domain (``met.*``)."""
    if pattern in CATEGORIES:
        return True
    domain = pattern.removesuffix(".*")
    return domain != pattern and any(code.startswith(f"{domain}.") for code in CATEGORIES)


def matches_category(patterns: tuple[str, ...], code: str) -> bool:
    """Whether category ``code`` is named by one of ``patterns`` (exactly, or by its domain)."""
    domain = code.split(".", 1)[0]
    return any(pattern in (code, f"{domain}.*") for pattern in patterns)


def default_deadlines(code: str) -> Deadlines:
    """Default deadlines of a category (``hotline`` for hotline entries)."""
    if code == "hotline":
        return HOTLINE_DEADLINES
    return CATEGORIES[code].deadlines


def deadline_table() -> dict[str, dict[str, int]]:
    """Defaults of every category (and ``hotline``) as data, for a policy draft."""
    table = {code: c.deadlines.to_dict() for code, c in CATEGORIES.items()}
    table["hotline"] = HOTLINE_DEADLINES.to_dict()
    return table


def infer_category(
    events: list[str], cap_categories: list[str], event_codes: list[tuple[str, str]]
) -> str:
    """Find a Parley category for a CAP alert that does not name one.

    Order: our own event code; a SAME event code; keywords in the event names (all languages),
    in table order, so "tsunami" wins over "earthquake" and "storm surge" over "storm"; then a
    fallback from the CAP <category>; else ``general.other``.
    """
    for name, value in event_codes:
        if name == EVENT_CODE_NAME and value in CATEGORIES:
            return value
    same = {value.strip().upper() for name, value in event_codes if name.upper() == "SAME"}
    for cat in _CATEGORIES:
        if same.intersection(cat.same_codes):
            return cat.code
    text = " ".join(events).lower()
    for cat, pattern in _KEYWORD_PATTERNS:
        if pattern.search(text):
            return cat.code
    for cap in cap_categories:
        if cap in _CAP_FALLBACK:
            return _CAP_FALLBACK[cap]
    return DEFAULT_CATEGORY


# Keyword search order: specific before general (tsunami before earthquake, surge before storm,
# wildfire before industrial fire, heavy rain before flood).
_KEYWORD_ORDER: tuple[Category, ...] = tuple(
    CATEGORIES[c]
    for c in (
        "geo.tsunami",
        "met.storm-surge",
        "geo.volcano",
        "geo.earthquake",
        "geo.landslide",
        "met.tropical-cyclone",
        "met.heavy-rain",
        "met.flood",
        "env.wildfire",
        "met.heat",
        "met.winter",
        "env.air-quality",
        "nuclear.facility-event",
        "industrial.chemical-release",
        "industrial.explosion",
        "industrial.fire",
        "security.terrorism",
        "security.mass-casualty",
        "health.outbreak",
        "cyber.exploited-vulnerability",
        "cyber.incident",
        "military.launch-notice",
        "military.exercise-notice",
        "maritime.search-rescue",
        "displacement.displaced",
        "met.storm",
    )
)


def _keyword_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Latin and Cyrillic words match at the start of a word ("volcan" finds "volcanic", "wind"
    # finds "WINDBÖEN" and "windy"); CJK words, written without spaces, match anywhere.
    parts = [
        (r"(?<!\w)" if word[0].isalpha() and ord(word[0]) < 0x3000 else "")
        + re.escape(word.lower())
        for word in words
    ]
    return re.compile("|".join(parts) if parts else r"(?!)")


_KEYWORD_PATTERNS = tuple((c, _keyword_pattern(c.keywords)) for c in _KEYWORD_ORDER)
