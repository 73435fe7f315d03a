"""Search's SQL: a query as predicates, the newest reads matching them, held copies, the plate-day map."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.contracts.reads import normalize_plate
from libs.common.contracts.search import Area, SearchQuery, VehicleQuery
from libs.common.db import driver_fetchval
from libs.common.errors import InvalidInput
from services.records.lookalike import DEFAULT_LOOKALIKES, LookalikeClasses, lookalike_key
from services.records.repository.reads import HELD_FOR_CASE, utc_day
from services.records.service import area_shape, check_partial, query_plate

_SUMMARY = (
    "read_id::text AS read_id, captured_at, plate, our_plate, state, confidence, agency, camera_id, "
    "latitude, longitude, location_from_camera, has_image, vehicle_attributes, version, supersedes::text AS supersedes"
)
# an exact plate probes its newest days first; a page needs at most one day per missing read, and a plate
# seen many times a day needs fewer: the next statement probes as many days as the rate so far says
FIRST_DAYS = 48
# runs of consecutive days per statement: one statement text, so one generic plan per connection, whose
# run-time pruning opens only the partitions the spans name (a custom plan costs ~0.3 ms per partition).
# Each opened partition sets up every span as its filter: with 64 spans a partition cost ~60 us, with 16
# ~12 us, so a plate seen on scattered days takes a few more, cheaper statements (issue #8). Bridging
# short gaps (probing days the plate was not seen) measured no better: each costs index pages to read.
DAY_SPANS = 16
_NO_SPAN = datetime(1, 1, 1, tzinfo=UTC)  # an empty span, captured_at >= x AND captured_at < x: no partition


async def search_reads(
    session: AsyncSession,
    *,
    predicates: SearchPredicates,
    since: datetime,
    until: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
    held_case: str | None = None,
    held_before: datetime | None = None,
    unmatched_before: datetime | None = None,
    generic_plan: bool = True,
    exact_plate: str | None = None,
) -> list[dict[str, Any]]:
    """Newest versions of reads, newest first, keyset-paginated on (captured_at, read_id).

    A read matches the predicates' `where` and any one of their `arms` (disjoint predicates, each asked on its
    own index in a union: an OR of them planned a bitmap of both indexes in every partition; see migration 0006
    for the figures).
    With `held_case`, held copies whose partition is gone join in, only those a hold of that case keeps; with
    `held_before` too (B2: the search reaches past the searcher's look-back under a held case), reads captured
    before it are found only when a hold of that case keeps them.
    With `unmatched_before` (B5's cap is on), a read that matched no hotlist and was captured before it is kept
    only because a hold keeps it, so it is found only by a search under that hold's case, like a held copy.
    `generic_plan=False` for predicates whose best plan depends on the value (a partial plate's pattern).
    With `exact_plate` (the predicates ask for it), only the day partitions the plate-day map names are probed.
    """
    where, params, arms = predicates
    base = ["superseded_by IS NULL", *where]
    bind = {**params, "since": held_before or since, "until": until, "limit": limit}
    if after is not None:
        base.append("(captured_at, read_id) < (:after_t, CAST(:after_id AS uuid))")
        bind.update(after_t=after[0], after_id=after[1])
    clauses = ["captured_at >= :since", "captured_at < :until", *base]
    if unmatched_before is not None:
        clauses.append("(hotlist_hit OR captured_at >= :unmatched_before)")
        bind["unmatched_before"] = unmatched_before
    if exact_plate is not None:
        rows = await _reads_on_plate_days(session, exact_plate, clauses, arms, bind, limit)
    else:
        if generic_plan:
            # a plan for hundreds of daily partitions costs more than running it: plan once per connection
            await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        rows = [dict(r._mapping) for r in await session.execute(text(_newest_reads(clauses, arms)), bind)]
    if held_case is not None:
        either = [f"(({') OR ('.join(arms)}))"] if arms else []  # held copies are few: one statement of both
        rows += await _held_for_case(
            session, [*base, *either], {**bind, "since": since}, held_case, held_before, unmatched_before
        )
        rows.sort(key=lambda r: (r["captured_at"], r["read_id"]), reverse=True)
    return rows[:limit]


_NEWEST_FIRST = "ORDER BY captured_at DESC, read_id DESC LIMIT :limit"


def _newest_reads(clauses: list[str], arms: Sequence[str]) -> str:
    """The newest reads matching every clause and any one arm, each arm a statement of its own in a union."""
    selects = [
        f"SELECT {_SUMMARY} FROM reads WHERE {' AND '.join([*clauses, arm])} {_NEWEST_FIRST}" for arm in arms
    ] or [f"SELECT {_SUMMARY} FROM reads WHERE {' AND '.join(clauses)} {_NEWEST_FIRST}"]
    if len(selects) == 1:
        return selects[0]
    return f"SELECT * FROM ({' UNION ALL '.join(f'({s})' for s in selects)}) AS found {_NEWEST_FIRST}"


async def _held_for_case(
    session: AsyncSession,
    base: list[str],
    bind: dict[str, Any],
    case: str,
    held_before: datetime | None,
    unmatched_before: datetime | None,
) -> list[dict[str, Any]]:
    """Reads a hold of this case keeps: its held copies in the window, and the live reads only a hold keeps
    visible (before `held_before`; unmatched before `unmatched_before`)."""
    # retention's repository builds on this module: its rule of what a hold keeps is imported when needed
    from services.records.retention.repository import HELD_BY

    where = " AND ".join(["captured_at >= :since", "captured_at < :until", *base])
    sql = f"SELECT {_SUMMARY} FROM held_reads WHERE {where} AND {HELD_FOR_CASE} {_NEWEST_FIRST}"
    only_held = [
        *(["captured_at < :held_before"] if held_before is not None else []),
        *(["(NOT hotlist_hit AND captured_at < :unmatched_before)"] if unmatched_before is not None else []),
    ]
    if only_held:
        live = (
            f"SELECT {_SUMMARY} FROM reads r WHERE {where} AND ({' OR '.join(only_held)}) AND EXISTS (SELECT 1 "
            f"FROM legal_holds h WHERE h.case_number = :held_case AND {HELD_BY}) {_NEWEST_FIRST}"
        )
        sql = f"SELECT * FROM (({sql}) UNION ALL ({live})) AS held {_NEWEST_FIRST}"
    bind = {**bind, "held_case": case, "held_before": held_before, "unmatched_before": unmatched_before}
    result = await session.execute(text(sql), bind)
    return [dict(r._mapping) for r in result]


async def _reads_on_plate_days(
    session: AsyncSession, plate: str, clauses: list[str], arms: Sequence[str], bind: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Reads of one plate, probing only the days the plate-day map names, newest days first."""
    # on the driver itself, inside the session's transaction, prepared once per connection: through
    # SQLAlchemy each statement of dozens of parameters cost about 1.5 ms more than PostgreSQL's work (issue #8)
    last = min(bind.get("after_t", bind["until"]), bind["until"])
    # one round trip: the plan mode for the statements that follow, and the plate's days (it may begin the
    # transaction too)
    conn, days = await driver_fetchval(session, _PLATE_DAYS, plate, utc_day(bind["since"]), utc_day(last))
    days = list(days or [])
    spans = " OR ".join(f"(captured_at >= :span{i}_lo AND captured_at < :span{i}_hi)" for i in range(DAY_SPANS))
    sql, names = _positional(_newest_reads([*clauses, f"({spans})"], arms))
    found: list[dict[str, Any]] = []
    most = FIRST_DAYS
    while days and len(found) < limit:
        span_bind, rest = _day_spans(days, most)
        values = {**bind, **span_bind, "limit": limit - len(found)}
        page = [dict(r) for r in await conn.fetch(sql, *(values[n] for n in names))]
        found += page
        per_day = len(page) / (len(days) - len(rest))
        # a day the map names holds at least one read (unless purged since): no margin is needed below that
        needed = (limit - len(found)) / per_day * 1.25 if per_day > 1 else limit - len(found)
        most, days = max(math.ceil(needed), FIRST_DAYS), rest
    return found


_PLATE_DAYS = (
    "SELECT ARRAY(SELECT day FROM read_plate_days WHERE plate = $1 AND day >= $2 AND day <= $3 ORDER BY day DESC) "
    "FROM set_config('plan_cache_mode', 'force_generic_plan', true)"
)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=64)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """The driver's form of a statement with :named parameters: $n placeholders, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


def _day_spans(days: list[date], most: int) -> tuple[dict[str, datetime], list[date]]:
    """Bounds of up to DAY_SPANS runs of consecutive days from `days` (newest first, at most `most` of
    them), padded with empty spans; and the days left for the next statement."""
    runs: list[list[date]] = []
    taken = 0
    for day in days[:most]:
        if runs and runs[-1][0] - timedelta(days=1) == day:
            runs[-1][0] = day
        elif len(runs) == DAY_SPANS:
            break
        else:
            runs.append([day, day])
        taken += 1
    bind = {}
    for i in range(DAY_SPANS):
        first, last = runs[i] if i < len(runs) else (None, None)
        bind[f"span{i}_lo"] = _day_start(first) if first else _NO_SPAN
        bind[f"span{i}_hi"] = _day_start(last + timedelta(days=1)) if last else _NO_SPAN
    return bind, days[taken:]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


class SearchPredicates(NamedTuple):
    """A search as SQL: predicates every found read meets, their bound values, and the plate's arms."""

    where: list[str]
    params: dict[str, Any]
    arms: list[str]


def search_predicates(query: SearchQuery, classes: LookalikeClasses = DEFAULT_LOOKALIKES) -> SearchPredicates:
    """SQL predicates (bound parameters only) for a validated search query, and the plate's arms.

    Exact and look-alike plates match our recognizer's reading as well as the vendor's: one arm each, each on
    its own index (ours covers only reads where the two differ, so no read is found twice); a read matches
    the `where` predicates and any one arm (no arm: every read).
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    arms: list[str] = []
    # no plate is None (A4: the gateway asks a supervisor first); an empty one is refused, never read as "any"
    if query.plate is not None:
        plate = query_plate(query.plate)
        if query.match == "exact":
            arms = ["plate = :plate", "our_plate = :plate AND our_plate IS DISTINCT FROM plate"]
            params["plate"] = _named_plate(normalize_plate(plate))
        elif query.match == "lookalike":
            key = lookalike_key(_named_plate(normalize_plate(plate)), classes)
            arms = [
                "lookalike_key = :lkey",
                "our_lookalike_key = :lkey AND our_lookalike_key IS DISTINCT FROM lookalike_key",
            ]
            params["lkey"] = key
        else:
            check_partial(plate)
            pattern = plate.replace("%", "").replace("_", "").replace("*", "%").replace("?", "_")
            if "%" not in pattern and "_" not in pattern:
                pattern = f"%{pattern}%"
            where.append("plate LIKE :pattern")
            params["pattern"] = pattern
    if query.cameras:
        where.append("camera_id = ANY(:cameras)")
        params["cameras"] = list(query.cameras)
    if query.state:
        where.append("state = :state")
        params["state"] = query.state.upper()
    if query.area:
        where.extend(_area_predicates(query.area, params))
    if query.vehicle:
        where.extend(_vehicle_predicates(query.vehicle, params))
    return SearchPredicates(where, params, arms)


def _named_plate(plate: str) -> str:
    """An exact or look-alike plate, normalized; one with no letter or digit left is refused."""
    if not any(ch.isalnum() for ch in plate):
        raise InvalidInput("the plate names no letter or digit once separators are removed", code="plate_too_short")
    return plate


# the searched attributes and their columns (migration 0009), in the order of the indexes' keys
_VEHICLE_COLUMNS = {"make": "vehicle_make", "color": "vehicle_color", "body_type": "vehicle_body_type"}


def _vehicle_predicates(vehicle: VehicleQuery, params: dict[str, Any]) -> list[str]:
    """Equality on each named attribute (already in our vocabulary), a range on the model year."""
    where = []
    for name, column in (*_VEHICLE_COLUMNS.items(), ("model", "vehicle_model")):
        value = getattr(vehicle, name)
        if value is not None:
            where.append(f"{column} = :v_{name}")
            params[f"v_{name}"] = value
    # a read's model years are a range (a vendor may say `2010-2014`): it matches when the ranges overlap
    if vehicle.year_from is not None:
        where.append("vehicle_year_to >= :v_year_from")
        params["v_year_from"] = vehicle.year_from
    if vehicle.year_to is not None:
        where.append("vehicle_year_from <= :v_year_to")
        params["v_year_to"] = vehicle.year_to
    return where


def _area_predicates(area: Area, params: dict[str, Any]) -> list[str]:
    if area_shape(area) == "circle":
        assert area.lat is not None and area.lon is not None and area.radius_m
        # a bounding box prefilter, then the great-circle distance
        dlat = area.radius_m / 111_320.0
        dlon = area.radius_m / (111_320.0 * max(math.cos(math.radians(area.lat)), 0.01))
        params.update(
            min_lat=area.lat - dlat,
            max_lat=area.lat + dlat,
            min_lon=area.lon - dlon,
            max_lon=area.lon + dlon,
            c_lat=area.lat,
            c_lon=area.lon,
            radius=area.radius_m,
        )
        return [
            "latitude BETWEEN :min_lat AND :max_lat",
            "longitude BETWEEN :min_lon AND :max_lon",
            "2 * 6371000 * asin(sqrt(power(sin(radians(latitude - :c_lat) / 2), 2) + cos(radians(:c_lat)) "
            "* cos(radians(latitude)) * power(sin(radians(longitude - :c_lon) / 2), 2))) <= :radius",
        ]
    params.update(min_lat=area.min_lat, max_lat=area.max_lat, min_lon=area.min_lon, max_lon=area.max_lon)
    return ["latitude BETWEEN :min_lat AND :max_lat", "longitude BETWEEN :min_lon AND :max_lon"]
