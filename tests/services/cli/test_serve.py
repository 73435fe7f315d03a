"""`alpr serve`: JSON log lines with request and trace ids and no credentials; SIGTERM drains, then stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx

from services.cli.embedded import free_port

SECRETS = ("s3cr3t-query-key", "s3cr3t-bearer-token", "s3cr3t-api-key", "s3cr3t-client-secret")


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the service did not become ready")


class TestServeSharing:
    def test_logs_are_json_without_secrets_and_sigterm_drains_cleanly(self, system) -> None:
        port = free_port()
        env = {
            **os.environ,
            **system.stack.env_for("sharing", http_port=port),
            "ALPR_HTTP_HOST": "127.0.0.1",
            "ALPR_DRAIN_S": "3",
            "ALPR_LOG_FORMAT": "json",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "sharing"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc)
            headers = {
                "Authorization": f"Bearer {SECRETS[1]}",
                "X-API-Key": SECRETS[2],
                "X-Request-Id": "req-from-caller-1",
            }
            answer = httpx.post(
                f"{url}/no/such/route?key={SECRETS[0]}&page=2",
                headers=headers,
                data={"client_id": "p1", "client_secret": SECRETS[3]},
            )
            assert answer.status_code == 404 and answer.headers["x-request-id"] == "req-from-caller-1"
            made = httpx.get(f"{url}/healthz", headers={"X-Request-Id": 'bad id {with} "quotes"'})
            assert len(made.headers["x-request-id"]) == 32  # an unsafe id is replaced, not echoed
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            draining = httpx.get(f"{url}/readyz", timeout=2)  # still listening, no longer ready
            assert draining.status_code == 503 and draining.json()["draining"] is True
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.returncode in (0, -signal.SIGTERM), output
        for secret in SECRETS:
            assert secret not in output
        assert "Traceback" not in output, output
        lines = [json.loads(line) for line in output.splitlines() if line.strip()]
        assert lines and all(line["service"] == "sharing" and line["time"] and line["level"] for line in lines)
        access = [line for line in lines if line["logger"] == "alpr.access" and line.get("status") == 404]
        assert len(access) == 1, lines
        refused = access[0]
        assert refused["request_id"] == "req-from-caller-1" and refused["route"] == "unmatched"
        assert refused["method"] == "POST" and refused["duration_ms"] >= 0
        assert len(refused["trace_id"]) == 32 and len(refused["span_id"]) == 16
        assert "key=%5Bredacted%5D" in refused["path"] or "key=[redacted]" in refused["path"]
        assert "page=2" in refused["path"]
        assert any("draining" in line["message"] for line in lines)
