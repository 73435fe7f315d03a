"""Render the kustomize overlays under deploy/k8s offline and validate every object.

Renders with a small kustomize subset (the features deploy/k8s uses; anything else is refused),
validates built-in kinds against the Kubernetes JSON schemas that kubernetes-validate ships (its
strict set, read directly so each schema is loaded once and every error is reported) and the
CloudNativePG kinds against deploy/k8s/schemas, then checks the deployment policy (the database's part,
backups inside the retention period, in database_policy.py beside this file) and each pod's effective settings
(`env` over `envFrom`): no `ALPR_*` name that no service reads, the backup values the ConfigMap check held, and
production in every Deployment of a production overlay. Exit status 1 on any failure.
`--render OVERLAY` prints the rendered YAML instead.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import importlib.resources
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import yaml
from referencing import Registry, Resource

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module, however this file is loaded
from database_policy import BACKUP_KEYS, SLACK_KEY, backup_problems, connection_problems, settings_config

Obj = dict[str, Any]

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # the services' settings, for the names and rules they define
K8S_DIR = ROOT / "deploy" / "k8s"
OVERLAYS = [K8S_DIR / "overlays" / "development", K8S_DIR / "overlays" / "production"]
KUBERNETES_VERSION = "1.33.0"
CUSTOM_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster-v1.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cnpg-scheduledbackup-v1.json",
    ("postgresql.cnpg.io/v1", "Pooler"): "cnpg-pooler-v1.json",
    ("barmancloud.cnpg.io/v1", "ObjectStore"): "barmancloud-objectstore-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring-prometheusrule-v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring-podmonitor-v1.json",
}
SUPPORTED_KEYS = set("apiVersion kind namespace labels resources images patches configMapGenerator".split())
CLUSTER_SCOPED = set("Namespace ClusterRole ClusterRoleBinding CustomResourceDefinition PersistentVolume".split())
# Roughly kustomize's legacy order: namespaces and configuration before the workloads that use them.
KIND_ORDER = (
    "Namespace ServiceAccount ConfigMap Secret Service Deployment StatefulSet Job PodDisruptionBudget"
    " HorizontalPodAutoscaler NetworkPolicy"
).split()
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
GENERATED = "alpr.validate/generated"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


class _BlockDumper(yaml.SafeDumper):
    """Dumps multi-line strings (nats.conf) as literal blocks so the rendering stays readable."""


_BlockDumper.add_representer(
    str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None)
)


class RenderError(Exception):
    """The kustomization uses something this renderer does not implement, or is malformed."""


def load_yaml_docs(path: Path) -> list[Obj]:
    """Every non-empty YAML document in a file."""
    return [doc for doc in yaml.load_all(path.read_text(), Loader=Loader) if doc]


def render(directory: Path) -> list[Obj]:
    """Render a kustomization directory into its final list of objects."""
    objects = _build(directory)
    _apply_name_hashes(objects)
    for obj in objects:
        obj["metadata"].get("annotations", {}).pop(GENERATED, None)
        if obj["metadata"].get("annotations") == {}:
            del obj["metadata"]["annotations"]
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(objects, key=lambda o: (order.get(o["kind"], len(order)), o["kind"], _name(o)))


def _build(directory: Path) -> list[Obj]:
    kustomization = yaml.load((directory / "kustomization.yaml").read_text(), Loader=Loader)
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise RenderError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        objects += _build(path) if path.is_dir() else load_yaml_docs(path)
    for generator in kustomization.get("configMapGenerator", []):
        _generate_config_map(directory, generator, objects)
    for patch in kustomization.get("patches", []):
        _apply_patch(directory, patch, objects)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for entry in kustomization.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise RenderError("labels: only includeSelectors/includeTemplates false is implemented")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(entry["pairs"])
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    return objects


def _name(obj: Obj) -> str:
    return str(obj["metadata"]["name"])


def _find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and _name(o) == name]
    if len(matches) != 1:
        raise RenderError(f"patch target {kind}/{name}: {len(matches)} matches")
    return matches[0]


def _generate_config_map(directory: Path, generator: Obj, objects: list[Obj]) -> None:
    unknown = set(generator) - {"name", "behavior", "literals", "envs", "files", "options"}
    if unknown or set(generator.get("options", {})) - {"labels"}:
        raise RenderError(f"configMapGenerator {generator['name']}: unsupported fields")
    data: dict[str, str] = {}
    for env_file in generator.get("envs", []):
        for line in (directory / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for file_name in generator.get("files", []):
        data[Path(file_name).name] = (directory / file_name).read_text()
    behavior = generator.get("behavior", "create")
    if behavior == "create":
        metadata = {"name": generator["name"], "annotations": {GENERATED: "true"}}
        if "labels" in generator.get("options", {}):
            metadata["labels"] = dict(generator["options"]["labels"])
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    elif behavior in ("merge", "replace"):
        existing = _find(objects, "ConfigMap", generator["name"])
        existing["data"] = {**existing["data"], **data} if behavior == "merge" else data
    else:
        raise RenderError(f"configMapGenerator behavior {behavior!r}")


def _apply_patch(directory: Path, patch: Obj, objects: list[Obj]) -> None:
    if set(patch) - {"path", "patch", "target"} or ("path" in patch) == ("patch" in patch):
        raise RenderError(f"unsupported patch form: {sorted(patch)}")
    if "path" in patch:
        docs = load_yaml_docs(directory / patch["path"])
        if len(docs) != 1:
            raise RenderError(f"{patch['path']}: one patch per file (as kustomize reads `patches`)")
        body = docs[0]
    else:
        body = yaml.load(patch["patch"], Loader=Loader)
    target_ref = patch.get("target") or {}
    if set(target_ref) - {"kind", "name"}:
        raise RenderError(f"patch target selects by kind and name only: {target_ref}")
    if isinstance(body, list):
        target = _find(objects, target_ref["kind"], target_ref["name"])
        for op in body:
            _json6902(target, op)
    else:
        kind = str(target_ref.get("kind", body["kind"]))
        name = str(target_ref.get("name", body["metadata"]["name"]))
        _strategic_merge(_find(objects, kind, name), body)


def _strategic_merge(target: Obj, patch: Obj) -> None:
    """Strategic merge, reduced: maps merge, lists of named items merge by name, other lists replace."""
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _strategic_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and _named(value) and _named(current):
            by_name = {item["name"]: item for item in current}
            for item in value:
                if item["name"] in by_name:
                    _strategic_merge(by_name[item["name"]], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _json6902(target: Obj, op: Obj) -> None:
    """JSON patch operations add, replace and remove."""
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    node: Any = target
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if op["op"] == "add":
            node.insert(index, op["value"])
        elif op["op"] == "replace":
            node[index] = op["value"]
        elif op["op"] == "remove":
            del node[index]
        else:
            raise RenderError(f"unsupported JSON patch op {op['op']!r}")
    elif op["op"] in ("add", "replace"):
        if op["op"] == "replace" and last not in node:
            raise RenderError(f"JSON patch replace of missing path {op['path']}")
        node[last] = op["value"]
    elif op["op"] == "remove":
        del node[last]
    else:
        raise RenderError(f"unsupported JSON patch op {op['op']!r}")


def _set_namespace(objects: list[Obj], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = namespace
        elif obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace


def _pod_specs(obj: Obj) -> list[Obj]:
    if obj["kind"] in POD_TEMPLATE_KINDS:
        return [obj["spec"]["template"]["spec"]]
    if obj["kind"] == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def _containers(obj: Obj) -> list[Obj]:
    return [c for spec in _pod_specs(obj) for key in ("initContainers", "containers") for c in spec.get(key, [])]


def _set_image(objects: list[Obj], image: Obj) -> None:
    for container in (c for obj in objects for c in _containers(obj)):
        ref = container["image"]
        base = ref.split("@")[0]
        base = base.rsplit(":", 1)[0] if ":" in base.rsplit("/", 1)[-1] else base
        if base != image["name"]:
            continue
        new = image.get("newName", base)
        if "digest" in image:
            container["image"] = f"{new}@{image['digest']}"
        else:
            container["image"] = f"{new}:{image['newTag']}" if "newTag" in image else new


def _apply_name_hashes(objects: list[Obj]) -> None:
    """Suffix generated ConfigMaps with kustomize's content hash and rewrite the references to them."""
    renamed: dict[str, str] = {}
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"].get("annotations", {}).get(GENERATED):
            old = _name(obj)
            encoded = json.dumps(
                {"data": obj["data"], "kind": "ConfigMap", "name": old},
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
            digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
            renamed[old] = f"{old}-{digest.translate(str.maketrans('013ae', 'ghkmt'))}"
            obj["metadata"]["name"] = renamed[old]
    for spec in (s for obj in objects for s in _pod_specs(obj)):
        for volume in spec.get("volumes", []):
            sources = volume.get("projected", {}).get("sources", [])
            refs = [volume.get("configMap")] + [source.get("configMap") for source in sources]
            for ref in filter(None, refs):
                ref["name"] = renamed.get(ref["name"], ref["name"])
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            refs = [e.get("configMapRef") for e in container.get("envFrom", [])]
            refs += [e.get("valueFrom", {}).get("configMapKeyRef") for e in container.get("env", [])]
            for ref in filter(None, refs):
                ref["name"] = renamed.get(ref["name"], ref["name"])


@functools.cache
def _definitions(kubernetes_version: str) -> Resource:
    return Resource.from_contents(_shipped_schema(kubernetes_version, "_definitions.json"))


def _shipped_schema(kubernetes_version: str, file_name: str) -> Any:
    """One JSON schema file from the set kubernetes-validate ships (strict: unknown fields fail)."""
    directory = f"kubernetes-json-schema/v{kubernetes_version}-local-strict"
    path = importlib.resources.files("kubernetes_validate").joinpath(directory, file_name)
    if not path.is_file():
        raise FileNotFoundError(f"kubernetes-validate ships no {directory}/{file_name}")
    return json.loads(path.read_text())


@functools.cache
def _validator(api_version: str, kind: str, kubernetes_version: str) -> jsonschema.protocols.Validator:
    """A cached validator per kind, built the way kubernetes_validate.validate builds it."""
    custom = CUSTOM_SCHEMAS.get((api_version, kind))
    if custom:
        return jsonschema.Draft202012Validator(json.loads((K8S_DIR / "schemas" / custom).read_text()))
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = _shipped_schema(kubernetes_version, f"{kind.lower()}-{group_version}.json")
    registry: Registry[Any] = _definitions(kubernetes_version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate_schema(obj: Obj, kubernetes_version: str = KUBERNETES_VERSION) -> list[str]:
    """Schema errors of one object: empty when it is valid."""
    try:
        validator = _validator(obj.get("apiVersion", ""), obj.get("kind", ""), kubernetes_version)
    except FileNotFoundError as error:
        return [f"no schema for {obj.get('apiVersion')} {obj.get('kind')}: {error}"]
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    return ["/".join(map(str, e.absolute_path)) + f": {e.message}" for e in errors]


def check_policy(objects: list[Obj], *, production: bool = False) -> list[str]:
    """Deployment policy problems in a rendered overlay (`production`: it is meant to be): empty when it complies."""
    problems: list[str] = []
    for obj in objects:
        pod_specs = _pod_specs(obj)
        for spec in pod_specs:
            pod_context = spec.get("securityContext", {})
            runs_alpr = any(_runs_alpr(c) for c in spec.get("initContainers", []) + spec.get("containers", []))
            if runs_alpr and spec.get("enableServiceLinks") is not False:
                # Kubernetes would set ALPR_GATEWAY_PORT=tcp://… for the Service alpr-gateway (and so on): an
                # ALPR_* name no setting defines, which `alpr serve` refuses (and `alpr` read as a port number)
                problems.append(f"{obj['kind']}/{_name(obj)}: enableServiceLinks is not false")
            for container in spec.get("initContainers", []) + spec.get("containers", []):
                where = f"{obj['kind']}/{_name(obj)} container {container['name']}"
                # an init step runs to completion, as a Job does: Kubernetes allows it no probes
                kind = obj["kind"] if container in spec.get("containers", []) else "Job"
                found = _container_problems(container, pod_context, kind)
                problems += [f"{where}: {p}" for p in found]
        if obj["kind"] == "Secret" and (obj.get("data") or obj.get("stringData")):
            problems.append(f"Secret/{_name(obj)} carries data: secrets are made in the cluster, not committed")
    if not any(_is_default_deny(o) for o in objects):
        problems.append("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
    problems += backup_problems(objects)[0]
    problems += connection_problems(objects)[0]
    problems += _stream_replica_problems(objects)
    problems += _image_pin_problems(objects)
    problems += _unknown_variable_problems(objects)
    problems += _environment_problems(objects, production=production or _is_production(objects))
    problems += _effective_backup_problems(objects)
    return problems


def container_env(container: Obj, objects: list[Obj]) -> dict[str, str | None]:
    """What a container's process sees: `env` over the ConfigMaps of `envFrom`; None where a Secret gives it."""
    maps = {_name(o): o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps.get(source["configMapRef"]["name"], {}))
    for entry in container.get("env", []):
        ref = entry.get("valueFrom", {}).get("configMapKeyRef")
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif ref:
            env[entry["name"]] = maps.get(ref["name"], {}).get(ref["key"])
        else:
            env[entry["name"]] = None  # a Secret, the pod's own fields: not in the repository
    return env


def _workload_envs(objects: list[Obj], kinds: set[str]) -> list[tuple[str, dict[str, str | None]]]:
    """(where, effective environment) of every long-running or Job container of the given kinds."""
    return [
        (f"{obj['kind']}/{_name(obj)} container {c['name']}", container_env(c, objects))
        for obj in objects
        if obj["kind"] in kinds
        for spec in _pod_specs(obj)
        for c in spec.get("containers", [])
    ]


def _unknown_variable_problems(objects: list[Obj]) -> list[str]:
    """An `ALPR_*` name no service or tool reads is a misspelling: its default would rule silently."""
    from services.cli.serve import unknown_variable_problems

    places = [(f"ConfigMap/{_name(o)}", list(o.get("data", {}))) for o in objects if o["kind"] == "ConfigMap"]
    places += [
        (f"{obj['kind']}/{_name(obj)} container {c['name']}", [e["name"] for e in c.get("env", [])])
        for obj in objects
        for c in _containers(obj)
    ]
    return [f"{where}: {p}" for where, names in places for p in unknown_variable_problems(dict.fromkeys(names, ""))]


def _environment_problems(objects: list[Obj], *, production: bool) -> list[str]:
    """A production overlay runs every service as production, with a partner issuer partners can reach."""
    if not production:
        return []
    from services.sharing.settings import is_local_address

    problems = []
    for where, env in _workload_envs(objects, {"Deployment"}):
        # the settings' default is development: a missing or misspelled key runs production as development
        environment = env.get("ALPR_ENVIRONMENT", "development")
        if environment != "production":
            problems.append(f"{where}: ALPR_ENVIRONMENT is {environment!r} in a production overlay")
    for where, env in _workload_envs(objects, {"Deployment"}):
        if not where.startswith("Deployment/alpr-sharing "):
            continue
        issuer = env.get("ALPR_PARTNER_ISSUER")
        if issuer is None or not issuer.startswith("https://") or is_local_address(issuer):
            shown = "unset (the development default)" if issuer is None else repr(issuer)
            problems.append(f"{where}: ALPR_PARTNER_ISSUER {shown} is not an https:// URL partners can reach")
    return problems


def _effective_backup_problems(objects: list[Obj]) -> list[str]:
    """Each pod's own retention and backup values are those the ConfigMap check held against the backups.

    backup_problems checks the settings ConfigMap against the ObjectStore and the ScheduledBackup; a
    Deployment's `env` overrides that ConfigMap in its pod, so a different value there escapes that check.
    """
    config = settings_config(objects)
    if config is None:
        return []  # backup_problems names the missing ConfigMap
    policies = sorted({str(o["spec"].get("retentionPolicy")) for o in objects if o["kind"] == "ObjectStore"})
    problems = []
    for where, env in _workload_envs(objects, POD_TEMPLATE_KINDS | {"CronJob"}):
        for key in (*BACKUP_KEYS, SLACK_KEY):
            if key in env and env[key] != config.get(key):
                problems.append(
                    f"{where}: {key}={env[key]} in its environment, but the backups (ObjectStore retentionPolicy "
                    f"{', '.join(policies)}) were checked against the settings ConfigMap's {config.get(key)}"
                )
    return problems


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# Our two images (deploy/images), as each overlay maps alpr-services and alpr-recognizer; NATS and its
# exporter are upstream releases by version tag.
OWN_IMAGE = re.compile(r"/alpr/(services|recognizer)[@:]")
PLACEHOLDER_DIGEST = "@sha256:" + "0" * 64  # accepted in the repository, named in the output (see the overlay)


def _is_production(objects: list[Obj]) -> bool:
    """Whether any ConfigMap or any container's environment names production."""
    if any(o["kind"] == "ConfigMap" and o.get("data", {}).get("ALPR_ENVIRONMENT") == "production" for o in objects):
        return True
    kinds = POD_TEMPLATE_KINDS | {"CronJob"}
    return any(env.get("ALPR_ENVIRONMENT") == "production" for _, env in _workload_envs(objects, kinds))


def _image_pin_problems(objects: list[Obj]) -> list[str]:
    """Production runs what was tested: our images by digest, never by a tag that can be pushed again."""
    if not _is_production(objects):
        return []
    return [
        f"{obj['kind']}/{_name(obj)} container {c['name']}: image {c['image']} is not pinned by digest"
        for obj in objects
        for c in _containers(obj)
        if OWN_IMAGE.search(c["image"]) and not DIGEST.search(c["image"])
    ]


def _placeholder_images(objects: list[Obj]) -> list[str]:
    return sorted({c["image"] for obj in objects for c in _containers(obj) if c["image"].endswith(PLACEHOLDER_DIGEST)})


def _runs_alpr(container: Obj) -> bool:
    """A container of our own image (the `alpr` launcher), by the kustomize name or the pinned registry path."""
    image = str(container.get("image", ""))
    return bool(OWN_IMAGE.search(image)) or image.split("@")[0].split(":")[0] in ("alpr-services", "alpr-recognizer")


def _container_problems(container: Obj, pod_context: Obj, kind: str) -> list[str]:
    context = container.get("securityContext", {})
    problems = []
    if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not true")
    if context.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if context.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if context.get("privileged"):
        problems.append("privileged")
    if "ALL" not in context.get("capabilities", {}).get("drop", []):
        problems.append("capabilities do not drop ALL")
    seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
    if seccomp.get("type") != "RuntimeDefault":
        problems.append("seccompProfile is not RuntimeDefault")
    for bound in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(container.get("resources", {}).get(bound, {}))
        if missing:
            problems.append(f"resources.{bound} lacks {sorted(missing)}")
    # A run-to-completion Job has no server to probe; long-running workloads must have both probes.
    if kind != "Job":
        problems += [f"no {p}" for p in ("livenessProbe", "readinessProbe") if p not in container]
    return problems


def _is_default_deny(obj: Obj) -> bool:
    spec = obj.get("spec", {})
    return (
        obj["kind"] == "NetworkPolicy"
        and spec.get("podSelector") == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def _stream_replica_problems(objects: list[Obj]) -> list[str]:
    """`alpr migrate` gives each stream ALPR_NATS_STREAM_REPLICAS replicas: one per NATS server, at most."""
    key = "ALPR_NATS_STREAM_REPLICAS"
    values = [o["data"][key] for o in objects if key in o.get("data", {})]
    servers = [o["spec"]["replicas"] for o in objects if o["kind"] == "StatefulSet" and _name(o) == "nats"]
    if len(values) != 1 or len(servers) != 1:
        return [f"want 1 ConfigMap with {key} and 1 nats StatefulSet: {len(values)}, {len(servers)}"]
    replicas = int(values[0])
    if not (replicas % 2 == 1 and replicas <= int(servers[0])):
        return [f"stream replicas {replicas} must be odd (a quorum) and at most the {servers[0]} NATS servers"]
    return []


@dataclass
class Report:
    """Outcome of validating one overlay."""

    overlay: str
    kinds: Counter[str] = field(default_factory=Counter)
    validated: int = 0
    errors: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # what the policy checks computed, printed with the summary


def validate_overlay(directory: Path, kubernetes_version: str = KUBERNETES_VERSION) -> Report:
    """Render one overlay, validate each object's schema, and check the policy."""
    name = directory.relative_to(ROOT) if directory.is_relative_to(ROOT) else directory
    report = Report(overlay=str(name))
    try:
        objects = render(directory)
    except (RenderError, OSError, KeyError, yaml.YAMLError) as error:
        report.errors.append(f"render: {error!r}")
        return report
    for obj in objects:
        report.kinds[obj["kind"]] += 1
        problems = validate_schema(obj, kubernetes_version)
        report.errors += [f"{obj['kind']}/{_name(obj)}: {p}" for p in problems]
        report.validated += not problems
    # an overlay named production is one, whatever its settings say (a misspelled key would say development)
    report.errors += [f"policy: {p}" for p in check_policy(objects, production=directory.name == "production")]
    arithmetic = backup_problems(objects)[1]
    if arithmetic:
        report.facts.append(f"backups: retention − (recovery window + backup interval + check slack): {arithmetic}")
    placeholders = _placeholder_images(objects)
    if placeholders:
        report.facts.append(f"images: placeholder digests, set by the release pipeline: {', '.join(placeholders)}")
    worst = connection_problems(objects)[1]
    if worst:
        report.facts.append(f"connections, worst case: {worst}")
    return report


def main(argv: list[str] | None = None) -> int:
    """Validate the overlays (all by default) and print a summary; 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlays", nargs="*", type=Path, default=OVERLAYS)
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--render", type=Path, help="print the rendered YAML of one overlay and exit")
    args = parser.parse_args(argv)
    if args.render:
        print(yaml.dump_all(render(args.render.resolve()), Dumper=_BlockDumper, sort_keys=False), end="")
        return 0
    failed = False
    for overlay in args.overlays:
        report = validate_overlay(overlay.resolve(), args.kubernetes_version)
        total = sum(report.kinds.values())
        print(
            f"{report.overlay}: {total} objects, {report.validated} schema-valid "
            f"(Kubernetes {args.kubernetes_version}, strict)"
        )
        for kind, count in sorted(report.kinds.items()):
            print(f"  {kind:<24} {count}")
        for fact in report.facts:
            print(f"  {fact}")
        for error in report.errors:
            print(f"  FAIL {error}")
        policy_failed = any(e.startswith("policy:") for e in report.errors)
        print(f"  policy checks: {'failed' if policy_failed else 'passed'}")
        failed = failed or bool(report.errors)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
