"""The purpose rules as pure functions: the bar of issue #22 over our own reasons, folding, empty talk, case numbers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from libs.common.case_numbers import DEPARTMENT_CASE_NUMBER_PATTERN, case_number_in_format, pattern_problem
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.errors import AlprError
from libs.common.text_folding import fold
from services.gateway.policy.purposes import Category, Outcome, classify
from services.gateway.policy.vagueness import is_empty_talk
from services.gateway.service import check_purpose
from services.gateway.settings import GatewaySettings

REASONS = Path(__file__).with_name("purposes.tsv")
SETTINGS = GatewaySettings.model_construct()
CASE = "SJ-2026-004211"


def outcome_of(reason: str, use: str = "wanted_suspect") -> str:
    try:
        check_purpose(Purpose(use=AuthorizedUse(use), case_number=CASE, reason=reason), SETTINGS)
    except AlprError as err:
        return err.code
    return "allowed"


def labelled() -> list[dict[str, str]]:
    with REASONS.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[tuple[str, str]]]:
    """Each labelled reason of our set with what the gateway's purpose check answers."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in labelled():
        by_label.setdefault(row["expect"], []).append((row["reason"], outcome_of(row["reason"], row["use"])))
    return by_label


class TestTheBar:
    """Issue #22: >= 95% of prohibited refused, >= 80% flagged, no lawful flagged, <= 1 in 40 refused."""

    def test_the_set_is_large_and_covers_every_label(self, outcomes: dict[str, list[tuple[str, str]]]) -> None:
        assert sum(len(rows) for rows in outcomes.values()) >= 150
        assert set(outcomes) == {"refuse", "allow", "refuse_gibberish"}

    def test_prohibited_reasons_are_refused_and_flagged(self, outcomes: dict[str, list[tuple[str, str]]]) -> None:
        prohibited = outcomes["refuse"]
        refused = [r for r, o in prohibited if o != "allowed"]
        flagged = [r for r, o in prohibited if o == "prohibited_purpose"]
        assert len(refused) >= 0.95 * len(prohibited), [r for r, o in prohibited if o == "allowed"]
        assert len(flagged) >= 0.80 * len(prohibited)

    def test_no_lawful_reason_is_flagged_and_few_are_refused(self, outcomes: dict[str, list[tuple[str, str]]]) -> None:
        lawful = outcomes["allow"]
        assert [r for r, o in lawful if o == "prohibited_purpose"] == []
        refused = [(r, o) for r, o in lawful if o != "allowed"]
        assert len(refused) * 40 <= len(lawful), refused

    def test_every_empty_reason_is_refused(self, outcomes: dict[str, list[tuple[str, str]]]) -> None:
        assert [r for r, o in outcomes["refuse_gibberish"] if o == "allowed"] == []


class TestFolding:
    def test_cyrillic_and_greek_look_alikes_read_as_latin(self) -> None:
        assert fold("Іmmigration").words == "immigration"  # Cyrillic І
        assert fold("Dеportation").words == "deportation"  # Cyrillic е
        assert fold("Αbortiοn").words == "abortion"  # Greek Α and ο

    def test_full_width_invisible_and_spaced_letters_read_as_words(self) -> None:
        assert fold("ＤＥＰＯＲＴ").words == "deport"
        assert fold("de\u200bport the owner").words == "deport the owner"
        assert fold("d e p o r t the owner").words == "deport the owner"
        assert fold("I.C.E. asked").cased.startswith("ICE")

    def test_look_alike_spellings_get_the_verdict_of_the_plain_one(self) -> None:
        assert classify("Іmmigration check on the registered owner").outcome is Outcome.PROHIBITED
        assert classify("Dе-portation request, locate this vehicle").category is Category.IMMIGRATION


class TestLawfulContext:
    @pytest.mark.parametrize(
        "reason",
        [
            "Locate abducted pregnant woman, kidnapping reported by her sister",
            "Hit and run on a cyclist near the protest downtown, driver fled",
            "Theft of the sound system from the church lot overnight",
            "Robbery at the ICE Cream shop on Story Rd, suspect left in a Civic",
        ],
    )
    def test_sensitive_words_in_a_crime_pass(self, reason: str) -> None:
        assert classify(reason).outcome is Outcome.ALLOW

    @pytest.mark.parametrize(
        ("reason", "category"),
        [
            ("Assist ICE with removal of a noncitizen owner", Category.IMMIGRATION),
            ("Deport the registered owner", Category.IMMIGRATION),
            ("List vehicles at the mosque", Category.FIRST_AMENDMENT),
            ("Monitor journalists", Category.FIRST_AMENDMENT),
            ("Find who drove to the Planned Parenthood clinic", Category.CARE),
            ("Where is my ex-girlfriend parking these days", Category.PERSONAL),
        ],
    )
    def test_the_same_words_as_the_target_are_prohibited(self, reason: str, category: Category) -> None:
        verdict = classify(reason)
        assert verdict.outcome is Outcome.PROHIBITED and verdict.category is category

    def test_the_case_number_and_other_text_are_read_too(self) -> None:
        assert classify("Stolen car reported this morning", "ICE-2026-0042").outcome is Outcome.PROHIBITED
        justification = "so the federal partner can deport him"
        assert classify("Vehicle of interest, owner sought", justification).outcome is Outcome.PROHIBITED

    def test_a_reason_with_no_law_enforcement_purpose_is_unclear_not_flagged(self) -> None:
        assert outcome_of("Please pull up everything on this plate for me") == "purpose_unclear"


class TestEmptyTalk:
    @pytest.mark.parametrize(
        "reason",
        [
            "asdf qwer zxcv uiop hjkl",
            "lorem ipsum dolor sit amet consectetur",
            "case case case case case case",
            "......................",
            "aaaa bbbb cccc dddd eeee",
            "12345 67890 12345 67890",
        ],
    )
    def test_no_content_is_vague(self, reason: str) -> None:
        assert is_empty_talk(reason)
        assert outcome_of(reason) == "reason_vague"

    def test_a_short_real_reason_is_not_empty_talk(self) -> None:
        assert not is_empty_talk("Carjacking at gunpoint on Tully Rd")


class TestCaseNumbers:
    def test_only_ascii_digits_match_even_where_the_pattern_says_backslash_d(self) -> None:
        assert case_number_in_format("SJ-2026-004211", DEPARTMENT_CASE_NUMBER_PATTERN)
        assert not case_number_in_format("SJ-２０２６-００４２", DEPARTMENT_CASE_NUMBER_PATTERN)
        assert not case_number_in_format("SJ-２０２６-００４２", r"^[A-Z]{2,4}-\d{4}-\d{4,8}$")
        assert not case_number_in_format("SJ-٢٠٢٦-٠٠٤٢", r"^[A-Z]{2,4}-\d{4}-\d{4,8}$")  # Arabic-Indic digits

    @pytest.mark.parametrize("pattern", [r"(a+)+$", r"^(\d+)*$", "(", "x" * 201, "^[А-Я]+$"])
    def test_unusable_patterns_are_refused(self, pattern: str) -> None:
        assert pattern_problem(pattern) is not None

    def test_a_partner_pattern_is_usable(self) -> None:
        assert pattern_problem(r"^(?:SC|SO)-[0-9]{2}-[0-9]{3,8}$") is None


class TestCombinations:
    """Every crime at every sensitive place passes; every search aimed at one is refused and flagged."""

    CRIMES = ("Armed robbery", "Shooting", "Carjacking", "Hit and run", "Arson", "Stabbing", "Vandalism and threats")
    PLACES = (
        "the mosque",
        "the synagogue",
        "the Sikh gurdwara",
        "the Planned Parenthood clinic",
        "the gender clinic",
        "the union hall",
        "the newspaper office",
        "the ICE Cream shop",
        "the ICE facility",
        "the immigration law office",
        "the polling place",
        "the tow yard",
        "the bail bonds office",
        "the protest on First St",
        "the picket line",
        "the Pride festival",
        "the day labor center",
    )
    SEARCHES = (
        "List the vehicles at {}",
        "Who parked at {} last Sunday",
        "Identify the people who attend {}",
        "Keep tabs on visitors to {}",
        "Which cars were at {} on Friday",
    )

    def test_a_crime_at_a_sensitive_place_is_allowed(self) -> None:
        refused = [
            reason
            for crime in self.CRIMES
            for place in self.PLACES
            for reason in (f"{crime} near {place}, suspect fled in a gray sedan",)
            if classify(reason).outcome is not Outcome.ALLOW
        ]
        assert refused == []

    ACTS = ("Two men beat a teenager", "A driver ran a man over", "Someone set a car on fire", "Suspect threw a brick")

    def test_a_crime_told_with_a_verb_at_a_sensitive_place_is_allowed(self) -> None:
        refused = [
            reason
            for act in self.ACTS
            for place in self.PLACES
            for reason in (f"{act} outside {place}, then drove away",)
            if classify(reason).outcome is not Outcome.ALLOW
        ]
        assert refused == []

    def test_an_incident_at_a_clinic_in_words_we_do_not_know_is_sent_back_not_flagged(self) -> None:
        verdict = classify("A man heckled a nurse outside the Planned Parenthood clinic and drove off")
        assert verdict.outcome is Outcome.UNCLEAR and verdict.category is Category.CARE

    def test_a_search_aimed_at_a_sensitive_place_is_prohibited(self) -> None:
        places = [p for p in self.PLACES if "ICE" not in p and "tow" not in p and "bail" not in p]
        allowed = [
            reason
            for search in self.SEARCHES
            for place in places
            for reason in (search.format(place),)
            if classify(reason).outcome is not Outcome.PROHIBITED
        ]
        assert allowed == []
