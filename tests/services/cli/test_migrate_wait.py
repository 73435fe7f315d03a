"""`alpr migrate --wait-for`: a pod's init step waits until its schema has every migration its code has."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nats.js.api import DiscardPolicy

from libs.common.migrations import SchemaMigrations, apply_streams, missing_migrations
from services.cli.stack import schema_migrations


class TestWaitForSchema:
    @pytest.mark.asyncio(loop_scope="session")
    async def test_a_current_schema_lacks_nothing_and_a_newer_file_is_missing(self, system, tmp_path: Path) -> None:
        [sharing] = [s for s in schema_migrations() if s.schema == "sharing"]
        dsn = system.stack.pg.url_for("alpr_sharing").replace("+asyncpg", "")
        assert await missing_migrations(dsn, [sharing]) == []
        newer = tmp_path / "migrations"
        shutil.copytree(sharing.folder, newer)
        (newer / "9999_next_release.sql").write_text("SELECT 1;\n")
        ahead = SchemaMigrations(schema="sharing", role=sharing.role, folder=newer)
        assert await missing_migrations(dsn, [ahead]) == ["sharing/9999_next_release.sql"]

    def test_the_command_returns_once_current_and_fails_after_its_timeout_when_unreachable(self, system) -> None:
        env = {**os.environ, "ALPR_DATABASE_URL": system.stack.pg.url_for("alpr_sharing")}
        command = [sys.executable, "-m", "services.cli.main", "migrate", "--wait-for", "sharing", "--timeout", "1"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "schema sharing is current" in done.stdout, done.stderr
        env["ALPR_DATABASE_URL"] = "postgresql://alpr_sharing@127.0.0.1:9/alpr"  # nothing listens there
        stuck = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert stuck.returncode != 0 and "still lacks" in stuck.stderr


class TestStreamCapsOnJetStream:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_an_existing_stream_takes_its_cap_and_discard_policy_in_place(self, system) -> None:
        js = system.runtime("gateway").bus.js
        store = 3 * 1000**3
        await apply_streams(js, file_store_bytes=store)
        info = await js.stream_info("READS")
        assert info.config.max_bytes == store // 3 and DiscardPolicy(info.config.discard) == DiscardPolicy.NEW
        assert (await js.stream_info("AUDIT")).config.max_bytes in (None, -1)
