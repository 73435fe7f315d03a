"""The shipped alert rules and dashboard: promtool checks and unit-tests the rules, every alert the runbook
names exists, and every ALPR metric a rule or a panel reads is one a service really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from libs.common import metrics

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "k8s" / "base" / "monitoring"
RULES = MONITORING / "prometheusrule.yaml"
DASHBOARD = MONITORING / "dashboards" / "alpr.json"
CASES = Path(__file__).with_name("alert_rules_test.yaml")
RUNBOOK = REPO / "docs" / "operations.md"
# series the platform exports, not ALPR: Prometheus itself, kubelet, CloudNativePG
PLATFORM_METRICS = {"up", "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes"}
PLATFORM_PREFIXES = ("cnpg_",)
PROMQL_FUNCTIONS = {"time", "absent", "histogram_quantile", "increase", "rate", "sum", "max", "min", "by"}


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["spec"]["groups"] for rule in group["rules"]]


def _exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    return [r["expr"] for r in _rules()] + [t["expr"] for p in panels for t in p["targets"]]


def _metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", re.sub(r'"[^"]*"', "", expr))
    without_labels = re.sub(r"\b(by|without)\s*\([^)]*\)", "", without_labels)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b\s*(?=[\[{)\s,]|$)", without_labels))
    words = set(re.findall(r"\b[a-z_]+\b(?=\s*\()", without_labels)) | PROMQL_FUNCTIONS
    return {n for n in names - words if "_" in n or n == "up"} - {"le", "by"}


def _exported(name: str) -> bool:
    """A series name some service exports: a family in metrics.OWNERS, with a counter's or histogram's suffix."""
    for family in metrics.OWNERS:
        if name == family or name in (f"{family}_total", f"{family}_bucket", f"{family}_count", f"{family}_sum"):
            return True
    return False


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; .ci/run installs it where it can)")
    return found


class TestRulesWithPromtool:
    def test_rules_check_and_every_case_passes(self, tmp_path: Path) -> None:
        promtool = _promtool()
        groups = yaml.safe_load(RULES.read_text())["spec"]["groups"]
        (tmp_path / "alpr-rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
        shutil.copy(CASES, tmp_path / CASES.name)
        checked = subprocess.run(
            [promtool, "check", "rules", "alpr-rules.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        tested = subprocess.run(
            [promtool, "test", "rules", CASES.name], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert tested.returncode == 0, tested.stdout + tested.stderr

    def test_every_alert_has_a_case_that_fires_it(self) -> None:
        cases = yaml.safe_load(CASES.read_text())["tests"]
        fired = {c["alertname"] for t in cases for c in t["alert_rule_test"] if c["exp_alerts"]}
        assert fired == {r["alert"] for r in _rules()}

    def test_dashboard_queries_parse(self, tmp_path: Path) -> None:
        promtool = _promtool()
        # promtool parses PromQL only inside rule files: each panel query becomes a recording rule
        dashboard = json.loads(DASHBOARD.read_text())
        queries = [t["expr"] for p in dashboard["panels"] if p["type"] != "row" for t in p["targets"]]
        rules = [{"record": f"alpr:panel_{i}", "expr": q} for i, q in enumerate(queries)]
        (tmp_path / "panels.yaml").write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
        checked = subprocess.run(
            [promtool, "check", "rules", "panels.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


class TestRulesMatchTheRunbookAndTheCode:
    def test_every_metric_the_runbook_alerts_on_has_a_rule(self) -> None:
        table = RUNBOOK.read_text().split("## Alerts to watch", 1)[1]
        named = set(re.findall(r"^\| `(alpr_[a-z_]+)`", table, flags=re.MULTILINE))
        assert len(named) >= 8
        exprs = " ".join(r["expr"] for r in _rules())
        assert {n for n in named if n not in exprs} == set()

    def test_every_alpr_metric_read_by_a_rule_or_panel_is_exported(self) -> None:
        read = {name for expr in _exprs() for name in _metric_names(expr)}
        alpr = {n for n in read if n.startswith("alpr_")}
        assert alpr and {n for n in alpr if not _exported(n)} == set()
        others = read - alpr - PLATFORM_METRICS
        assert {n for n in others if not n.startswith(PLATFORM_PREFIXES)} == set()

    def test_names_follow_prometheus_conventions(self) -> None:
        for family, owners in metrics.OWNERS.items():
            assert family.startswith("alpr_") and owners <= metrics.EVERY_SERVICE
        assert metrics.HTTP_DURATION._upper_bounds[-2] > 5  # a bucket past the request timeout, before +Inf


class TestDashboard:
    def test_dashboard_covers_ingest_search_alerts_audit_and_retention(self) -> None:
        dashboard = json.loads(DASHBOARD.read_text())
        rows = {p["title"] for p in dashboard["panels"] if p["type"] == "row"}
        assert {"Ingest", "Search", "Alerts", "Audit", "Retention"} <= rows
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)) and dashboard["uid"]
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"

    def test_panels_do_not_overlap(self) -> None:
        cells: set[tuple[int, int]] = set()
        for panel in json.loads(DASHBOARD.read_text())["panels"]:
            g = panel["gridPos"]
            assert g["x"] + g["w"] <= 24
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not mine & cells, panel["title"]
            cells |= mine
