"""The database's deployment policy, checked on a rendered overlay: backups inside the retention period,
and connections inside max_connections.

Split from validate_k8s.py (rendering, schemas, pod policy) because it is about one thing, the CloudNativePG
cluster: what it may keep and who may connect. Backups: the Barman Cloud plugin's ObjectStore (never the
deprecated in-tree `barmanObjectStore`), encrypted at rest, and the purge cutoff's arithmetic from
libs.common.validation. Connections: every service through the PgBouncer Pooler in session mode, and the
worst case (each workload at its most replicas, each replica's pool full with its overflow) summed.
"""

from __future__ import annotations

from typing import Any

from libs.common.settings import CommonSettings
from libs.common.validation import active_retention_days

Obj = dict[str, Any]

CNPG = "postgresql.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = ("barmancloud.cnpg.io/v1", "ObjectStore")
ENCRYPTIONS = {"AES256", "aws:kms"}  # S3 server-side encryption the plugin passes to barman-cloud
MAX_RETENTION_DAYS = 365  # POLICY.md: 12 months, backups included
BACKUP_KEYS = ("ALPR_RETENTION_DAYS", "ALPR_BACKUP_WINDOW_DAYS", "ALPR_BACKUP_INTERVAL_DAYS")
SLACK_KEY = "ALPR_RETENTION_CHECK_SLACK_DAYS"


def _of(objects: list[Obj], api_version: str, kind: str) -> list[Obj]:
    return [o for o in objects if (o.get("apiVersion"), o.get("kind")) == (api_version, kind)]


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def settings_config(objects: list[Obj]) -> Obj | None:
    """The data of the one ConfigMap the services read their retention settings from, or None."""
    found = [o["data"] for o in objects if o["kind"] == "ConfigMap" and "ALPR_RETENTION_DAYS" in o.get("data", {})]
    return found[0] if len(found) == 1 else None


def schedule_interval_days(schedule: str) -> int | None:
    """The longest gap, in days, between two runs of a six-field CNPG schedule; None when not plainly periodic."""
    shorthand = {"@daily": 1, "@midnight": 1, "@weekly": 7}
    if schedule in shorthand:
        return shorthand[schedule]
    fields = schedule.split()
    if len(fields) != 6 or not all(f.isdigit() for f in fields[:3]):
        return None  # several runs a day, or a form this check does not read: refused rather than guessed
    day_of_month, month, day_of_week = fields[3:]
    if (day_of_month, month, day_of_week) == ("*", "*", "*"):
        return 1
    if (day_of_month, month) == ("*", "*") and day_of_week.isdigit():
        return 7
    return None


def backup_problems(objects: list[Obj]) -> tuple[list[str], str | None]:
    """Problems with the backups of a rendered overlay, and the cutoff arithmetic written out when it holds."""
    config = settings_config(objects)
    clusters = _of(objects, CNPG, "Cluster")
    if config is None or not clusters:
        return ["want 1 ConfigMap with ALPR_RETENTION_DAYS and 1+ CNPG Cluster"], None
    missing = [k for k in (*BACKUP_KEYS, SLACK_KEY) if not str(config.get(k, "")).isdigit()]
    if missing:
        return [f"the settings ConfigMap lacks whole-day values for {missing}"], None
    retention, window, interval = (int(config[k]) for k in BACKUP_KEYS)
    slack = int(config[SLACK_KEY])
    stores = {_name(s): s for s in _of(objects, *OBJECT_STORE)}
    problems = []
    for cluster in clusters:
        problems += _cluster_problems(cluster, stores)
    for name, store in stores.items():
        problems += _store_problems(name, store, window)
    problems += _schedule_problems(objects, clusters, interval)
    if slack < 1:
        problems.append(f"{SLACK_KEY} is {slack}: the plugin deletes an expired backup on its next check, not at once")
    active = active_retention_days(
        retention, recovery_window_days=window, backup_interval_days=interval, check_slack_days=slack
    )
    arithmetic = f"{retention} − ({window} + {interval} + {slack}) = {active} days in the live database"
    if not 1 <= active < retention <= MAX_RETENTION_DAYS or window < 1:
        problems.append(f"backups would hold reads past {MAX_RETENTION_DAYS} days or keep none: {arithmetic}")
    return problems, None if problems else arithmetic


def _cluster_problems(cluster: Obj, stores: dict[str, Obj]) -> list[str]:
    where = f"Cluster/{_name(cluster)}"
    spec = cluster["spec"]
    problems = []
    backup = spec.get("backup", {})
    for deprecated in ("barmanObjectStore", "retentionPolicy"):
        if deprecated in backup:
            problems.append(
                f"{where}: spec.backup.{deprecated} is deprecated; use the Barman Cloud plugin's ObjectStore"
            )
    plugins = [p for p in spec.get("plugins", []) if p.get("name") == BARMAN_PLUGIN and p.get("enabled", True)]
    if len(plugins) != 1 or plugins[0].get("isWALArchiver") is not True:
        problems.append(f"{where}: want one enabled {BARMAN_PLUGIN} plugin that archives WAL (isWALArchiver: true)")
    else:
        store = plugins[0].get("parameters", {}).get("barmanObjectName")
        if store not in stores:
            problems.append(f"{where}: barmanObjectName {store!r} names no rendered ObjectStore")
    return problems


def _store_problems(name: str, store: Obj, window: int) -> list[str]:
    where = f"ObjectStore/{name}"
    problems = []
    if store["spec"].get("retentionPolicy") != f"{window}d":
        policy = store["spec"].get("retentionPolicy")
        problems.append(f"{where}: retentionPolicy {policy!r} is not ALPR_BACKUP_WINDOW_DAYS '{window}d'")
    configuration = store["spec"].get("configuration", {})
    for section in ("data", "wal"):
        encryption = configuration.get(section, {}).get("encryption")
        if encryption not in ENCRYPTIONS:
            problems.append(f"{where}: {section} is not encrypted at rest (encryption {encryption!r})")
    return problems


def _schedule_problems(objects: list[Obj], clusters: list[Obj], interval: int) -> list[str]:
    backups = _of(objects, CNPG, "ScheduledBackup")
    names = {_name(c) for c in clusters}
    problems = [] if backups else ["no ScheduledBackup: the recovery window assumes a base backup every interval"]
    for backup in backups:
        where = f"ScheduledBackup/{_name(backup)}"
        spec = backup["spec"]
        if spec.get("method") != "plugin" or spec.get("pluginConfiguration", {}).get("name") != BARMAN_PLUGIN:
            problems.append(f"{where}: want method plugin through {BARMAN_PLUGIN}")
        if spec.get("cluster", {}).get("name") not in names:
            problems.append(f"{where}: names no rendered Cluster")
        every = schedule_interval_days(str(spec.get("schedule", "")))
        if every is None or every > interval:
            problems.append(
                f"{where}: schedule {spec.get('schedule')!r} is not daily or weekly within {interval} day(s)"
            )
    return problems


# One asyncpg connection: `alpr migrate` and `alpr migrate --wait-for` (libs/common/migrations.py).
SINGLE_CONNECTION_COMMANDS = {"migrate"}
# Besides the clients: the instance manager, the metrics exporter and the operator's status checks.
OPERATOR_CONNECTIONS = 10
DEFAULT_POOL = CommonSettings.model_fields["db_pool_size"].default
DEFAULT_OVERFLOW = CommonSettings.model_fields["db_max_overflow"].default


def _env(container: Obj) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}


def _most_replicas(workload: Obj, objects: list[Obj]) -> int:
    """The most pods a workload can run: its HPA's maxReplicas, else its replicas (a Job: its parallelism)."""
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if (target["kind"], target["name"]) == (workload["kind"], _name(workload)):
            return int(hpa["spec"]["maxReplicas"])
    return int(workload["spec"].get("parallelism" if workload["kind"] == "Job" else "replicas", 1))


def _connections_per_pod(container: Obj) -> int:
    if (container.get("args") or [""])[0] in SINGLE_CONNECTION_COMMANDS:
        return 1
    env = _env(container)
    return int(env.get("ALPR_DB_POOL_SIZE", DEFAULT_POOL)) + int(env.get("ALPR_DB_MAX_OVERFLOW", DEFAULT_OVERFLOW))


def _database_host(container: Obj) -> str | None:
    env = _env(container)
    url = env.get("ALPR_DATABASE_URL") or env.get("ALPR_ADMIN_DATABASE_URL")
    return url.rpartition("@")[2].partition("/")[0].partition(":")[0] if url else None


def connection_problems(objects: list[Obj]) -> tuple[list[str], str | None]:
    """Problems with the connections of a rendered overlay, and the worst case written out when it fits."""
    clusters = _of(objects, CNPG, "Cluster")
    poolers = [p for p in _of(objects, CNPG, "Pooler") if p["spec"].get("type", "rw") == "rw"]
    if len(clusters) != 1 or not poolers:
        return [f"want 1 CNPG Cluster and 1+ rw Pooler: {len(clusters)}, {len(poolers)}"], None
    parameters = clusters[0]["spec"].get("postgresql", {}).get("parameters", {})
    if not str(parameters.get("max_connections", "")).isdigit():
        return [f"Cluster/{_name(clusters[0])}: max_connections is not set"], None
    problems = []
    for pooler in poolers:
        if pooler["spec"].get("pgbouncer", {}).get("poolMode", "session") != "session":
            problems.append(
                f"Pooler/{_name(pooler)}: transaction mode breaks the services' startup search_path and "
                "asyncpg's named prepared statements (see postgres/pooler.yaml): session mode"
            )
    pooled, direct = 0, 0
    hosts = {_name(p) for p in poolers}
    for workload in (o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")):
        spec = workload["spec"]["template"]["spec"]
        most = _most_replicas(workload, objects)
        for container in spec.get("containers", []):
            host = _database_host(container)
            if host is None:
                continue
            long_running = workload["kind"] != "Job" and (container.get("args") or [""])[0] == "serve"
            if long_running and host not in hosts:
                problems.append(f"{workload['kind']}/{_name(workload)}: a service connects to {host}, not the pooler")
            if host in hosts:
                pooled += most * _connections_per_pod(container)
            else:
                direct += most * _connections_per_pod(container)
        direct += sum(most * _connections_per_pod(c) for c in spec.get("initContainers", []) if _database_host(c))
    accepted = sum(int(p["spec"].get("instances", 1)) * _pgbouncer(p, "max_client_conn", 100) for p in poolers)
    capped = sum(int(p["spec"].get("instances", 1)) * _pgbouncer(p, "max_db_connections", pooled) for p in poolers)
    through = min(pooled, capped)
    reserved = int(parameters.get("superuser_reserved_connections", 3))
    limit = int(parameters["max_connections"])
    total = through + direct + reserved + OPERATOR_CONNECTIONS
    arithmetic = (
        f"{through} through the pooler (of {pooled} client connections) + {direct} direct + {reserved} reserved"
        f" + {OPERATOR_CONNECTIONS} operator = {total} <= max_connections {limit}"
    )
    if pooled > accepted:
        problems.append(f"the poolers accept {accepted} clients, the services may open {pooled}")
    if total > limit:
        problems.append(f"the worst case exceeds max_connections: {arithmetic.replace('<=', '>')}")
    return problems, None if problems else arithmetic


def _pgbouncer(pooler: Obj, parameter: str, default: int) -> int:
    return int(pooler["spec"].get("pgbouncer", {}).get("parameters", {}).get(parameter, default))
