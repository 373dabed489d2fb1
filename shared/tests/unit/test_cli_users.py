"""``ruralfund users``: create people, list them, print tokens the services accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruralfund_common.auth import AuthSettings, Role, verify_token
from typer.testing import CliRunner

from ruralfund.cli_users import app

SECRET = "cli-test-secret-0123456789-abcdefghijk"
TEA_CO = "91530427MA6N0000X1"


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return tmp_path / "users.json"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("RURALFUND_AUTH_JWT_SECRET", SECRET)
    monkeypatch.setenv("RURALFUND_ENV", "development")
    monkeypatch.delenv("RURALFUND_USERS_FILE", raising=False)
    return CliRunner()


def _settings() -> AuthSettings:
    return AuthSettings(jwt_secret=SECRET)


def test_create_prints_the_person_and_a_working_token(runner: CliRunner, users_file: Path) -> None:
    result = runner.invoke(
        app,
        ["create", "张三", "--role", "leading_group", "--role", "auditor",
         "--linked", TEA_CO, "--users-file", str(users_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "张三" in result.stdout and "leading_group" in result.stdout
    token = result.stdout.strip().splitlines()[-1]
    person = verify_token(token, _settings())
    assert person.name == "张三"
    assert person.roles == {Role.LEADING_GROUP, Role.AUDITOR}
    assert person.linked_credit_codes == {TEA_CO}
    assert json.loads(users_file.read_text())["users"][0]["subject"] == person.subject


def test_token_prints_only_the_token(runner: CliRunner, users_file: Path) -> None:
    runner.invoke(
        app,
        ["create", "Xinping Tea Co", "--role", "enterprise", "--credit-code", TEA_CO,
         "--users-file", str(users_file)],
    )  # fmt: skip
    result = runner.invoke(app, ["token", "xinping tea co", "--users-file", str(users_file)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1  # so `TOKEN=$(ruralfund users token …)` works
    person = verify_token(lines[0], _settings())
    assert person.credit_code == TEA_CO
    by_id = runner.invoke(app, ["token", person.subject, "--users-file", str(users_file)])
    assert verify_token(by_id.stdout.strip(), _settings()).subject == person.subject


def test_users_file_from_environment(
    runner: CliRunner, users_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RURALFUND_USERS_FILE", str(users_file))
    assert runner.invoke(app, ["create", "Finance", "--role", "finance_bureau"]).exit_code == 0
    assert users_file.exists()


def test_list_shows_everyone(runner: CliRunner, users_file: Path) -> None:
    for name, role in (("Alice", "bureau_admin"), ("Bob", "contractor_signatory")):
        runner.invoke(app, ["create", name, "--role", role, "--users-file", str(users_file)])
    table = runner.invoke(app, ["list", "--users-file", str(users_file)])
    assert table.exit_code == 0
    assert "Alice" in table.stdout and "contractor_signatory" in table.stdout
    rows = json.loads(
        runner.invoke(app, ["list", "--json", "--users-file", str(users_file)]).stdout
    )
    assert [(r["name"], r["roles"]) for r in rows] == [
        ("Alice", ["bureau_admin"]),
        ("Bob", ["contractor_signatory"]),
    ]


def test_list_of_an_empty_directory(runner: CliRunner, users_file: Path) -> None:
    result = runner.invoke(app, ["list", "--users-file", str(users_file)])
    assert result.exit_code == 0 and "no people" in result.stdout


def test_refusals_exit_non_zero_with_a_message_on_stderr(
    runner: CliRunner, users_file: Path
) -> None:
    f = ["--users-file", str(users_file)]
    no_code = runner.invoke(app, ["create", "Tea", "--role", "enterprise", *f])
    assert no_code.exit_code == 1 and "credit_code" in no_code.stderr
    runner.invoke(app, ["create", "Alice", "--role", "auditor", *f])
    duplicate = runner.invoke(app, ["create", "ALICE", "--role", "auditor", *f])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    unknown = runner.invoke(app, ["token", "nobody", *f])
    assert unknown.exit_code == 1 and unknown.stdout == ""
    bad_role = runner.invoke(app, ["create", "Eve", "--role", "superuser", *f])
    assert bad_role.exit_code == 2


def test_production_with_the_dev_secret_refuses_to_mint(
    runner: CliRunner, users_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["create", "Ops", "--role", "system", "--users-file", str(users_file)])
    monkeypatch.setenv("RURALFUND_ENV", "production")
    monkeypatch.delenv("RURALFUND_AUTH_JWT_SECRET")
    result = runner.invoke(app, ["token", "Ops", "--users-file", str(users_file)])
    assert result.exit_code == 1 and "development default" in result.stderr
