"""The development identity in production: refused at start-up, on every token, and by `alpr token`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.cli.main import main
from services.gateway.app import token_verifier
from services.gateway.settings import GatewaySettings
from tests.conftest import REPO

PROVIDER = "https://sso.example.org/realms/alpr"
DB = "postgresql+asyncpg://x@localhost/alpr"


def stand_in_keys(tmp_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "scripts"))
    from ingest_faults import stand_in_provider_keys

    return stand_in_provider_keys(tmp_path / "provider")


class TestStartUp:
    def production(self, **values: object) -> GatewaySettings:
        return GatewaySettings(environment="production", database_url=DB, **values)  # type: ignore[arg-type]

    def test_the_identity_provider_must_be_named(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="ALPR_OIDC_ISSUER is required"):
            GatewaySettings(environment="test", database_url=DB, oidc_jwks_path=stand_in_keys(tmp_path))

    def test_the_development_issuer_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationError, match="development issuer"):
            self.production(oidc_issuer="http://127.0.0.1/dev-issuer", oidc_jwks_path=stand_in_keys(tmp_path))

    def test_the_development_keys_are_refused(self, system) -> None:
        with pytest.raises(ValidationError, match="development issuer's keys"):
            self.production(oidc_issuer=PROVIDER, oidc_jwks_path=system.stack.issuer.jwks_path)

    def test_the_providers_keys_are_accepted(self, tmp_path: Path) -> None:
        assert self.production(oidc_issuer=PROVIDER, oidc_jwks_path=stand_in_keys(tmp_path)).is_production

    def test_alpr_serve_gateway_exits_on_the_development_keys(self, system) -> None:
        env = {
            **os.environ,
            "ALPR_ENVIRONMENT": "production",
            "ALPR_DATABASE_URL": DB,
            "ALPR_OIDC_ISSUER": PROVIDER,
            "ALPR_OIDC_JWKS_PATH": str(system.stack.issuer.jwks_path),
            "ALPR_HTTP_PORT": "9",
        }
        served = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "serve", "gateway"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert served.returncode != 0 and "development issuer's keys" in served.stderr


@pytest.mark.asyncio(loop_scope="session")
class TestAtRunTime:
    async def test_a_production_gateway_refuses_a_development_admin_token(self, system) -> None:
        rt = system.runtime("gateway")
        production = rt.settings.model_copy(update={"environment": "production"})
        saved = rt.verifier
        rt.verifier = token_verifier(production)  # as if started on the development keys anyway
        try:
            refused = await system.gateway.get("/v1/admin/persons", headers=system.token("admin"))
        finally:
            rt.verifier = saved
        assert refused.status_code == 401
        assert (await system.gateway.get("/v1/admin/persons", headers=system.token("admin"))).status_code == 200


class TestTokenCommand:
    def test_alpr_token_refuses_in_production(self, system, monkeypatch, capsys) -> None:
        monkeypatch.setenv("ALPR_ENVIRONMENT", "production")
        for role in ("admin", "camera"):
            with pytest.raises(SystemExit) as refused:
                main(["token", "--role", role, "--data-dir", str(system.stack.data_dir)])
            assert refused.value.code not in (0, None) and "refused in production" in str(refused.value.code)
        assert capsys.readouterr().out == ""

    def test_alpr_token_still_mints_in_development(self, system, monkeypatch, capsys) -> None:
        monkeypatch.setenv("ALPR_ENVIRONMENT", "development")
        main(["token", "--role", "officer", "--data-dir", str(system.stack.data_dir)])
        assert capsys.readouterr().out.count(".") == 2
