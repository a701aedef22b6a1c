"""deploy/k8s: every manifest validated (strict: unknown fields refused)
against the Kubernetes API schemas bundled by kubernetes-validate, for the
oldest and the newest minor versions we support, then checked for what the
schemas cannot see: names that must match across files, the beat singleton,
the dispatcher, probes, non-root read-only pods, the owner role only in the
migration Job, no Secret where ``kubectl apply`` would send it. The
kustomizations are built by ``kubectl kustomize`` (the image tag set once).
Needs no cluster and no database."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.production import REQUIRED_SECRETS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SECRET_EXAMPLE = ROOT / "deploy" / "examples" / "k8s-secret.example.yaml"
IMAGE = "molam/ops-controls"
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


def manifests() -> list[Path]:
    """Every Kubernetes object file under deploy/k8s (kustomize's own files
    are not objects of the API)."""
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def load(paths: list[Path]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(path.relative_to(K8S.parent)), doc)
        for path in paths
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


APPLIED = load(manifests())
DOCS = [*APPLIED, *load([SECRET_EXAMPLE])]


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
    names = {str(p.relative_to(K8S)) for p in manifests()}
    assert names == {
        "namespace.yaml",
        "audit-jobs-pvc.yaml",
        "deployment.yaml",
        "service.yaml",
        "rbac.yaml",
        "configmap.yaml",
        "hpa.yaml",
        "pdb.yaml",
        "migrate/migrate-job.yaml",
    }
    assert one("Namespace", NAMESPACE)
    for _, doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]


def test_web_worker_dispatcher_and_a_beat_singleton():
    deployments = {d["metadata"]["name"]: d for d in find("Deployment")}
    assert set(deployments) == {
        "ops-controls-web",
        "ops-controls-worker",
        "ops-controls-beat",
        "ops-controls-dispatcher",
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
    # as compose runs it
    assert commands["ops-controls-dispatcher"] == shlex.split(
        "python manage.py dispatch_payouts --for-real"
    )
    everything = json.dumps([d for _, d in DOCS])
    assert '"-B"' not in everything and "--beat" not in everything
    # the tag is kustomize's to set (release/), once for every container
    images = {c["image"] for _, spec in pod_specs() for c in spec["containers"]}
    assert images == {IMAGE}


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
        *REQUIRED_SECRETS,
    }
    config = one("ConfigMap", "ops-controls-config")["data"]
    assert config["DEBUG"] == "0"
    # what production refuses to start without reaches every pod, as a file
    for name in REQUIRED_SECRETS:
        assert f"{name}_FILE" in config, name
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


def test_the_dispatcher_runs_two_replicas_safely():
    """Its claim is a conditional UPDATE over SKIP LOCKED rows
    (payouts/services.py), so replicas share the queue; the manifest says so."""
    dispatcher = one("Deployment", "ops-controls-dispatcher")
    assert dispatcher["spec"]["replicas"] == 2
    text = (K8S / "deployment.yaml").read_text()
    assert "SKIP LOCKED" in text and "conditional UPDATE" in text
    claim = (ROOT / "payouts" / "services.py").read_text()
    assert "skip_locked=True" in claim
    assert ".update(status=PayoutStatus.PROCESSING" in claim
    spec = dispatcher["spec"]["template"]["spec"]
    # it finishes its batch on SIGTERM
    assert spec["terminationGracePeriodSeconds"] >= 30
    assert "ops-controls-dispatcher" not in {
        h["spec"]["scaleTargetRef"]["name"] for h in find("HorizontalPodAutoscaler")
    }


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
    budgets = {p["metadata"]["name"]: p for p in find("PodDisruptionBudget")}
    assert set(budgets) == {"ops-controls-web", "ops-controls-dispatcher"}
    for name, pdb in budgets.items():
        deployment = one("Deployment", name)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        replicas = hpas[name]["spec"]["minReplicas"] if name in hpas else None
        assert pdb["spec"]["minAvailable"] < (
            replicas or deployment["spec"]["replicas"]
        )


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
    # beat runs no task, the dispatcher one process; they serve nothing
    for name in ("ops-controls-beat", "ops-controls-dispatcher"):
        assert "PROMETHEUS_MULTIPROC_DIR" not in json.dumps(one("Deployment", name))
    assert (
        "PROMETHEUS_MULTIPROC_DIR"
        not in one("ConfigMap", "ops-controls-config")["data"]
    )


# --- no Secret where kubectl apply sends it; kustomize ---------------------------


def test_no_secret_in_the_applied_directory():
    """``kubectl apply -f deploy/k8s/`` (or ``-R``, or ``-k``) must never
    overwrite the real Secret with the example's placeholders."""
    assert [d for _, d in APPLIED if d["kind"] == "Secret"] == []
    assert not list(K8S.rglob("*secret*"))
    (example,) = [d for f, d in DOCS if d["kind"] == "Secret"]
    assert example["metadata"]["name"] == SECRET
    assert "CHANGE-ME" in json.dumps(example)


def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl missing: it builds the kustomizations")
        pytest.skip("kubectl not installed")
    return path


def kustomize(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def key(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def test_kustomize_builds_the_app_and_the_migration_with_one_tag():
    release = yaml.safe_load((K8S / "release" / "kustomization.yaml").read_text())
    (image,) = release["images"]
    assert image["name"] == IMAGE
    tagged = f"{image.get('newName', IMAGE)}:{image['newTag']}"

    app = kustomize(K8S)
    migrate = kustomize(K8S / "migrate")
    expected = {key(d) for f, d in APPLIED if not f.startswith("k8s/migrate/")}
    assert {key(d) for d in app} == expected
    assert [key(d) for d in migrate] == [("Job", "ops-controls-migrate")]
    containers = [
        c
        for doc in app + migrate
        if doc["kind"] in ("Deployment", "Job")
        for c in doc["spec"]["template"]["spec"]["containers"]
    ]
    assert len(containers) == 5
    assert {c["image"] for c in containers} == {tagged}
    # nothing else changed on the way: the built objects are the files' own
    for doc in app:
        if doc["kind"] != "Deployment":
            continue
        built = copy.deepcopy(doc)
        for c in built["spec"]["template"]["spec"]["containers"]:
            c["image"] = IMAGE
        assert built == one(*key(doc)), key(doc)


# --- liveness without a Celery start; spreading -------------------------------

HEARTBEAT_PROBE = "/app/deploy/docker/heartbeat-fresh.sh"


@pytest.mark.parametrize("kind", ["worker", "beat", "dispatcher"])
def test_heartbeat_probes(kind):
    """Worker, beat and dispatcher: startup and liveness read the age of the
    process's heartbeat file with sh and stat; no probe starts Python."""
    template = one("Deployment", f"ops-controls-{kind}")["spec"]["template"]
    (container,) = template["spec"]["containers"]
    var_dir = one("ConfigMap", "ops-controls-config")["data"]["MOLAM_VAR_DIR"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert var_dir in mounts  # the heartbeat lives in the writable emptyDir
    for name in ("startupProbe", "livenessProbe"):
        command = container[name]["exec"]["command"]
        assert command[:2] == ["sh", HEARTBEAT_PROBE], (kind, name)
        # HEARTBEAT_DIR's default: MOLAM_VAR_DIR/heartbeat/<kind>
        assert command[2] == f"{var_dir}/heartbeat/{kind}", (kind, name)
        # several of the default 5 s intervals, and more than the probe period
        max_age = int(command[3])
        assert max_age >= 6 * 5, (kind, name)
        assert max_age > container[name]["periodSeconds"], (kind, name)
    assert "readinessProbe" not in container  # no Service routes to them
    assert (ROOT / HEARTBEAT_PROBE.removeprefix("/app/")).is_file()
    everything = json.dumps([d for _, d in APPLIED])
    assert "inspect ping" not in everything


def test_web_spreads_over_nodes_and_zones():
    web = one("Deployment", "ops-controls-web")
    labels = web["spec"]["selector"]["matchLabels"]
    spread = {
        c["topologyKey"]: c
        for c in web["spec"]["template"]["spec"]["topologySpreadConstraints"]
    }
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for constraint in spread.values():
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"]["matchLabels"] == labels
        # a rollout's new pods are counted apart from the old ones
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


def test_web_and_worker_share_the_audit_job_volume():
    """The worker writes a job's file, the web pod serves it: one claim,
    ReadWriteMany, mounted at AUDIT_JOB_DIR's default in both."""
    (claim,) = [d for _, d in DOCS if d["kind"] == "PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("ops-controls-web", "ops-controls-worker"):
        spec = one("Deployment", name)["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert (
            volumes["audit-jobs"]["persistentVolumeClaim"]["claimName"]
            == claim["metadata"]["name"]
        )
        (app,) = spec["containers"]
        mounts = {m["name"]: m["mountPath"] for m in app["volumeMounts"]}
        assert mounts["audit-jobs"] == "/app/var/audit-jobs"
