"""Development seed: one trained, active person per role and one camera with a credential."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from services.gateway.policy.training import TrainingTopic
from services.gateway.service import new_camera_credential

DEV_PEOPLE = {
    "officer": ("Dev Officer", "1001", "sworn"),
    "analyst": ("Dev Analyst", "2001", "analyst"),
    "supervisor": ("Dev Supervisor", "3001", "sworn"),
    "admin": ("Dev Admin", "4001", "sworn"),
    "auditor": ("Dev Auditor", "5001", "analyst"),
    "custodian": ("Dev Custodian", "6001", "sworn"),
}
DEV_CAMERA = "dev-cam-1"


def dev_sub(role: str) -> str:
    return f"dev-{role}"


async def seed_development(admin_dsn: str, data_dir: Path, *, agency: str) -> str:
    """Seed people and the camera if missing; returns the camera's credential (kept in the data folder)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        now = datetime.now(UTC)
        for role, (name, badge, user_class) in DEV_PEOPLE.items():
            await conn.execute(
                "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
                "training_expires_at, last_active_at, approved_by) VALUES ($1,$2,$3,$4,$5,$6,$7,'active',$8,$9,"
                "'dev-seed') ON CONFLICT (sub) DO NOTHING",
                dev_sub(role),
                name,
                badge,
                agency,
                "BFO",
                [role],
                user_class,
                now + timedelta(days=365),
                now,
            )
            # the record behind that date: one course covering every topic the policy names (D2)
            await conn.execute(
                "INSERT INTO gateway.training_records (sub, course, topics, completed_at, expires_at, recorded_by) "
                "SELECT $1, 'Development seed: ALPR policy training', $2, $3, $4, 'dev-seed' "
                "WHERE NOT EXISTS (SELECT 1 FROM gateway.training_records WHERE sub = $1)",
                dev_sub(role),
                [t.value for t in TrainingTopic],
                now - timedelta(minutes=1),
                now + timedelta(days=365),
            )
        await seed_dev_partner(conn, data_dir, now=now)
        credential_file = data_dir / "dev-camera.credential"
        exists = await conn.fetchval("SELECT credential_id FROM gateway.cameras WHERE camera_id = $1", DEV_CAMERA)
        if exists and credential_file.exists():
            return credential_file.read_text().strip()
        credential, credential_id, secret_hash = new_camera_credential(DEV_CAMERA)
        await conn.execute(
            "INSERT INTO gateway.cameras (camera_id, agency, vendor, name, model, latitude, longitude, heading, "
            "credential_id, credential_hash) VALUES ($1,$2,'native','Development camera','dev',37.3382,-121.8863,"
            "90,$3,$4) ON CONFLICT (camera_id) DO UPDATE SET credential_id = $3, credential_hash = $4",
            DEV_CAMERA,
            agency,
            credential_id,
            secret_hash,
        )
        credential_file.write_text(credential + "\n")
        credential_file.chmod(0o600)
        return credential
    finally:
        await conn.close()


DEV_PARTNER_ORI = "CA0410000"
DEV_AGREEMENT = "DEV-IAA-1"
DEV_PARTNER_CLIENT = "dev-partner"


async def seed_dev_partner(conn: asyncpg.Connection, data_dir: Path, *, now: datetime) -> None:
    """A California local agency with an active agreement and an OAuth client (secret in the data folder)."""
    from services.sharing.oauth.client_secrets import hash_client_secret, new_client_secret

    await conn.execute(
        "INSERT INTO sharing.partners (ori, name, kind, created_by) VALUES ($1, 'Santa Clara County Sheriff', "
        "'ca_local_agency', 'dev-seed') ON CONFLICT (ori) DO NOTHING",
        DEV_PARTNER_ORI,
    )
    await conn.execute(
        "INSERT INTO sharing.agreements (id, version, partner_ori, document_ref, document_sha256, effective_from, "
        "expires_at, scopes, allowed_uses, max_lookback_days, status) VALUES ($1, 1, $2, 'development only', $5, "
        "$3, $4, ARRAY['hotlists:read','hotlists:write','reads:search'], "
        "ARRAY['stolen_or_wanted_vehicle','wanted_suspect','at_risk_missing_person'], 30, 'active') "
        "ON CONFLICT DO NOTHING",
        DEV_AGREEMENT,
        DEV_PARTNER_ORI,
        now - timedelta(days=1),
        now + timedelta(days=365),
        hashlib.sha256(b"development only").hexdigest(),
    )
    secret_file = data_dir / "dev-partner.secret"
    exists = await conn.fetchval("SELECT 1 FROM sharing.oauth_clients WHERE client_id = $1", DEV_PARTNER_CLIENT)
    if exists and secret_file.exists():
        return
    secret = new_client_secret()
    await conn.execute(
        "INSERT INTO sharing.oauth_clients (client_id, agreement_id, auth_method, secret_hash, created_by) "
        "VALUES ($1, $2, 'client_secret_basic', $3, 'dev-seed') ON CONFLICT (client_id) DO UPDATE SET secret_hash = $3",
        DEV_PARTNER_CLIENT,
        DEV_AGREEMENT,
        hash_client_secret(secret),
    )
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
