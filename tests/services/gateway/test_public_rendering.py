"""The transparency page's pure parts: months, charts, the policy's blocks, negotiation, ETags, escaping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from starlette.requests import Request

from libs.common.contracts.transparency import FIGURES, MonthlyQuery, PublicPartner
from services.gateway.api.public import pages
from services.gateway.api.public.charts import HEIGHT, bar_chart
from services.gateway.api.public.figures import FIGURE_LABELS, Month, PolicyRef, Retention, Transparency, last_months
from services.gateway.api.public.policy_blocks import policy_blocks
from services.gateway.api.public.transparency import render_page


def request(accept: str | None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def facts(partner_name: str = "Santa Clara County Sheriff", counts: int | None = 0) -> Transparency:
    now = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
    return Transparency(
        generated_at=now,
        policy=PolicyRef(version="L4207", sha256="ab" * 32),
        retention=Retention(
            retention_days=365,
            backup_window_days=7,
            backup_interval_days=1,
            retention_check_slack_days=1,
            backup_margin_days=9,
            active_retention_days=356,
            reads_kept_since=now,
            unmatched_retention_days=30,
            unmatched_kept_since=now,
            source="records",
        ),
        partners=[PublicPartner(name=partner_name, ori="CA0410000", agreement_starts=now, agreement_ends=now)],
        partner_agencies=1,
        figure_labels=FIGURE_LABELS,
        months=[
            Month(month=m.strftime("%Y-%m"), counts=dict.fromkeys(FIGURES, counts)) for m in last_months(now.date())
        ],
        totals=dict.fromkeys(FIGURES, None if counts is None else counts * 12),
        not_available=[] if counts is not None else list(FIGURES),
    )


class TestMonths:
    def test_twelve_months_back_across_a_year_end_oldest_first(self) -> None:
        months = last_months(date(2026, 2, 28))
        assert months[0] == date(2025, 3, 1) and months[-1] == date(2026, 2, 1) and len(months) == 12

    def test_a_query_asks_from_the_first_of_a_month(self) -> None:
        with pytest.raises(ValueError):
            MonthlyQuery(since=date(2026, 2, 2))


class TestBarChart:
    def test_bars_scale_to_the_largest_and_zero_draws_nothing(self) -> None:
        chart = bar_chart([0, 5, 10], ["J", "F", "M"], ["a", "b", "c"])
        heights = [b.height for b in chart.bars]
        assert heights[0] == 0 and heights[2] == pytest.approx(2 * heights[1]) and chart.peak == 10
        assert all(b.y + b.height == pytest.approx(chart.baseline) for b in chart.bars)
        assert chart.baseline < HEIGHT

    def test_all_zero_months_draw_an_empty_chart(self) -> None:
        assert {b.height for b in bar_chart([0] * 12, ["x"] * 12, ["t"] * 12).bars} == {0}


class TestPolicyBlocks:
    def test_headings_numbered_lists_and_paragraphs(self) -> None:
        text = "# Title\n\nPurpose\n\nThe purpose is this.\nIt goes on.\n\n  1. One;\n  2. Two.\n\n- a\n- b"
        kinds = [(b.kind, b.text or b.items) for b in policy_blocks(text)]
        assert kinds == [
            ("heading", "Title"),
            ("heading", "Purpose"),
            ("paragraph", "The purpose is this. It goes on."),
            ("ordered", ["One;", "Two."]),
            ("unordered", ["a", "b"]),
        ]


class TestNegotiation:
    @pytest.mark.parametrize(
        ("accept", "html"),
        [
            ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
            (None, False),
            ("*/*", False),
            ("application/json", False),
            ("application/json, text/html;q=0.5", False),
            ("text/html;q=0", False),
            ("text/html;q=bogus", False),
        ],
    )
    def test_a_browser_gets_html_and_a_tool_json(self, accept: str | None, html: bool) -> None:
        assert pages.wants_html(request(accept)) is html

    def test_etags_compare_weakly_and_star_matches(self) -> None:
        assert pages.etag_matches('W/"abc", "def"', '"abc"') and pages.etag_matches("*", '"x"')
        assert not pages.etag_matches('"abc"', '"abd"') and not pages.etag_matches(None, '"x"')


class TestRendering:
    def test_values_are_escaped_and_the_page_carries_no_script(self) -> None:
        page = render_page(facts(partner_name='<script>alert("x")</script> & Co'))
        html = page.html.decode()
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html and "<script" not in html
        assert html.count('role="img"') == len(FIGURES) and 'id="figures-table"' in html
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
        assert "30 days, backups included" in html  # the B5 cap is shown where it is on

    def test_the_stylesheet_is_allowed_by_its_hash_only(self) -> None:
        policy = pages.security_policy()
        assert "style-src 'sha256-" in policy and "unsafe-inline" not in policy and "script-src" not in policy

    def test_a_figure_no_service_gave_is_a_dash_not_a_zero(self) -> None:
        page = render_page(facts(counts=None))
        html = page.html.decode()
        assert html.count("Not available right now.") == len(FIGURES) and "<td>0</td>" not in html
        assert b'"reads":null' in page.json


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of #rrggbb."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class TestContrast:
    def test_every_text_colour_on_its_background_passes_wcag_aa(self) -> None:
        css = pages.stylesheet()

        def rule(selector: str, prop: str) -> str:
            block = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", css)
            assert block, selector
            found = re.search(rf"(?<![-\w]){prop}:\s*(#[0-9a-f]{{6}})", block.group(1))
            assert found, (selector, prop)
            return found.group(1)

        white = rule("body", "background")
        text = rule("body", "color")
        pairs = {
            "body text": (text, white),
            "links": (rule("a", "color"), white),
            "muted text": (rule(".muted", "color"), white),
            "footer": (rule("footer", "color"), white),
            "header": (rule("header", "color"), rule("header", "background")),
            "table heads": (text, rule("thead th", "background")),
        }
        for name, (fg, bg) in pairs.items():
            assert contrast(fg, bg) >= 4.5, name

    def test_the_bars_stand_out_from_the_page(self) -> None:
        html = render_page(facts(counts=3)).html.decode()
        fills = set(re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', html))
        assert fills and all(contrast(f, "#ffffff") >= 3 for f in fills)  # WCAG 1.4.11: graphics 3:1
