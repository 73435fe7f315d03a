"""G1/G2: the policy with its version, and the transparency page: HTML for people, JSON with the same figures."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.purpose import AuthorizedUse
from libs.common.contracts.transparency import FIGURES
from libs.common.validation import retention_cutoff
from services.cli.seed import DEV_PARTNER_ORI
from services.gateway.api.public.transparency import PageCache
from tests.services.gateway.test_alert_routes import listed_plate, raise_alert
from tests.services.gateway.test_first_path import PURPOSE, post_read, unique_plate, window
from tests.utils.corrections import image_view, read_with_image

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHIPPED = Path(__file__).resolve().parents[3] / "services" / "gateway" / "policy" / "POLICY.md"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "POLICY.md"


async def test_the_policy_is_public_with_its_version_uses_and_permission_matrix(system) -> None:
    response = await system.gateway.get("/public/policy")
    assert response.status_code == 200
    page = response.json()
    text = SHIPPED.read_text(encoding="utf-8")
    assert page["text"] == text and "4207" in text
    assert page["version"] == "L4207-2016-11-04"
    assert page["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert set(page["authorized_uses"]) == {u.value for u in AuthorizedUse}
    assert page["permissions"]["reads:search"] == ["analyst", "officer"]
    assert page["purpose_rules"]["min_reason_length"] == 20


async def test_the_policy_as_markdown(system) -> None:
    response = await system.gateway.get("/public/policy", headers={"Accept": "text/markdown"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert response.headers["x-policy-version"] == "L4207-2016-11-04"
    assert response.text == SHIPPED.read_text(encoding="utf-8")


async def test_the_shipped_policy_is_the_departments(system) -> None:
    if not SHARED.exists():
        pytest.skip("the shared policy folder is not beside this checkout")
    assert SHIPPED.read_bytes() == SHARED.read_bytes()


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DEV_PARTNER = "Santa Clara County Sheriff"


def fresh(system: Any) -> None:
    """Drop the gateway's cached page, so the next request asks the services again."""
    system.runtime("gateway").transparency = PageCache()


async def page_json(system: Any) -> dict[str, Any]:
    fresh(system)
    response = await system.gateway.get("/public/transparency")
    assert response.status_code == 200, response.text
    return dict(response.json())


def this_month(page: dict[str, Any]) -> dict[str, int]:
    assert page["months"][-1]["month"] == datetime.now(UTC).strftime("%Y-%m")
    return dict(page["months"][-1]["counts"])


async def until_counted(system: Any, before: dict[str, int], figures: set[str]) -> dict[str, int]:
    """This month's counts once every figure named has grown (the audit writer persists asynchronously)."""
    now: dict[str, int] = {}
    for _ in range(100):
        now = this_month(await page_json(system))
        if all(now[f] > before[f] for f in figures):
            break
        await asyncio.sleep(0.05)
    return now


class TestThePolicyPage:
    async def test_a_browser_gets_the_policy_as_a_page_with_its_version_and_digest(self, system) -> None:
        response = await system.gateway.get("/public/policy", headers=BROWSER)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        text = SHIPPED.read_text(encoding="utf-8")
        page = response.text
        assert "L4207-2016-11-04" in page and hashlib.sha256(text.encode()).hexdigest() in page
        assert "<h2>Authorized Uses</h2>" in page and '<ol start="1">' in page
        assert "Locate at-risk missing persons (including responding to Amber and Silver Alerts);" in page
        for landmark in ("<header>", "<nav ", "<main ", "<footer>"):
            assert landmark in page
        assert "<script" not in page and "script-src" not in response.headers["content-security-policy"]

    async def test_a_known_etag_gets_304(self, system) -> None:
        first = await system.gateway.get("/public/policy", headers=BROWSER)
        again = await system.gateway.get("/public/policy", headers={**BROWSER, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


class TestTransparencyJson:
    async def test_twelve_months_the_partner_by_name_and_retention_from_the_cutoff_function(self, system) -> None:
        page = await page_json(system)
        months = [m["month"] for m in page["months"]]
        assert len(months) == 12 and months == sorted(months) and len(set(months)) == 12
        assert months[-1] == datetime.now(UTC).strftime("%Y-%m")
        for month in page["months"]:
            assert set(month["counts"]) == set(FIGURES)
            assert all(isinstance(n, int) and n >= 0 for n in month["counts"].values())  # zeros, never gaps
        assert page["not_available"] == []
        partner = next(p for p in page["partners"] if p["ori"] == DEV_PARTNER_ORI)
        assert partner["name"] == DEV_PARTNER
        starts = datetime.fromisoformat(partner["agreement_starts"])
        assert starts < datetime.now(UTC) < datetime.fromisoformat(partner["agreement_ends"])
        retention = page["retention"]
        assert retention["source"] == "records" and retention["retention_days"] == 365
        expected = retention_cutoff(datetime.fromisoformat(page["generated_at"]), retention["active_retention_days"])
        assert abs(datetime.fromisoformat(retention["reads_kept_since"]) - expected) < timedelta(seconds=5)
        margin = sum(retention[k] for k in ("backup_window_days", "backup_interval_days", "retention_check_slack_days"))
        assert retention["backup_margin_days"] == margin and retention["active_retention_days"] == 365 - margin
        assert page["policy"]["version"] == "L4207-2016-11-04"
        assert page["policy"]["sha256"] == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
        assert page["totals"] == {f: sum(m["counts"][f] for m in page["months"]) for f in FIGURES}

    async def test_searches_denials_and_prohibited_purposes_are_counted_and_no_one_is_named(self, system) -> None:
        before = this_month(await page_json(system))
        plate = unique_plate()
        body = {"query": {"plate": plate, **window()}, "purpose": PURPOSE}
        ok = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
        assert ok.status_code == 200
        vague = {**body, "purpose": {**PURPOSE, "reason": "investigation"}}
        denied = await system.gateway.post("/v1/searches", json=vague, headers=system.token("officer"))
        assert denied.status_code == 422
        prohibited = {**body, "purpose": {**PURPOSE, "reason": "List the vehicles at the mosque during Friday prayers"}}
        refused = await system.gateway.post("/v1/searches", json=prohibited, headers=system.token("officer"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "prohibited_purpose"

        wanted = {"searches", "denied_searches", "prohibited_purpose_refusals"}
        after = await until_counted(system, before, wanted)
        assert after["searches"] >= before["searches"] + 1
        # both refusals were searches refused; one of them for a prohibited purpose
        assert after["denied_searches"] >= before["denied_searches"] + 2
        assert after["prohibited_purpose_refusals"] >= before["prohibited_purpose_refusals"] + 1

        fresh(system)
        for accept in ("application/json", BROWSER["Accept"]):
            shown = (await system.gateway.get("/public/transparency", headers={"Accept": accept})).text
            for personal in (plate, "dev-officer", "Dev Officer", "1001", PURPOSE["case_number"], "203.0.113.7"):
                assert personal not in shown

    async def test_reads_hits_dispositions_and_corrections_are_counted_by_records(self, system) -> None:
        before = this_month(await page_json(system))
        read_id = await read_with_image(system)
        corrected = await system.gateway.post(
            f"/v1/reads/{read_id}/corrections",
            json={
                "plate": unique_plate(),
                "reason": "The image shows an 8 where the reader gave a B",
                "image_view_id": await image_view(system, read_id),
            },
            headers=system.token("officer"),
        )
        assert corrected.status_code in (200, 201), corrected.text
        plate = unique_plate()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        disposed = await system.gateway.post(
            f"/v1/alerts/{raised['alert_id']}/disposition",
            json={"code": "not_located"},
            headers=system.token("officer"),
        )
        assert disposed.status_code == 200, disposed.text

        after = this_month(await page_json(system))  # records counts in the transaction of each fact
        assert after["reads"] >= before["reads"] + 2  # the corrected read counts once, the hit's read once
        assert after["hotlist_hits"] >= before["hotlist_hits"] + 1
        assert after["misreads_corrected"] >= before["misreads_corrected"] + 1
        assert after["alert_dispositions"] >= before["alert_dispositions"] + 1

    async def test_the_figures_are_read_from_the_monthly_counters(self, system) -> None:
        page = await page_json(system)
        month = datetime.strptime(page["months"][4]["month"], "%Y-%m").date()
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute(
                "INSERT INTO sharing.monthly_figures AS f (month, figure, n) VALUES ($1, 'partner_shares', 7) "
                "ON CONFLICT (month, figure) DO UPDATE SET n = f.n + 7",
                month,
            )
            counted = await page_json(system)
        finally:
            await conn.execute(
                "UPDATE sharing.monthly_figures SET n = n - 7 WHERE month = $1 AND figure = 'partner_shares'", month
            )
            await conn.close()
        assert counted["months"][4]["counts"]["partner_shares"] == page["months"][4]["counts"]["partner_shares"] + 7


class TestNegotiationAndCache:
    async def test_the_page_and_the_json_carry_the_same_numbers(self, system) -> None:
        fresh(system)
        data = (await system.gateway.get("/public/transparency", headers={"Accept": "application/json"})).json()
        html = await system.gateway.get("/public/transparency", headers=BROWSER)  # the same cached computation
        assert html.headers["content-type"].startswith("text/html") and html.headers["vary"] == "Accept"
        body = html.text.split('<table id="figures-table"', 1)[1].split("</table>", 1)[0]
        rows = re.findall(r'<time datetime="(\d{4}-\d{2})">[^<]*</time></th>\n?(.*?)</tr>', body, re.S)
        assert [m for m, _ in rows] == [m["month"] for m in data["months"]]
        for (month, cells), expected in zip(rows, data["months"], strict=True):
            shown = [int(c.replace(",", "")) for c in re.findall(r"<td>([\d,]+)</td>", cells)]
            assert shown == [expected["counts"][f] for f in FIGURES], month
        assert DEV_PARTNER in html.text and 'role="img"' in html.text and "<script" not in html.text

    async def test_an_etag_answers_304_and_each_form_has_its_own(self, system) -> None:
        fresh(system)
        as_json = await system.gateway.get("/public/transparency")
        as_html = await system.gateway.get("/public/transparency", headers=BROWSER)
        assert as_json.headers["etag"] != as_html.headers["etag"]
        again = await system.gateway.get("/public/transparency", headers={"If-None-Match": as_json.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == as_json.headers["etag"]
        other = await system.gateway.get(
            "/public/transparency", headers={**BROWSER, "If-None-Match": as_json.headers["etag"]}
        )
        assert other.status_code == 200 and other.text == as_html.text
        assert "max-age" in as_json.headers["cache-control"]

    async def test_a_cached_page_does_not_ask_again_within_its_time(self, system) -> None:
        first = await page_json(system)
        await post_read(system, unique_plate())
        await asyncio.sleep(0.3)
        cached = (await system.gateway.get("/public/transparency")).json()
        assert cached == first  # served from the cache, computed at most once a minute

    async def test_past_its_minute_the_page_is_served_while_one_refresh_runs(self, system) -> None:
        first = await page_json(system)
        cache = system.runtime("gateway").transparency
        cache.page = dataclasses.replace(cache.page, expires=time.monotonic() - 1)
        stale = (await system.gateway.get("/public/transparency")).json()
        assert stale["generated_at"] == first["generated_at"]  # answered at once, from the page in hand
        assert cache.refresh is not None
        await cache.refresh
        renewed = (await system.gateway.get("/public/transparency")).json()
        assert renewed["generated_at"] > first["generated_at"]

    async def test_json_stays_the_answer_to_tools(self, system) -> None:
        for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
            headers = {"Accept": accept} if accept else {}
            response = await system.gateway.get("/public/transparency", headers=headers)
            assert response.headers["content-type"].startswith("application/json"), accept
            json.loads(response.text)


class TestBackupWindowShown:
    """Issue 27: the page says how long a backup may hold a read, and the arithmetic that keeps it within 365 days."""

    async def test_json_and_html_show_the_backup_margin_records_applies(self, system) -> None:
        page = await page_json(system)
        retention = page["retention"]
        records = system.runtime("records").settings
        assert retention["backup_window_days"] == records.backup_window_days
        assert retention["backup_interval_days"] == records.backup_interval_days
        assert retention["retention_check_slack_days"] == records.retention_check_slack_days
        assert retention["active_retention_days"] + retention["backup_margin_days"] == retention["retention_days"]
        fresh(system)
        html = (await system.gateway.get("/public/transparency", headers=BROWSER)).text
        said = f"{retention['retention_days']} &minus; {retention['backup_margin_days']} = "
        assert said + f"{retention['active_retention_days']} days" in html
