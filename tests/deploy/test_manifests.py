"""The Helm chart, rendered by Helm's own engine, validated against Kubernetes' schemas.

Rendering: helm-python-sdk (Helm v4's Go SDK as a shared library, from PyPI; no helm binary,
no cluster). Validation: kubernetes-validate's JSON schemas of pinned Kubernetes versions, in
strict mode (an unknown field is an error, as kubectl's server-side validation would say).
CloudNativePG's Cluster / ScheduledBackup and the Barman Cloud plugin's ObjectStore are
CRDs that kubernetes-validate has no schema for: they are parsed and their key fields checked
here instead (see ``_check_cnpg``), never silently passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import helm_python as helm  # dev dependency: a missing renderer is an error, never a skip
import kubernetes_validate
import pytest
import yaml
from ruralfund_notify.app import public_paths

from ruralfund import natsauth

ROOT: Final = Path(__file__).resolve().parents[2]
CHART: Final = ROOT / "deploy" / "helm" / "ruralfund"
OVERLAYS: Final = ROOT / "deploy" / "helm" / "values"
NATS_VALUES: Final = ROOT / "deploy" / "helm" / "nats"
#: The oldest Kubernetes the chart accepts (Chart.yaml kubeVersion) and the pinned current one.
KUBERNETES_VERSIONS: Final = ("1.29.0", "1.33.0")
SERVICES: Final = natsauth.SERVICES
CRD_GROUPS: Final = ("postgresql.cnpg.io/", "barmancloud.cnpg.io/")

#: overlay file -> (release name, Kubernetes namespace) it is installed with (its header says so)
RELEASES: Final = {
    "(defaults)": ("ruralfund", "ruralfund"),
    "dev.yaml": ("dev", "ruralfund-dev"),
    "county-xinping.yaml": ("xinping", "ruralfund-xinping"),
    "shared-ruyuan.yaml": ("ruyuan", "ruralfund"),
}


def _values(overlay: str) -> dict[str, Any]:
    if overlay == "(defaults)":
        return {}
    return yaml.safe_load((OVERLAYS / overlay).read_text(encoding="utf-8")) or {}


def render(overlay: str) -> list[dict[str, Any]]:
    release, namespace = RELEASES[overlay]
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(_values(overlay), name=release, namespace=namespace, is_install=True)
    docs = [doc for path, text in sorted(files.items()) if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc]
    assert docs, f"{overlay} rendered nothing"
    return docs


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.fixture(scope="module", params=sorted(RELEASES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


# --------------------------------------------------------------------------- the chart itself


def test_every_overlay_is_rendered_by_these_tests() -> None:
    assert {p.name for p in OVERLAYS.glob("*.yaml")} == set(RELEASES) - {"(defaults)"}


def test_helm_lint_finds_no_error() -> None:
    report = helm.lint(str(CHART))
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] > 1] == [], report["messages"]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_kubernetes_schemas(
    rendered: tuple[str, list[dict[str, Any]]], version: str
) -> None:
    overlay, docs = rendered
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith(CRD_GROUPS):
            continue  # no upstream schema: checked by test_cloudnativepg_objects_are_well_formed
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 3 * len(SERVICES) + 1, overlay  # Deployment, Service, PDB each; ConfigMap


def test_a_broken_manifest_is_caught_by_the_validator() -> None:
    """The validator is really strict: a misspelt field or a wrong type fails."""
    deployment = next(iter(_of(render("dev.yaml"), "Deployment").values()))
    misspelt = yaml.safe_load(yaml.safe_dump(deployment))
    misspelt["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[-1], strict=True)
    wrong_type = yaml.safe_load(yaml.safe_dump(deployment))
    wrong_type["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSIONS[-1], strict=True)


# --------------------------------------------------------------------------- what we promise


def _containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The four services' Deployments (not the console's: it has no NATS or database)."""
    for dep in _of(docs, "Deployment").values():
        svc = dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        if svc in SERVICES:
            yield svc, dep, dep["spec"]["template"]["spec"]["containers"][0]


def test_four_deployments_with_probes_resources_and_non_root(rendered) -> None:
    overlay, docs = rendered
    seen = set()
    for svc, dep, c in _containers(docs):
        seen.add(svc)
        assert c["args"] == ["serve", svc]
        assert c["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]) & set(c["resources"]["limits"])
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
        assert pod["automountServiceAccountToken"] is False
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert seen == set(SERVICES), overlay


def test_settings_come_from_the_configmap_and_credentials_from_secrets(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    values = _values(overlay)
    ns = values.get("natsNamespace", "")
    prefix = values.get("postgres", {}).get("rolePrefix", "")
    config = _of(docs, "ConfigMap")[f"{release}-config"]["data"]
    assert config["RURALFUND_NAMESPACE"] == ns
    # streams with one copy per NATS server: 3 on the official chart's cluster, 1 on dev's server
    assert config["RURALFUND_NATS_REPLICAS"] == str(values.get("nats", {}).get("replicas", 3))
    assert config["RURALFUND_HTTP_HOST"] == "0.0.0.0"
    for svc, _dep, c in _containers(docs):
        assert c["envFrom"] == [{"configMapRef": {"name": f"{release}-config"}}]
        env = _env(c)
        secret_of = {k: e["valueFrom"]["secretKeyRef"]["name"] for k, e in env.items()
                     if "valueFrom" in e}
        assert secret_of["NATS_PASSWORD"] == f"{release}-{svc}-nats"
        assert secret_of["PGPASSWORD"] == f"{release}-{svc}-postgres"
        assert secret_of["RURALFUND_AUTH_JWT_SECRET"] == f"{release}-app"
        user = natsauth.user_name(ns, svc)
        assert re.fullmatch(rf"nats://{user}:\$\(NATS_PASSWORD\)@[\w.-]+:4222", env["NATS_URL"]["value"])
        assert re.fullmatch(rf"postgresql://{prefix}{svc}:\$\(PGPASSWORD\)@[\w.-]+:5432/\w+(\?.*)?",
                            env["DATABASE_URL"]["value"])
        # $(VAR) expands only variables defined earlier in the list.
        names = list(env)
        assert names.index("NATS_PASSWORD") < names.index("NATS_URL")
        assert names.index("PGPASSWORD") < names.index("DATABASE_URL")
        for e in env.values():
            assert "value" not in e or not re.search(r"(?i)password=|secret=", str(e["value"]))


def test_each_service_gets_its_own_event_signing_key_and_the_trusted_keys(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    for svc, _dep, c in _containers(docs):
        ref = _env(c)["RURALFUND_EVENT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
        assert (ref["name"], ref["key"]) == (f"{release}-{svc}-event-key", "signing-key")
    # public keys, set per installation (deploy/README.md: --set-file eventTrustedKeys=...)
    docs = render_with(overlay, {"eventTrustedKeys": "claims-1:claims.>:" + "A" * 43})
    config = _of(docs, "ConfigMap")[f"{release}-config"]["data"]
    assert config["RURALFUND_EVENT_TRUSTED_KEYS"] == "claims-1:claims.>:" + "A" * 43


def render_with(overlay: str, extra: dict[str, Any]) -> list[dict[str, Any]]:
    release, namespace = RELEASES[overlay]
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render({**_values(overlay), **extra}, name=release, namespace=namespace, is_install=True)
    return [doc for path, text in sorted(files.items()) if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc]


def test_services_and_disruption_budgets_select_each_deployments_pods(rendered) -> None:
    _overlay, docs = rendered
    services, pdbs = _of(docs, "Service"), _of(docs, "PodDisruptionBudget")
    for name, dep in _of(docs, "Deployment").items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert services[name]["spec"]["selector"].items() <= labels.items()
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["maxUnavailable"] == 1


def test_logistics_scales_with_an_hpa_and_the_others_do_not(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    hpas, deployments = _of(docs, "HorizontalPodAutoscaler"), _of(docs, "Deployment")
    if overlay == "dev.yaml":
        assert hpas == {}
        return
    assert set(hpas) == {f"{release}-logistics"}
    hpa = hpas[f"{release}-logistics"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": f"{release}-logistics"}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    # Helm must not fight the HPA over the replica count on every upgrade.
    assert "replicas" not in deployments[f"{release}-logistics"]["spec"]
    for svc in ("claims", "funds", "notify"):
        assert deployments[f"{release}-{svc}"]["spec"]["replicas"] >= 2


# --------------------------------------------------------------------------- CloudNativePG


def _check_cnpg(docs: list[dict[str, Any]], release: str, values: dict[str, Any]) -> None:
    """Structural checks of the CRD objects kubernetes-validate cannot validate."""
    clusters = _of(docs, "Cluster")
    assert set(clusters) == {f"{release}-pg"}
    cluster = clusters[f"{release}-pg"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    cnpg = values.get("postgres", {}).get("cnpg", {})
    assert spec["instances"] == cnpg.get("instances", 3)
    assert spec["enableSuperuserAccess"] is False
    # a commit is on a standby before it is acknowledged: a failover loses no payment
    sync = cnpg.get("synchronous", {"method": "any", "number": 1, "dataDurability": "required"})
    if sync["number"] > 0:
        assert spec["postgresql"]["synchronous"] == sync
        assert 0 < sync["number"] < spec["instances"], "synchronous standbys must exist to confirm"
    else:
        assert "synchronous" not in spec["postgresql"]
    assert spec["storage"]["size"] and spec["walStorage"]["size"]
    assert re.fullmatch(r"ghcr\.io/cloudnative-pg/postgresql:\d+(\.\d+)?", spec["imageName"])
    roles = {r["name"]: r for r in spec["managed"]["roles"]}
    assert set(roles) == set(SERVICES) | {f"{svc}_owner" for svc in SERVICES}
    deployments = _of(docs, "Deployment")
    for name, role in roles.items():
        assert role["login"] is True and role["superuser"] is False and role["ensure"] == "present"
        svc = name.removesuffix("_owner")
        pod = deployments[f"{release}-{svc}"]["spec"]["template"]["spec"]
        # the Secret CloudNativePG sets the password from is the one the pods read: the runtime
        # role's in the service container, the owner's only in the migrating init container
        app_env, init_env = _env(pod["containers"][0]), _env(pod["initContainers"][0])
        if name.endswith("_owner"):
            assert role["passwordSecret"]["name"] == init_env["PGOWNERPASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
            assert "PGOWNERPASSWORD" not in app_env
            assert not any("MIGRATION" in var for var in app_env)
            assert app_env["RURALFUND_MIGRATE_ON_START"]["value"] == "false"
            assert pod["initContainers"][0]["args"][:3] == ["db", "migrate", svc]
        else:
            assert role["passwordSecret"]["name"] == app_env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
    sql = spec["bootstrap"]["initdb"]["postInitApplicationSQL"]
    for svc in SERVICES:
        assert f"CREATE SCHEMA {svc} AUTHORIZATION {svc}_owner" in sql
        assert not any("CREATE ON DATABASE" in line and line.endswith(f" {svc}") for line in sql)
    backups = cnpg.get("backup", {}).get("enabled", True)
    assert ("plugins" in spec) == backups
    if backups:
        plugin = spec["plugins"][0]
        assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"] is True
        scheduled = _of(docs, "ScheduledBackup")[f"{release}-pg-daily"]["spec"]
        assert scheduled["cluster"]["name"] == f"{release}-pg" and scheduled["method"] == "plugin"
        assert len(scheduled["schedule"].split()) == 6  # CloudNativePG's cron has seconds
        stores = _of(docs, "ObjectStore")
        if cnpg.get("backup", {}).get("objectStore", {}).get("destinationPath"):
            store = stores[plugin["parameters"]["barmanObjectName"]]
            assert store["apiVersion"] == "barmancloud.cnpg.io/v1"
            assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")


def test_cloudnativepg_objects_are_well_formed(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    values = _values(overlay)
    if values.get("postgres", {}).get("cnpg", {}).get("enabled", True) is False:
        assert not [d for d in docs if d["apiVersion"].startswith(CRD_GROUPS)]
        assert not _of(docs, "Cluster")
        return
    _check_cnpg(docs, release, values)


def test_the_structural_check_catches_a_broken_cluster() -> None:
    docs = render("county-xinping.yaml")
    values = _values("county-xinping.yaml")
    _check_cnpg(docs, "xinping", values)
    cluster = _of(docs, "Cluster")["xinping-pg"]
    cluster["spec"]["managed"]["roles"][0]["passwordSecret"]["name"] = "someone-else"
    with pytest.raises(AssertionError):
        _check_cnpg(docs, "xinping", values)


# --------------------------------------------------------------------------- NATS values


@pytest.mark.parametrize(("path", "namespaces"), [
    ("values.yaml", [""]),
    ("values-province.yaml", ["xinping", "ruyuan"]),
])
def test_nats_chart_values_are_the_generators_output(path: str, namespaces: list[str]) -> None:
    """Regenerate: ruralfund deploy nats-helm-values [-n NS ...] --out deploy/helm/nats/<file>."""
    values = yaml.safe_load((NATS_VALUES / path).read_text(encoding="utf-8"))
    assert values == natsauth.helm_values(namespaces)
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True and config["jetstream"]["fileStore"]["enabled"] is True
    spread = values["podTemplate"]["topologySpreadConstraints"]["kubernetes.io/hostname"]
    assert spread == {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}  # a node holds one copy
    assert config["jetstream"]["merge"]["sync_interval"] == "<< always >>"
    users = {u["user"]: u for u in config["merge"]["authorization"]["users"]}
    env = values["container"]["env"]
    for user in users.values():
        var = re.fullmatch(r"<< \$(\w+) >>", user["password"])[1]
        assert env[var]["valueFrom"]["secretKeyRef"]["key"] == var


def test_every_overlays_nats_users_exist_in_the_nats_values() -> None:
    """A county's pods log in as <ns>_<service>: the province NATS must know those users."""
    files = {"": "values.yaml", "xinping": "values-province.yaml", "ruyuan": "values-province.yaml"}
    for overlay in RELEASES:
        ns = _values(overlay).get("natsNamespace", "")
        values = yaml.safe_load((NATS_VALUES / files[ns]).read_text(encoding="utf-8"))
        users = {u["user"]: u for u in values["config"]["merge"]["authorization"]["users"]}
        for svc in SERVICES:
            perms = users[natsauth.user_name(ns, svc)]["permissions"]
            assert natsauth.subject(ns, f"{svc}.evt.>") in perms["publish"]["allow"]


# --------------------------------------------------------------------------- exposure (#18, 4)


def _notify_paths_not_public() -> list[str]:
    from ruralfund_notify.app import create_app

    public = set(public_paths())
    return [p for p in create_app().openapi()["paths"] if p not in public]


def _prefix_matches(prefix: str, path: str) -> bool:
    """Kubernetes' pathType Prefix: element-wise (/publicity matches /publicity/x, not /publicityx)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def test_notify_serves_its_public_pages_on_a_port_of_their_own(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    for svc, _dep, c in _containers(docs):
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        env = _env(c)
        if svc == "notify":
            assert ports == {"http": 8000, "public": 8080}
            assert env["RURALFUND_NOTIFY_PUBLIC_PORT"]["value"] == "8080"
        else:
            assert ports == {"http": 8000} and "RURALFUND_NOTIFY_PUBLIC_PORT" not in env
    public = _of(docs, "Service")[f"{release}-notify-public"]["spec"]
    assert public["ports"] == [{"name": "http", "port": 80, "targetPort": "public", "protocol": "TCP"}]
    assert public["selector"]["app.kubernetes.io/component"] == "notify"


def test_the_console_runs_on_the_services_apis_without_nats_or_database(rendered) -> None:
    overlay, docs = rendered
    release, _ = RELEASES[overlay]
    console = _of(docs, "Deployment")[f"{release}-console"]["spec"]["template"]["spec"]
    c = console["containers"][0]
    env = _env(c)
    assert c["args"] == ["serve", "console"]
    assert {f"RURALFUND_CONSOLE_{svc.upper()}_URL": f"http://{release}-{svc}" for svc in SERVICES}.items() <= {
        k: e.get("value") for k, e in env.items()}.items()
    assert not {"NATS_URL", "DATABASE_URL", "NATS_PASSWORD", "PGPASSWORD"} & set(env)
    ref = env["RURALFUND_CONSOLE_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (f"{release}-app", "console-session-secret")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True and console["securityContext"]["runAsNonRoot"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # the same ConfigMap as the services: one IdP role map (RURALFUND_AUTH_OIDC_*) for all
    assert c["envFrom"] == [{"configMapRef": {"name": f"{release}-config"}}]


def _ingress_values(overlay: str) -> dict[str, Any]:
    return {"ingress": {**_values(overlay).get("ingress", {}), "enabled": True}}


@pytest.mark.parametrize("overlay", sorted(RELEASES))
def test_the_public_host_reaches_only_the_public_listeners_paths(overlay: str) -> None:
    release, _ = RELEASES[overlay]
    docs = render_with(overlay, _ingress_values(overlay))
    ingresses = _of(docs, "Ingress")
    assert set(ingresses) == {f"{release}-public", f"{release}-internal"}
    spec = ingresses[f"{release}-public"]["spec"]
    assert len(spec["rules"]) == 1
    paths = spec["rules"][0]["http"]["paths"]
    assert {p["backend"]["service"]["name"] for p in paths} == {f"{release}-notify-public"}
    assert {p["pathType"] for p in paths} == {"Prefix"}
    prefixes = [p["path"] for p in paths]
    for path in public_paths():
        assert any(_prefix_matches(prefix, path) for prefix in prefixes), f"{path} is not routed"
    for path in [*_notify_paths_not_public(), "/metrics", "/docs", "/openapi.json", "/healthz"]:
        assert not any(_prefix_matches(prefix, path) for prefix in prefixes), f"{path} would be public"
    assert all(any(_prefix_matches(prefix, path) for path in public_paths()) for prefix in prefixes)


@pytest.mark.parametrize("overlay", sorted(RELEASES))
def test_the_internal_host_carries_the_console_and_each_admin_api(overlay: str) -> None:
    release, _ = RELEASES[overlay]
    docs = render_with(overlay, _ingress_values(overlay))
    spec = _of(docs, "Ingress")[f"{release}-internal"]["spec"]
    host = _ingress_values(overlay)["ingress"].get("internal", {}).get("host", "ruralfund.internal.example.gov.cn")
    routes = {r["host"]: [(p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"])
                          for p in r["http"]["paths"]] for r in spec["rules"]}
    expected = {host: [("/", f"{release}-console", {"name": "http"})]}
    expected |= {f"{svc}.{host}": [("/", f"{release}-{svc}", {"name": "http"})] for svc in SERVICES}
    assert routes == expected
    public_host = _of(docs, "Ingress")[f"{release}-public"]["spec"]["rules"][0]["host"]
    assert public_host not in routes and not public_host.endswith("." + host)


# NetworkPolicy semantics, enough to ask "may this pod reach that one on this port" of the
# rendered policies: a pod selected by no policy of a direction is open in that direction; a
# selected one only where some rule of a selecting policy matches the peer and the port.

NAMESPACE_LABEL: Final = "kubernetes.io/metadata.name"


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        present = labels.get(expr["key"])
        if expr["operator"] == "In" and present not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and present in expr["values"]:
            return False
    return True


def _peer_matches(peer: dict[str, Any], policy_ns: str, pod: dict[str, Any]) -> bool:
    if "ipBlock" in peer:
        if "ip" not in pod:
            return False
        import ipaddress

        address = ipaddress.ip_address(pod["ip"])
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", []))
    if "labels" not in pod:  # an address outside the cluster: only ipBlocks name it
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], {NAMESPACE_LABEL: pod["ns"]}):
            return False
    elif pod["ns"] != policy_ns:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], pod["labels"])


def _port_matches(rule_ports: list[dict[str, Any]] | None, dst: dict[str, Any], port: int) -> bool:
    if not rule_ports:
        return True
    named = {name for name, number in dst.get("ports", {}).items() if number == port}
    return any(p["port"] == port or p["port"] in named for p in rule_ports)


def _allowed_side(policies, side: str, me: dict[str, Any], peer: dict[str, Any], dst, port: int) -> bool:
    kind, peers_key = ("Ingress", "from") if side == "ingress" else ("Egress", "to")
    selecting = [p for p in policies if p["metadata"]["namespace"] == me["ns"]
                 and kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], me["labels"])]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(side, []) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(x, policy["metadata"]["namespace"], peer) for x in peers)) \
                    and _port_matches(rule.get("ports"), dst, port):
                return True
    return False


def _may_connect(policies, src: dict[str, Any], dst: dict[str, Any], port: int) -> bool:
    egress = "labels" not in src or _allowed_side(policies, "egress", src, dst, dst, port)
    ingress = "labels" not in dst or _allowed_side(policies, "ingress", dst, src, dst, port)
    return egress and ingress


def _pods(docs: list[dict[str, Any]], namespace: str) -> dict[str, dict[str, Any]]:
    pods = {}
    for dep in _of(docs, "Deployment").values():
        template = dep["spec"]["template"]
        component = template["metadata"]["labels"]["app.kubernetes.io/component"]
        pods[component] = {"ns": namespace, "labels": template["metadata"]["labels"],
                           "ports": {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}}
    return pods


def test_network_policies_let_services_reach_nats_and_postgres_only() -> None:
    overlay = "county-xinping.yaml"
    release, namespace = RELEASES[overlay]
    docs = render(overlay)
    policies = list(_of(docs, "NetworkPolicy").values())
    assert policies, "county-xinping.yaml turns the policies on"
    pods = _pods(docs, namespace)
    nats = {"ns": "nats", "labels": {"app.kubernetes.io/name": "nats"}, "ports": {"client": 4222}}
    postgres = {"ns": namespace, "labels": {"cnpg.io/cluster": f"{release}-pg", "cnpg.io/instanceRole": "primary"}}
    other_pg = {"ns": namespace, "labels": {"cnpg.io/cluster": "someone-else-pg"}}
    dns = {"ns": "kube-system", "labels": {"k8s-app": "kube-dns"}}
    controller = {"ns": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}}
    stranger = {"ns": "default", "labels": {"app": "curious"}}
    internet, lan = {"ip": "203.0.113.7"}, {"ip": "10.1.2.3"}

    for svc in SERVICES:
        me = pods[svc]
        assert _may_connect(policies, me, nats, 4222), svc
        assert _may_connect(policies, me, postgres, 5432), svc
        assert _may_connect(policies, me, dns, 53), svc
        assert not _may_connect(policies, me, other_pg, 5432), svc
        assert not _may_connect(policies, me, nats, 8222), svc  # monitoring is not theirs
        assert not _may_connect(policies, me, pods["console"], 8000), svc
        for other in SERVICES:
            if other != svc:  # services talk over NATS, never to each other's API
                assert not _may_connect(policies, me, pods[other], 8000), (svc, other)
        assert _may_connect(policies, pods["console"], me, 8000), svc
        assert _may_connect(policies, controller, me, 8000), svc
        assert not _may_connect(policies, stranger, me, 8000), svc
        assert _may_connect(policies, me, internet, 443) == (svc == "notify"), svc  # webhooks
        assert _may_connect(policies, me, internet, 465) == (svc == "notify"), svc  # SMTP
        assert not _may_connect(policies, me, lan, 443), svc
    # the public listener: the ingress controller only, not even the console or another service
    assert _may_connect(policies, controller, pods["notify"], 8080)
    assert not _may_connect(policies, pods["console"], pods["notify"], 8080)
    assert not _may_connect(policies, pods["claims"], pods["notify"], 8080)
    assert not _may_connect(policies, stranger, pods["notify"], 8080)
    # the console: reached by the ingress controller, reaches the APIs and nothing of the data
    assert _may_connect(policies, controller, pods["console"], 8000)
    assert not _may_connect(policies, stranger, pods["console"], 8000)
    assert not _may_connect(policies, pods["console"], nats, 4222)
    assert not _may_connect(policies, pods["console"], postgres, 5432)
    assert not _may_connect(policies, pods["console"], internet, 443)
    # the CloudNativePG pods are none of these policies' business (they need the operator etc.)
    assert _may_connect(policies, stranger, postgres, 5432)


def test_the_policy_check_sees_a_hole() -> None:
    """The evaluator above is not blind: an egress rule open to everything is caught."""
    overlay = "county-xinping.yaml"
    _release, namespace = RELEASES[overlay]
    docs = render_with(overlay, {"networkPolicy": {"enabled": True, "extraEgress": [{"ports": [{"port": 8000}]}]}})
    policies = list(_of(docs, "NetworkPolicy").values())
    pods = _pods(docs, namespace)
    assert _may_connect(policies, pods["claims"], {"ip": "203.0.113.7"}, 8000)
    assert not _may_connect(policies, pods["claims"], pods["funds"], 8000)  # funds' ingress still closed


def test_nats_tls_mounts_each_service_only_the_ca_and_its_own_key() -> None:
    """nats.tls.enabled: tls:// URLs, RURALFUND_NATS_TLS_* pointing into a read-only mount that
    holds the CA and the service's own certificate and key, no other service's."""
    docs = render_with("county-xinping.yaml", {"nats": {"address": "nats.nats.svc.cluster.local:4222",
                                                       "tls": {"enabled": True}}})
    for svc, dep, c in _containers(docs):
        env = _env(c)
        assert env["NATS_URL"]["value"].startswith("tls://"), svc
        files = {k: env[f"RURALFUND_NATS_TLS_{k}_FILE"]["value"] for k in ("CA", "CERT", "KEY")}
        assert files == {"CA": "/etc/ruralfund/nats-tls/ca.crt", "CERT": f"/etc/ruralfund/nats-tls/{svc}.crt",
                         "KEY": f"/etc/ruralfund/nats-tls/{svc}.key"}
        mount = next(m for m in c["volumeMounts"] if m["name"] == "nats-tls")
        assert mount["readOnly"] is True and mount["mountPath"] == "/etc/ruralfund/nats-tls"
        volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "nats-tls")
        assert volume["secret"]["secretName"] == "xinping-nats-tls"
        assert {i["key"] for i in volume["secret"]["items"]} == {"ca.crt", f"{svc}.crt", f"{svc}.key"}
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(dep, version, strict=True)
    plain = _containers(render("county-xinping.yaml"))
    assert all(_env(c)["NATS_URL"]["value"].startswith("nats://") and "RURALFUND_NATS_TLS_CA_FILE" not in _env(c)
               for _svc, _dep, c in plain)
