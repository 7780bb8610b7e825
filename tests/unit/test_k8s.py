"""The Kubernetes manifests (deploy/k8s), checked offline: each overlay builds with `kubectl kustomize`,
every object validates against the Kubernetes schemas of K8S_VERSION (kubernetes-validate; the KEDA
objects, which it has no schema for, against the fields KEDA requires), and the objects agree with
each other, with deploy/Dockerfile and with the settings classes.

Each check is a function that returns its problems, one line each; test_each_check_finds_what_it_is_for
breaks a built overlay in the way each check is there to catch and sees it reported.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from functools import cache

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from devstack.stack import ROOT
from services.common.settings import production_secret_problem
from tests.support.dockerfile import stages
from tests.support.locks import ROLES

K8S_VERSION = "1.31"
OVERLAYS = ("dev", "prod")
KUSTOMIZE_DIR = ROOT / "deploy" / "k8s"
# The settings class each Deployment's process loads.
SETTINGS = {
    "gateway": "services.gateway.config",
    "accounts": "services.accounts.config",
    "media": "services.media.config",
    "jobs": "services.jobs.config",
    "worker": "services.jobs.config",
}
GRPC_SERVICES = {"accounts": 50051, "media": 50052, "jobs": 50053}
# Who may call a gRPC service (the pods the code calls it from; see base/network-policies.yaml).
CALLERS = {"accounts": {"gateway", "jobs"}, "media": {"gateway", "jobs", "worker"}, "jobs": {"gateway"}}
# Secrets the prod overlay reads but does not contain: the operator creates them (README).
EXTERNAL_SECRETS = {
    "prod": {
        "zapcut-secrets": {
            "SECRET_KEY",
            "INTERNAL_TOKEN",
            "DATABASE_URL",
            "REDIS_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "REDIS_ADDRESS",
            "REDIS_PASSWORD",
        }
    }
}
# Where every gRPC service and worker serves Prometheus metrics in Kubernetes (METRICS_PORT).
METRICS_PORT = 9464
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}


# --- building ---------------------------------------------------------------------------------


@cache
def built(overlay: str) -> tuple[dict, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Kubernetes manifests can't be built (kubectl kustomize)")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE_DIR / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"kubectl kustomize overlays/{overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


class Build:
    """The objects of one built overlay, with the look-ups the checks share."""

    def __init__(self, overlay: str, docs: list[dict]):
        self.overlay = overlay
        self.docs = docs

    def of_kind(self, *kinds: str) -> list[dict]:
        return [doc for doc in self.docs if doc["kind"] in kinds]

    def named(self, kind: str, name: str) -> dict | None:
        return next((d for d in self.of_kind(kind) if d["metadata"]["name"] == name), None)

    def workloads(self) -> list[dict]:
        return self.of_kind(*WORKLOAD_KINDS)

    def deployments(self) -> dict[str, dict]:
        return {d["metadata"]["name"]: d for d in self.of_kind("Deployment")}

    def configmap_data(self, name: str) -> dict[str, str] | None:
        found = self.named("ConfigMap", name)
        return None if found is None else dict(found.get("data", {}))

    def secret_keys(self, name: str) -> set[str] | None:
        found = self.named("Secret", name)
        if found is not None:
            return set(found.get("data", {})) | set(found.get("stringData", {}))
        return EXTERNAL_SECRETS.get(self.overlay, {}).get(name)

    def secret_value(self, name: str, key: str) -> str:
        found = self.named("Secret", name)
        assert found is not None, name
        if key in found.get("stringData", {}):
            return found["stringData"][key]
        return base64.b64decode(found["data"][key]).decode()

    def config(self) -> dict[str, str]:
        """The data of the ConfigMap every app container reads with envFrom."""
        (name,) = {
            source["configMapRef"]["name"]
            for _, container in self.app_containers()
            for source in container.get("envFrom", [])
            if "configMapRef" in source
        }
        return self.configmap_data(name) or {}

    def app_containers(self) -> Iterator[tuple[dict, dict]]:
        """(workload, container) of every workload built from our images."""
        for workload in self.workloads():
            for container in pod_spec(workload)["containers"]:
                if image_target(container["image"]):
                    yield workload, container


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def image_target(image: str) -> str | None:
    """The deploy/Dockerfile target an image reference names (…/zapcut/<target>[:tag]), or None."""
    match = re.fullmatch(r"(?:.+/)?zapcut/(?P<target>[a-z0-9-]+)(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?", image)
    return match["target"] if match else None


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels/matchExpressions, or a Service's plain map) against labels."""
    plain = selector if "matchLabels" not in selector and "matchExpressions" not in selector else None
    match_labels = plain if plain is not None else selector.get("matchLabels", {})
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expression in selector.get("matchExpressions", []) if plain is None else []:
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def selected(build: Build, selector: dict) -> list[dict]:
    return [w for w in build.workloads() if selects(selector, pod_labels(w))]


def container_ports(workload: dict) -> dict[str | int, int]:
    """Each container port of a workload, by name and by number -> its number."""
    ports: dict[str | int, int] = {}
    for container in pod_spec(workload)["containers"]:
        for port in container.get("ports", []):
            ports[port["containerPort"]] = port["containerPort"]
            if "name" in port:
                ports[port["name"]] = port["containerPort"]
    return ports


# --- the checks -------------------------------------------------------------------------------


def schema_problems(build: Build) -> list[str]:
    problems = []
    for doc in build.docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        if doc["kind"] in KEDA_KINDS:
            problems += [f"{where}: {p}" for p in keda_problems(doc)]
            continue
        if problem := _validated(json.dumps(doc, sort_keys=True)):
            problems.append(f"{where}: {problem}")
    return problems


@cache
def _validated(doc: str) -> str | None:
    """kubernetes-validate's verdict on one object (JSON text, so unchanged objects are checked once:
    it reads its schema files on every call)."""
    parsed = json.loads(doc)
    try:
        kubernetes_validate.validate(parsed, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{exc.message} at {'.'.join(map(str, exc.path))}"
    except kubernetes_validate.SchemaNotFoundError:
        return f"no Kubernetes {K8S_VERSION} schema for {parsed['apiVersion']} {parsed['kind']}"
    return None


def keda_problems(doc: dict) -> list[str]:
    """The fields KEDA (keda.sh/v1alpha1) requires, since kubernetes-validate has no schema for them."""
    problems = []
    if doc.get("apiVersion") != "keda.sh/v1alpha1":
        problems.append(f"apiVersion must be keda.sh/v1alpha1, not {doc.get('apiVersion')}")
    spec = doc.get("spec") or {}
    if doc["kind"] == "TriggerAuthentication":
        refs = spec.get("secretTargetRef") or []
        if not refs:
            problems.append("spec.secretTargetRef is empty")
        for ref in refs:
            missing = {"parameter", "name", "key"} - set(ref)
            if missing:
                problems.append(f"secretTargetRef {ref} lacks {sorted(missing)}")
        return problems
    if not (spec.get("scaleTargetRef") or {}).get("name"):
        problems.append("spec.scaleTargetRef.name is required")
    for field in ("minReplicaCount", "maxReplicaCount"):
        if not isinstance(spec.get(field), int) or spec[field] < 0:
            problems.append(f"spec.{field} must be a non-negative integer")
    if isinstance(spec.get("minReplicaCount"), int) and isinstance(spec.get("maxReplicaCount"), int):
        if spec["minReplicaCount"] > spec["maxReplicaCount"]:
            problems.append("minReplicaCount is above maxReplicaCount")
    triggers = spec.get("triggers") or []
    if not triggers:
        problems.append("spec.triggers is empty")
    for trigger in triggers:
        metadata = trigger.get("metadata") or {}
        if not trigger.get("type") or not isinstance(metadata, dict):
            problems.append(f"trigger {trigger} needs a type and metadata")
        if trigger.get("type") == "redis":
            if "listName" not in metadata:
                problems.append("a redis trigger needs metadata.listName")
            if not str(metadata.get("listLength", "")).isdigit():
                problems.append("a redis trigger needs metadata.listLength, a number as a string")
            if not ({"address", "host", "addressFromEnv", "hostFromEnv"} & set(metadata)) and not (
                trigger.get("authenticationRef") or {}
            ).get("name"):
                problems.append("a redis trigger needs an address (metadata or authenticationRef)")
    return problems


def service_problems(build: Build) -> list[str]:
    problems = []
    for service in build.of_kind("Service"):
        name = service["metadata"]["name"]
        targets = selected(build, service["spec"].get("selector") or {"-": "-"})
        if not targets:
            problems.append(f"Service {name} selects no pods of any Deployment or StatefulSet")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for workload in targets:
                if target not in container_ports(workload):
                    problems.append(
                        f"Service {name} port {port['port']} targets {target!r}, which "
                        f"{workload['metadata']['name']} does not expose"
                    )
    for name, port in GRPC_SERVICES.items():
        service = build.named("Service", name)
        if service is None or service["spec"].get("clusterIP") != "None":
            problems.append(f"{name} needs a headless Service (clusterIP: None) for client-side balancing")
        elif port not in [p["port"] for p in service["spec"]["ports"]]:
            problems.append(f"Service {name} does not serve port {port}")
        address = build.config().get(f"{name.upper()}_ADDR")
        if address != f"dns:///{name}:{port}":
            problems.append(f"{name.upper()}_ADDR is {address!r}, not dns:///{name}:{port}")
    return problems


def probe_problems(build: Build) -> list[str]:
    problems = []
    for workload in build.workloads():
        ports = container_ports(workload)
        for container in pod_spec(workload)["containers"]:
            where = f"{workload['metadata']['name']}/{container['name']}"
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                for handler in ("grpc", "httpGet", "tcpSocket"):
                    if handler in probe and probe[handler]["port"] not in ports:
                        problems.append(
                            f"{where}: {kind} port {probe[handler]['port']!r} is not a container port"
                        )
                if "exec" in probe:
                    script = next((a for a in probe["exec"]["command"] if a.startswith("/app/")), None)
                    if script and not (ROOT / script.removeprefix("/app/")).is_file():
                        problems.append(f"{where}: {kind} runs {script}, which the image lacks")
    for name in ROLES:
        deployment = build.deployments().get(name)
        if deployment is None:
            continue
        (container,) = pod_spec(deployment)["containers"]
        expected = ("livenessProbe", "startupProbe") + (("readinessProbe",) if name != "worker" else ())
        for kind in expected:
            if kind not in container:
                problems.append(f"{name}: no {kind}")
        if name in GRPC_SERVICES:
            for kind in expected:
                if container.get(kind, {}).get("grpc", {}).get("port") != GRPC_SERVICES[name]:
                    problems.append(f"{name}: {kind} is not a gRPC probe of port {GRPC_SERVICES[name]}")
    return problems


def env_problems(build: Build) -> list[str]:
    problems = []
    for workload in build.workloads():
        for container in pod_spec(workload)["containers"]:
            where = f"{workload['metadata']['name']}/{container['name']}"
            for source in container.get("envFrom", []):
                for kind, ref in source.items():
                    if kind == "configMapRef" and build.configmap_data(ref["name"]) is None:
                        problems.append(f"{where}: envFrom ConfigMap {ref['name']} is not in the build")
                    if kind == "secretRef" and build.secret_keys(ref["name"]) is None:
                        problems.append(f"{where}: envFrom Secret {ref['name']} does not exist")
            for env in container.get("env", []):
                value_from = env.get("valueFrom", {})
                if ref := value_from.get("configMapKeyRef"):
                    data = build.configmap_data(ref["name"])
                    if data is None or ref["key"] not in data:
                        problems.append(
                            f"{where}: {env['name']} from ConfigMap {ref['name']} key {ref['key']}: missing"
                        )
                # An optional key may be absent (media's AWS keys: without them, the pod's IAM role).
                if (ref := value_from.get("secretKeyRef")) and not ref.get("optional"):
                    keys = build.secret_keys(ref["name"])
                    if keys is None or ref["key"] not in keys:
                        problems.append(
                            f"{where}: {env['name']} from Secret {ref['name']} key {ref['key']}: missing"
                        )
    for auth in build.of_kind("TriggerAuthentication"):
        for ref in auth["spec"].get("secretTargetRef", []):
            keys = build.secret_keys(ref["name"])
            if keys is None or ref["key"] not in keys:
                problems.append(
                    f"TriggerAuthentication {auth['metadata']['name']}: Secret {ref['name']} key {ref['key']}: missing"
                )
    return problems


def environment(build: Build, container: dict) -> dict[str, str | None]:
    """Variable -> value (None when it comes from a Secret) that a container starts with."""
    found: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if ref := source.get("configMapRef"):
            found.update(build.configmap_data(ref["name"]) or {})
        if ref := source.get("secretRef"):
            found.update(dict.fromkeys(build.secret_keys(ref["name"]) or ()))
    for env in container.get("env", []):
        found[env["name"]] = env.get("value")
    return found


def settings_problems(build: Build) -> list[str]:
    problems = []
    for name, module in SETTINGS.items():
        deployment = build.deployments().get(name)
        if deployment is None:
            problems.append(f"no Deployment {name}")
            continue
        (container,) = pod_spec(deployment)["containers"]
        env = environment(build, container)
        settings = importlib.import_module(module).Settings
        # With DEBUG=false the secrets are required too (the dev values are only for DEBUG).
        required = {f for f, info in settings.model_fields.items() if info.is_required()}
        required |= set(getattr(settings, "dev_secrets", {}))
        for field in sorted(required):
            if field.upper() not in env:
                problems.append(f"{name}: {field.upper()} is required by {module}.Settings but not set")
        if env.get("DEBUG") != "false":
            problems.append(f"{name}: DEBUG must be false (weak secrets are refused only then)")
        if env.get("OTEL_SERVICE_NAME") != f"zapcut-{name}":
            problems.append(f"{name}: OTEL_SERVICE_NAME must be zapcut-{name}")
        if env.get("MIGRATE_ON_START") != "false":
            problems.append(f"{name}: MIGRATE_ON_START must be false (the migration Job migrates)")
    return problems


def image_problems(build: Build) -> list[str]:
    problems = []
    targets = set(stages())
    if set(build.deployments()) != set(ROLES):
        problems.append(f"Deployments {sorted(build.deployments())}, expected one per role {sorted(ROLES)}")
    for workload in build.workloads():
        for container in pod_spec(workload)["containers"]:
            target = image_target(container["image"])
            where = f"{workload['kind']} {workload['metadata']['name']}"
            if target is None:
                # Only the dev overlay's in-cluster servers run images of others.
                if not (build.overlay == "dev" and workload["kind"] == "StatefulSet"):
                    problems.append(f"{where} runs {container['image']}, not an image of deploy/Dockerfile")
            elif target not in targets:
                problems.append(
                    f"{where} runs {container['image']}: deploy/Dockerfile has no target {target}"
                )
            elif workload["kind"] == "Deployment" and target != workload["metadata"]["name"]:
                problems.append(f"{where} runs the {target} image")
            elif ":" not in container["image"].rsplit("/", 1)[-1]:
                problems.append(
                    f"{where} runs {container['image']} without a tag (the overlay's images: sets one)"
                )
    return problems


def scaling_problems(build: Build) -> list[str]:
    problems = []
    deployments = build.deployments()
    hpas = {h["metadata"]["name"]: h for h in build.of_kind("HorizontalPodAutoscaler")}
    for hpa in hpas.values():
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            problems.append(
                f"HPA {hpa['metadata']['name']} scales {target['kind']} {target['name']}, which does not exist"
            )
    for name in ("gateway", *GRPC_SERVICES):
        if name not in {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}:
            problems.append(f"no HorizontalPodAutoscaler for {name}")
    queue = build.config().get("RQ_QUEUE", "default")
    scaled = build.of_kind("ScaledObject")
    if build.overlay == "prod" and not scaled:
        problems.append("prod needs a ScaledObject for the workers")
    for obj in scaled:
        target = obj["spec"]["scaleTargetRef"]
        if target.get("kind", "Deployment") != "Deployment" or target["name"] != "worker":
            problems.append(
                f"ScaledObject {obj['metadata']['name']} scales {target}, not the worker Deployment"
            )
        for trigger in obj["spec"]["triggers"]:
            if trigger["type"] != "redis" or trigger["metadata"].get("listName") != f"rq:queue:{queue}":
                problems.append(
                    f"ScaledObject trigger {trigger['type']} does not watch the list rq:queue:{queue}"
                )
            auth = (trigger.get("authenticationRef") or {}).get("name")
            if auth and build.named("TriggerAuthentication", auth) is None:
                problems.append(f"ScaledObject uses TriggerAuthentication {auth}, which is not in the build")
    for name, deployment in deployments.items():
        if "replicas" in deployment["spec"]:
            problems.append(f"Deployment {name} sets replicas, which its autoscaler owns")
    return problems


def network_problems(build: Build) -> list[str]:
    problems = []
    policies = build.of_kind("NetworkPolicy")
    if not any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] for p in policies):
        problems.append("no default-deny ingress NetworkPolicy")
    allowed: dict[str, list[dict]] = {}
    for policy in policies:
        name = policy["metadata"]["name"]
        selector = policy["spec"]["podSelector"]
        pods = selected(build, selector) if selector else build.workloads()
        if not pods:
            problems.append(f"NetworkPolicy {name} selects no pods")
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    if not selected(build, peer["podSelector"]):
                        problems.append(
                            f"NetworkPolicy {name} allows pods that do not exist: {peer['podSelector']}"
                        )
            for port in rule.get("ports", []):
                if any(port["port"] not in container_ports(p) for p in pods):
                    problems.append(f"NetworkPolicy {name} opens port {port['port']!r}, which its pods lack")
            for pod in pods:
                allowed.setdefault(pod["metadata"]["name"], []).append(rule)
    if not any("from" not in rule for rule in allowed.get("gateway", [])):
        problems.append("the gateway is not reachable from outside the namespace")
    for name, callers in CALLERS.items():
        for rule in allowed.get(name, []):
            if "from" not in rule:
                problems.append(f"{name} is open to everyone")
            for peer in rule.get("from", []):
                if "namespaceSelector" in peer:
                    if any(
                        p != "metrics" and p != METRICS_PORT
                        for p in (x["port"] for x in rule.get("ports", []))
                    ):
                        problems.append(f"{name}: another namespace may reach more than its metrics port")
                    continue
                names = {
                    pod_labels(w).get("app.kubernetes.io/name") for w in selected(build, peer["podSelector"])
                }
                if not names <= callers:
                    problems.append(
                        f"{name} is reachable from {sorted(names - callers)}, which never call it"
                    )
    return problems


def pod_problems(build: Build) -> list[str]:
    """securityContext, resources, /tmp, PodDisruptionBudgets, graceful termination, metrics."""
    problems = []
    grace = float(build.config().get("SHUTDOWN_GRACE_S", "25"))
    pdbs = build.of_kind("PodDisruptionBudget")
    for workload, container in build.app_containers():
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            problems.append(f"{name}: runAsNonRoot is not set")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        security = container.get("securityContext", {})
        if security.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if security.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: the root file system is writable")
        if security.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{name}: capabilities are not all dropped")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
            problems.append(f"{name}: /tmp is not a writable emptyDir")
        resources = container.get("resources") or {}
        for need in ("requests.cpu", "requests.memory", "limits.memory"):
            section, key = need.split(".")
            if key not in (resources.get(section) or {}):
                problems.append(f"{name}: no resources.{need}")
        if workload["kind"] != "Deployment":
            continue
        if spec.get("terminationGracePeriodSeconds", 30) <= grace:
            problems.append(
                f"{name}: terminationGracePeriodSeconds is not above SHUTDOWN_GRACE_S ({grace:g})"
            )
        if not any(selects(p["spec"]["selector"], pod_labels(workload)) for p in pdbs):
            problems.append(f"{name}: no PodDisruptionBudget")
        annotations = workload["spec"]["template"]["metadata"].get("annotations", {})
        port = annotations.get("prometheus.io/port")
        if (
            annotations.get("prometheus.io/scrape") != "true"
            or annotations.get("prometheus.io/path") != "/metrics"
        ):
            problems.append(f"{name}: no Prometheus scrape annotations")
        elif port is None or int(port) not in container_ports(workload):
            problems.append(f"{name}: metrics port {port} is not a container port")
        elif name != "gateway" and int(port) != METRICS_PORT:
            problems.append(f"{name}: metrics are on METRICS_PORT {METRICS_PORT}, not {port}")
    if build.config().get("METRICS_PORT") != str(METRICS_PORT):
        problems.append(f"METRICS_PORT is not {METRICS_PORT}")
    return problems


def migration_problems(build: Build) -> list[str]:
    problems = []
    jobs = [j for j in build.of_kind("Job") if j["metadata"]["name"].startswith("zapcut-migrate")]
    if len(jobs) != 1:
        return [f"expected one migration Job, found {len(jobs)}"]
    (job,) = jobs
    (container,) = pod_spec(job)["containers"]
    if container.get("command") != ["python", "-m", "services.common.migrations"]:
        problems.append(f"the migration Job runs {container.get('command')}")
    marker = build.named("ConfigMap", job["metadata"]["name"])
    if marker is None or not re.fullmatch(r"zapcut-migrate-[a-z0-9]{10}", job["metadata"]["name"]):
        problems.append(
            f"the Job's name {job['metadata']['name']} is not the hashed zapcut-migrate ConfigMap's"
        )
    elif marker["data"].get("image") != container["image"]:
        problems.append(
            f"the Job's name hashes {marker['data'].get('image')}, but it runs {container['image']}"
        )
    jobs_deployment = build.deployments().get("jobs")
    if jobs_deployment and pod_spec(jobs_deployment)["containers"][0]["image"] != container["image"]:
        problems.append("the migration Job does not run the jobs Deployment's image")
    return problems


def secret_problems(build: Build) -> list[str]:
    """Secrets in the build (the dev overlay's) pass the production checks: DEBUG is false there too."""
    problems = []
    for secret in build.of_kind("Secret"):
        name = secret["metadata"]["name"]
        keys = set(secret.get("data", {})) | set(secret.get("stringData", {}))
        for key in sorted(keys & {"SECRET_KEY", "INTERNAL_TOKEN"}):
            if problem := production_secret_problem(key, SecretStr(build.secret_value(name, key))):
                problems.append(f"Secret {name}: {problem}")
    return problems


CHECKS: dict[str, Callable[[Build], list[str]]] = {
    "schemas": schema_problems,
    "services": service_problems,
    "probes": probe_problems,
    "env": env_problems,
    "settings": settings_problems,
    "images": image_problems,
    "scaling": scaling_problems,
    "network": network_problems,
    "pods": pod_problems,
    "migrations": migration_problems,
    "secrets": secret_problems,
}


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay(overlay, check):
    problems = CHECKS[check](Build(overlay, list(built(overlay))))
    assert not problems, f"overlays/{overlay}:\n" + "\n".join(problems)


def test_the_dev_overlay_runs_one_of_each_and_needs_no_keda():
    build = Build("dev", list(built("dev")))
    assert not build.of_kind(*KEDA_KINDS)
    for hpa in build.of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] == hpa["spec"]["maxReplicas"] == 1
    assert {s["metadata"]["name"] for s in build.of_kind("StatefulSet")} == {"postgres", "redis", "minio"}


def test_the_prod_overlay_scales_beyond_one():
    build = Build("prod", list(built("prod")))
    assert all(h["spec"]["minReplicas"] >= 2 for h in build.of_kind("HorizontalPodAutoscaler"))
    (scaled,) = build.of_kind("ScaledObject")
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    assert not build.of_kind("StatefulSet"), "prod uses external servers"


# --- every check can fail -----------------------------------------------------------------------


def _container(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    return pod_spec(doc)["containers"][0]


def _doc(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _env(docs: list[dict], deployment: str) -> list[dict]:
    return _container(docs, "Deployment", deployment)["env"]


BREAKAGES: list[tuple[str, str, str, Callable[[list[dict]], object], str]] = [
    # (overlay, check, what breaks, how, a part of the problem it must report)
    (
        "dev",
        "schemas",
        "a misspelt field",
        lambda d: _doc(d, "Deployment", "gateway")["spec"].update(replica=2),
        "replica",
    ),
    (
        "dev",
        "schemas",
        "a wrong type",
        lambda d: _container(d, "Deployment", "media")["ports"][0].update(containerPort="x"),
        "containerPort",
    ),
    (
        "prod",
        "schemas",
        "a ScaledObject without triggers",
        lambda d: _doc(d, "ScaledObject", "worker")["spec"].pop("triggers"),
        "triggers is empty",
    ),
    (
        "prod",
        "schemas",
        "a redis trigger without listName",
        lambda d: _doc(d, "ScaledObject", "worker")["spec"]["triggers"][0]["metadata"].pop("listName"),
        "listName",
    ),
    (
        "dev",
        "services",
        "a selector of no pods",
        lambda d: _doc(d, "Service", "media")["spec"]["selector"].update({"app.kubernetes.io/name": "medi"}),
        "selects no pods",
    ),
    (
        "dev",
        "services",
        "a target port no container has",
        lambda d: _doc(d, "Service", "jobs")["spec"]["ports"][0].update(targetPort="grcp"),
        "'grcp'",
    ),
    (
        "dev",
        "services",
        "a ClusterIP gRPC Service",
        lambda d: _doc(d, "Service", "accounts")["spec"].pop("clusterIP"),
        "headless",
    ),
    (
        "dev",
        "probes",
        "a probe of the wrong port",
        lambda d: _container(d, "Deployment", "jobs")["readinessProbe"]["grpc"].update(port=50051),
        "not a container port",
    ),
    (
        "dev",
        "probes",
        "a missing liveness probe",
        lambda d: _container(d, "Deployment", "worker").pop("livenessProbe"),
        "no livenessProbe",
    ),
    (
        "dev",
        "env",
        "a key the Secret lacks",
        lambda d: _env(d, "jobs")[1]["valueFrom"]["secretKeyRef"].update(key="DATABASE_URI"),
        "DATABASE_URI",
    ),
    (
        "prod",
        "env",
        "a Secret nobody creates",
        lambda d: _env(d, "gateway")[1]["valueFrom"]["secretKeyRef"].update(name="zapcut-secret"),
        "zapcut-secret ",
    ),
    (
        "dev",
        "settings",
        "a required setting unset",
        lambda d: _env(d, "media").pop(2),
        "DATABASE_URL is required",
    ),
    (
        "dev",
        "settings",
        "DEBUG on",
        lambda d: [
            c for c in d if c["kind"] == "ConfigMap" and c["metadata"]["name"].startswith("zapcut-config")
        ][0]["data"].update(DEBUG="true"),
        "DEBUG must be false",
    ),
    (
        "dev",
        "images",
        "an image of no target",
        lambda d: _container(d, "Deployment", "media").update(image="zapcut/medias:dev"),
        "no target medias",
    ),
    (
        "prod",
        "images",
        "another role's image",
        lambda d: _container(d, "Deployment", "gateway").update(
            image="registry.example.com/zapcut/worker:0.1.0"
        ),
        "runs the worker image",
    ),
    (
        "prod",
        "scaling",
        "an HPA of no Deployment",
        lambda d: _doc(d, "HorizontalPodAutoscaler", "jobs")["spec"]["scaleTargetRef"].update(name="job"),
        "which does not exist",
    ),
    (
        "prod",
        "scaling",
        "a ScaledObject on another list",
        lambda d: _doc(d, "ScaledObject", "worker")["spec"]["triggers"][0]["metadata"].update(
            listName="rq:queue:high"
        ),
        "rq:queue:default",
    ),
    (
        "prod",
        "scaling",
        "a ScaledObject of another Deployment",
        lambda d: _doc(d, "ScaledObject", "worker")["spec"]["scaleTargetRef"].update(name="jobs"),
        "not the worker",
    ),
    (
        "dev",
        "network",
        "a policy of no pods",
        lambda d: _doc(d, "NetworkPolicy", "jobs")["spec"]["podSelector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "job"}
        ),
        "selects no pods",
    ),
    (
        "dev",
        "network",
        "a caller that never calls",
        lambda d: _doc(d, "NetworkPolicy", "jobs")["spec"]["ingress"][0]["from"].append(
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}}
        ),
        "['worker']",
    ),
    (
        "dev",
        "network",
        "a gRPC service open to all",
        lambda d: _doc(d, "NetworkPolicy", "accounts")["spec"]["ingress"][0].pop("from"),
        "open to everyone",
    ),
    (
        "dev",
        "pods",
        "a writable root file system",
        lambda d: _container(d, "Deployment", "worker")["securityContext"].update(
            readOnlyRootFilesystem=False
        ),
        "writable",
    ),
    (
        "dev",
        "pods",
        "a grace period under SHUTDOWN_GRACE_S",
        lambda d: pod_spec(_doc(d, "Deployment", "media")).update(terminationGracePeriodSeconds=20),
        "terminationGracePeriodSeconds",
    ),
    (
        "dev",
        "pods",
        "no memory limit",
        lambda d: _container(d, "Deployment", "accounts")["resources"]["limits"].pop("memory"),
        "limits.memory",
    ),
    (
        "dev",
        "migrations",
        "a Job that runs another image",
        lambda d: _container(d, "Job", "zapcut-migrate").update(image="zapcut/jobs:old"),
        "but it runs zapcut/jobs:old",
    ),
    (
        "dev",
        "secrets",
        "a short secret",
        lambda d: [
            s for s in d if s["kind"] == "Secret" and s["metadata"]["name"].startswith("zapcut-secrets")
        ][0]["data"].update(SECRET_KEY=base64.b64encode(b"short").decode()),
        "shorter than 32 bytes",
    ),
]


@pytest.mark.parametrize(
    ("overlay", "check", "how", "expected"),
    [pytest.param(o, c, how, e, id=f"{c}: {what}") for o, c, what, how, e in BREAKAGES],
)
def test_each_check_finds_what_it_is_for(overlay, check, how, expected):
    docs = copy.deepcopy(list(built(overlay)))
    assert not CHECKS[check](Build(overlay, docs)), "the check fails before anything is broken"
    how(docs)
    problems = "\n".join(CHECKS[check](Build(overlay, docs)))
    assert expected in problems, problems or "nothing reported"
