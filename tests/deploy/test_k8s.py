"""deploy/k8s (issue 6): every manifest validated (strict: unknown fields
refused) against the Kubernetes API schemas bundled by kubernetes-validate,
for the oldest and the newest minor versions we support, then checked for
what the schemas cannot see: names that must match across files, the beat
singleton, probes, non-root read-only pods, the owner role only in the
migration Job. Needs no cluster and no database."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VERSIONS = ("1.30.0", "1.37.0")
NAMESPACE = "molam-pay"
SECRET = "ops-controls-secrets"
WEB_CMD = shlex.split(
    "gunicorn -c /app/gunicorn.conf.py molam_ops.asgi:application "
    "-k uvicorn_worker.UvicornWorker -w 2 -b 0.0.0.0:8084"
)
# plain (non-secret) variables a container may set beside the ConfigMap: the
# metrics of that one process kind (README "Metrics")
PLAIN_ENV = {"PROMETHEUS_MULTIPROC_DIR", "WORKER_METRICS_PORT"}


def load() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


DOCS = load()


def find(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        doc
        for _, doc in DOCS
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]


def one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = find(kind, name)
    return doc


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    workloads = find("Deployment") + find("Job")
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in workloads
    ]


def secret_keys() -> set[str]:
    return set(one("Secret", SECRET)["stringData"])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("filename", "doc"),
    DOCS,
    ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS],
)
def test_valid_against_the_kubernetes_api_schema(filename, doc, version):
    # raises ValidationError, or SchemaNotFoundError for an unknown kind/version
    kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
            readinessprobe={}
        ),
        lambda d: d["spec"].update(replicas="two"),
        lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"].update(
            limits={"cpu": {"cores": 1}}
        ),
    ],
)
def test_the_validator_refuses_a_broken_manifest(breakage):
    broken = copy.deepcopy(one("Deployment", "ops-controls-web"))
    breakage(broken)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_files_and_namespace():
    names = {p.name for p in K8S.glob("*.yaml")}
    assert names >= {
        "namespace.yaml",
        "deployment.yaml",
        "service.yaml",
        "rbac.yaml",
        "configmap.yaml",
        "secret.example.yaml",
        "hpa.yaml",
        "pdb.yaml",
        "migrate-job.yaml",
    }
    assert one("Namespace", NAMESPACE)
    for _, doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]


def test_web_worker_and_a_beat_singleton():
    deployments = {d["metadata"]["name"]: d for d in find("Deployment")}
    assert set(deployments) == {
        "ops-controls-web",
        "ops-controls-worker",
        "ops-controls-beat",
    }
    beat = deployments["ops-controls-beat"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"] == {"type": "Recreate"}
    commands = {
        name: d["spec"]["template"]["spec"]["containers"][0]["command"]
        for name, d in deployments.items()
    }
    assert commands["ops-controls-web"] == WEB_CMD
    assert commands["ops-controls-worker"][:4] == [
        "celery",
        "-A",
        "molam_ops",
        "worker",
    ]
    assert commands["ops-controls-beat"][:4] == ["celery", "-A", "molam_ops", "beat"]
    everything = json.dumps([d for _, d in DOCS])
    assert '"-B"' not in everything and "--beat" not in everything
    images = {c["image"] for _, spec in pod_specs() for c in spec["containers"]}
    assert len(images) == 1


def test_web_probes_and_service():
    web = one("Deployment", "ops-controls-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8084}
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == (path, "http"), probe
        # ALLOWED_HOSTS must accept the probe's Host
        assert {"name": "Host", "value": "localhost"} in get["httpHeaders"]
    allowed = one("ConfigMap", "ops-controls-config")["data"]["ALLOWED_HOSTS"]
    assert "localhost" in allowed.split(",")
    labels = web["spec"]["template"]["metadata"]["labels"]
    assert web["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = one("Service", "ops-controls-web")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] in ports


def test_every_pod_is_non_root_read_only_and_bounded():
    accounts = {d["metadata"]["name"] for d in find("ServiceAccount")}
    for name, spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        assert spec["serviceAccountName"] in accounts, name
        assert spec["automountServiceAccountToken"] is False, name
        empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) == {"cpu", "memory"}, (name, bound)
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/app/var") in empty_dirs, name
            assert mounts.get("/tmp") in empty_dirs, name  # noqa: S108 (a mount path)


def test_secrets_and_config_references_resolve():
    keys = secret_keys()
    assert keys >= {
        "DATABASE_URL",
        "DATABASE_URL_OWNER",
        "MOLAM_ID_JWT_PUBLIC",
        "EVENT_BUS_TOKEN",
        "DJANGO_SECRET_KEY",
    }
    config = one("ConfigMap", "ops-controls-config")["data"]
    assert config["DEBUG"] == "0"
    for name, spec in pod_specs():
        (container,) = spec["containers"]
        assert container["envFrom"] == [
            {"configMapRef": {"name": "ops-controls-config"}}
        ], name
        for var in container["env"]:
            if "value" in var:
                assert var["name"] in PLAIN_ENV, (name, var)
                continue
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET and ref["key"] in keys, (name, var)
        secret_volumes = {
            v["name"]: v["secret"] for v in spec["volumes"] if "secret" in v
        }
        mounted = {}
        for mount in container["volumeMounts"]:
            if mount["name"] in secret_volumes:
                volume = secret_volumes[mount["name"]]
                assert volume["secretName"] == SECRET
                for item in volume["items"]:
                    assert item["key"] in keys
                    mounted[f"{mount['mountPath']}/{item['path']}"] = item["key"]
        # each X_FILE of the ConfigMap names a mounted file holding secret key X
        for var, path in config.items():
            if var.endswith("_FILE"):
                assert mounted.get(path) == var.removesuffix("_FILE"), (name, var)


def test_only_the_migration_job_connects_as_the_owner():
    (job,) = find("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    (db,) = [v for v in container["env"] if v["name"] == "DATABASE_URL"]
    assert db["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL_OWNER"
    assert container["command"] == [
        "sh",
        "-c",
        "python manage.py migrate --noinput"
        " && python manage.py grant_app_role molam_app",
    ]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    secret = one("Secret", SECRET)["stringData"]
    assert "molam_app" in secret["DATABASE_URL"]
    assert "molam_owner" in secret["DATABASE_URL_OWNER"]
    for deployment in find("Deployment"):
        assert "DATABASE_URL_OWNER" not in json.dumps(deployment)


def test_autoscaling_and_disruption_budget():
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in find("HorizontalPodAutoscaler")
    }
    assert set(hpas) == {"ops-controls-web", "ops-controls-worker"}
    for target, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert one("Deployment", target)
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (pdb,) = find("PodDisruptionBudget")
    web_labels = one("Deployment", "ops-controls-web")["spec"]["template"]["metadata"][
        "labels"
    ]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= web_labels.items()
    assert pdb["spec"]["minAvailable"] < hpas["ops-controls-web"]["spec"]["minReplicas"]


def test_rbac_is_minimal():
    (role,) = find("Role")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert rule.get("resourceNames"), "a rule must name its objects"
    (binding,) = find("RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "ops-controls", "namespace": NAMESPACE}
    ]


def test_metrics_multiprocess_directories_and_scrape_targets():
    """Web and worker each sum their processes' counters from a memory
    emptyDir of their own pod, and each pod kind is a scrape target."""
    targets = {}
    for name in ("ops-controls-web", "ops-controls-worker"):
        template = one("Deployment", name)["spec"]["template"]
        (container,) = template["spec"]["containers"]
        plain = {v["name"]: v["value"] for v in container["env"] if "value" in v}
        directory = plain["PROMETHEUS_MULTIPROC_DIR"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        volume = volumes[mounts[directory]]
        assert volume["emptyDir"]["medium"] == "Memory", name
        assert mounts[directory] not in ("var", "tmp"), name  # its own volume
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/path"] == "/metrics", name
        ports = {str(p["containerPort"]) for p in container["ports"]}
        assert annotations["prometheus.io/port"] in ports, name
        targets[name] = (annotations["prometheus.io/port"], plain)
    assert (
        targets["ops-controls-worker"][0]
        == targets["ops-controls-worker"][1]["WORKER_METRICS_PORT"]
    )
    assert "WORKER_METRICS_PORT" not in targets["ops-controls-web"][1]
    # beat runs no task and serves nothing: it gets neither
    beat = one("Deployment", "ops-controls-beat")
    assert "PROMETHEUS_MULTIPROC_DIR" not in json.dumps(beat)
    assert (
        "PROMETHEUS_MULTIPROC_DIR"
        not in one("ConfigMap", "ops-controls-config")["data"]
    )
