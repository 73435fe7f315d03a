"""One vehicle vocabulary: every vendor's make, model, colour, body type and year in one taxonomy.

The gateway normalizes what a camera said at ingest (`ReadIn.vehicle_attributes`), records normalizes what a
hotlist says (NCIC VMA/VCO/VST) and what a search asks for, all through the pure `normalize_*` functions here, so
a `white` BMW `suv` means the same thing on a read, on a list entry and in a query. A value this vocabulary does
not know stays raw (its canonical value is None): it is never guessed, and never matches a search by accident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Literal, Protocol, get_args

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from libs.common.validation import text_problem

VehicleColor = Literal[
    "white", "black", "silver-gray", "red", "blue", "green", "yellow", "orange", "gold", "brown-beige", "purple",
    "pink",
]  # fmt: skip
VehicleBodyType = Literal[
    "sedan", "coupe", "hatchback", "wagon", "convertible", "suv-crossover", "minivan", "van", "pickup", "truck",
    "tractor-trailer", "bus", "motorcycle", "motorhome", "limousine",
]  # fmt: skip
VehicleAttribute = Literal["make", "model", "color", "body_type", "year"]

COLORS: tuple[str, ...] = get_args(VehicleColor)
BODY_TYPES: tuple[str, ...] = get_args(VehicleBodyType)
YEAR_MIN, YEAR_MAX = 1900, 2100
RAW_MAX = 200  # a vendor's raw value: longer is broken or hostile (as ReadIn's vehicle names)

# vendor and NCIC spellings, keyed by `_key` (case, accents and separators folded away)
_COLOR_ALIASES: dict[str, str] = {
    **{c: c for c in ("white", "black", "red", "blue", "green", "yellow", "orange", "gold", "purple", "pink")},
    "silvergray": "silver-gray", "silver": "silver-gray", "gray": "silver-gray", "grey": "silver-gray",
    "silvergrey": "silver-gray", "brown": "brown-beige", "beige": "brown-beige", "tan": "brown-beige",
    "brownbeige": "brown-beige", "goldbeige": "gold", "maroon": "red", "burgundy": "red", "violet": "purple",
    "cyan": "blue", "navy": "blue",
    # NCIC VCO (three letters; the first of a two-tone `WHI/BLK` is the main colour)
    "whi": "white", "blk": "black", "sil": "silver-gray", "gry": "silver-gray", "dbl": "blue", "lbl": "blue",
    "blu": "blue", "grn": "green", "dgr": "green", "lgr": "green", "yel": "yellow", "ong": "orange",
    "gld": "gold", "bro": "brown-beige", "bge": "brown-beige", "cpr": "brown-beige",
    "mar": "red", "ple": "purple", "lav": "purple", "pnk": "pink", "cre": "white", "tea": "blue", "trq": "blue",
}  # fmt: skip

_BODY_ALIASES: dict[str, str] = {
    **{b.replace("-", ""): b for b in BODY_TYPES},
    # OpenALPR / Rekor body_type names
    "sedanstandard": "sedan", "sedancompact": "sedan", "sedansports": "coupe", "sedanwagon": "wagon",
    "suv": "suv-crossover", "suvstandard": "suv-crossover", "crossover": "suv-crossover", "vanmini": "minivan",
    "vanfull": "van", "truckstandard": "pickup", "trucktractor": "tractor-trailer", "semitruck": "tractor-trailer",
    # Plate Recognizer `type`
    "bigtruck": "truck", "pickuptruck": "pickup",
    # Hikvision `vehicleType`
    "suvmpv": "suv-crossover", "mpv": "minivan", "largebus": "bus", "mediumbus": "bus", "smalltruck": "pickup",
    "lighttruck": "pickup", "largetruck": "truck", "heavytruck": "truck", "minibus": "van", "motorbike": "motorcycle",
    "saloon": "sedan", "estate": "wagon", "stationwagon": "wagon",
    # NCIC VST
    "2d": "coupe", "4d": "sedan", "cp": "coupe", "cv": "convertible", "hb": "hatchback", "sw": "wagon",
    "ut": "suv-crossover", "lm": "limousine", "pk": "pickup", "vn": "van", "mc": "motorcycle", "tt": "tractor-trailer",
    "tk": "truck", "bu": "bus", "mh": "motorhome", "mb": "bus",
}  # fmt: skip

# canonical make, then its vendor spellings and NCIC VMA codes
_MAKES: dict[str, tuple[str, ...]] = {
    "Acura": ("acur",), "Alfa Romeo": ("alfa", "alfaromeo"), "Audi": (), "BMW": (), "Buick": ("buic",),
    "Cadillac": ("cadi",), "Chevrolet": ("chev", "chevy"), "Chrysler": ("chry",), "Dodge": ("dodg",),
    "Fiat": (), "Ford": (), "Freightliner": ("frht",), "Genesis": ("gens",), "GMC": (), "Harley-Davidson": ("hd",
    "harley"), "Honda": ("hond",), "Hummer": ("humm",), "Hyundai": ("hyun",), "Infiniti": ("infi",),
    "International": ("intl",), "Isuzu": ("isu",), "Jaguar": ("jagu", "jag"), "Jeep": (), "Kawasaki": ("kawk",),
    "Kenworth": ("kw", "kenw"), "Kia": (), "Land Rover": ("lndr", "landrover"), "Lexus": ("lexs",),
    "Lincoln": ("linc",), "Mack": (), "Mazda": ("mazd",), "Mercedes-Benz": ("merz", "mercedes", "benz"),
    "Mercury": ("merc",), "Mini": (), "Mitsubishi": ("mits",), "Nissan": ("niss",), "Peterbilt": ("ptrb",),
    "Pontiac": ("pont",), "Porsche": ("pors",), "Ram": (), "Rivian": ("rivi",), "Saturn": ("satr",),
    "Scion": ("scio",), "Subaru": ("suba",), "Suzuki": ("suzi",), "Tesla": ("tesl",), "Toyota": ("toyt",),
    "Volkswagen": ("volk", "vw"), "Volvo": ("volv",), "Yamaha": ("yama",),
}  # fmt: skip

_SEPARATORS = re.compile(r"[\s_\-./]+")
_YEAR_RANGE = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")


def _key(raw: str) -> str:
    """Compatibility-normalized, case-folded, separators gone: `Mercedes_Benz` and `MERCEDES-BENZ` alike."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw).casefold())


_MAKE_BY_KEY: dict[str, str] = {
    alias: make for make, aliases in _MAKES.items() for alias in (_key(make), *(_key(a) for a in aliases))
}


def normalize_color(raw: str | None) -> VehicleColor | None:
    """The taxonomy colour a vendor's or NCIC's colour names, or None when unknown (never a guess)."""
    if not raw:
        return None
    main = re.split(r"[/&,]", raw, maxsplit=1)[0]  # two-tone `WHI/BLK`: the main colour
    found = _COLOR_ALIASES.get(_key(main))
    return found  # type: ignore[return-value]  # the table holds only VehicleColor values


def normalize_body_type(raw: str | None) -> VehicleBodyType | None:
    """The taxonomy body type a vendor's type or an NCIC VST code names, or None when unknown."""
    if not raw:
        return None
    return _BODY_ALIASES.get(_key(raw))  # type: ignore[return-value]  # the table holds only VehicleBodyType values


def normalize_make(raw: str | None) -> str | None:
    """The canonical make (`BMW`, `Mercedes-Benz`) a vendor name or NCIC VMA code names, or None when unknown."""
    if not raw:
        return None
    key = _key(raw)
    if key in _MAKE_BY_KEY:
        return _MAKE_BY_KEY[key]
    # OpenALPR's `make_model` carries the make first (`bmw_x3`, `land-rover_range-rover`): a known make's words only
    words = _SEPARATORS.split(unicodedata.normalize("NFKC", raw).casefold().strip())
    for count in (2, 1):
        if len(words) > count and "".join(words[:count]) in _MAKE_BY_KEY:
            return _MAKE_BY_KEY["".join(words[:count])]
    return None


def normalize_model(raw: str | None, *, make: str | None = None) -> str | None:
    """A model as lower-case words (`bmw_x3` → `x3`, `F-150` → `f 150`), the make's name taken off its front."""
    if not raw:
        return None
    words = _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", raw).casefold()).strip().split(" ")
    # the leading words that spell the make go (`land_rover_range_rover` → `range rover`), never the whole name
    for count in (2, 1):
        if make and len(words) > count and _MAKE_BY_KEY.get("".join(words[:count])) == make:
            words = words[count:]
            break
    return " ".join(w for w in words if w) or None


def normalize_year(raw: str | int | None) -> tuple[int, int] | None:
    """A model year or range (`2012`, `2010-2014`) as (first, last) within 1900–2100, else None."""
    if raw is None or raw == "":
        return None
    match = _YEAR_RANGE.match(str(raw))
    if not match:
        return None
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not YEAR_MIN <= first <= last <= YEAR_MAX:
        return None
    return first, last


class VehicleAttributes(BaseModel):
    """A vehicle in the shared taxonomy, with the vendor's raw values and per-attribute confidence (0–1).

    An attribute the vendor sent but this vocabulary does not know has its raw value and no canonical one.
    """

    make: str | None = None  # canonical make, `normalize_make`
    model: str | None = None  # lower-case words, `normalize_model`
    color: VehicleColor | None = None
    body_type: VehicleBodyType | None = None
    year_from: int | None = Field(default=None, ge=YEAR_MIN, le=YEAR_MAX)
    year_to: int | None = Field(default=None, ge=YEAR_MIN, le=YEAR_MAX)
    confidence: dict[VehicleAttribute, float] = Field(default_factory=dict)  # the vendor's, scaled to 0–1
    raw: dict[VehicleAttribute, str] = Field(default_factory=dict)  # what the vendor or list said

    @field_validator("confidence")
    @classmethod
    def _unit_interval(cls, value: dict[str, float]) -> dict[str, float]:
        for score in value.values():
            if not 0.0 <= score <= 1.0:  # NaN fails this too
                raise PydanticCustomError("confidence_out_of_range", "a confidence lies between 0 and 1")
        return value

    @field_validator("make", "model", "raw")
    @classmethod
    def _text(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        for said in value.values() if isinstance(value, dict) else [value] if value else []:
            problem = text_problem(said)
            if problem is not None:
                raise PydanticCustomError("invalid_text", "the text contains a {problem}", {"problem": problem})
            if len(said) > RAW_MAX:
                raise PydanticCustomError("text_too_long", "the text is longer than {limit} characters",
                                          {"limit": RAW_MAX})  # fmt: skip
        return value

    def is_empty(self) -> bool:
        """True when the vendor said nothing about the vehicle at all."""
        return not self.raw

    def described(self) -> str:
        """The vehicle in words, as an officer reads it: `white Toyota sedan`, `red 2014 Ford pickup`."""
        year = None if self.year_from is None else (
            str(self.year_from) if self.year_to in (None, self.year_from) else f"{self.year_from}-{self.year_to}"
        )  # fmt: skip
        words = [self.color, year, self.make, self.model, self.body_type]
        return " ".join(w for w in words if w) or "vehicle of unknown description"


def normalize_vehicle(said: Mapping[VehicleAttribute, tuple[str | None, float | None]]) -> VehicleAttributes:
    """What a vendor or list said, as attribute → (raw value, confidence 0–1 or None), in the taxonomy.

    `make` may be omitted when `model` carries it (`bmw_x3`); confidence is kept only for a value that was said.
    """
    raw = {name: value.strip() for name, (value, _) in said.items() if value and value.strip()}
    confidence = {name: score for name, (value, score) in said.items() if name in raw and score is not None}
    # the model names the make only when no make was said: a make we do not know is not overruled by a guess
    make = normalize_make(raw["make"]) if "make" in raw else normalize_make(raw.get("model"))
    years = normalize_year(raw.get("year"))
    return VehicleAttributes(
        make=make,
        model=normalize_model(raw.get("model"), make=make),
        color=normalize_color(raw.get("color")),
        body_type=normalize_body_type(raw.get("body_type")),
        year_from=years[0] if years else None,
        year_to=years[1] if years else None,
        confidence=confidence,
        raw=raw,
    )


class VehicleClassifier(Protocol):
    """The seam where our recognizer could later see colour and body type in the vehicle image (issue 30, item 4).

    Not built: the recognizer has no such model yet. An implementation takes the vehicle crop's bytes and
    returns what it saw as `VehicleAttributes` (raw = its own labels, confidence its scores), which records
    would keep beside the vendor's, as `our_plate` sits beside the vendor's plate.
    """

    async def classify(self, vehicle_image: bytes) -> VehicleAttributes:
        """What the vehicle in the image looks like."""
        ...
