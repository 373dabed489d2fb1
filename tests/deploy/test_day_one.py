"""deploy/README.md's "Day one": every ``ruralfund`` command it names exists, every setting it
names is one the deployment documents, and its mail check sends a real mail through an SMTP
server (and says why when the server is not there)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any, Final

import pytest
from aiosmtpd.controller import Controller
from ruralfund_common.testing.infra import free_port
from typer.testing import CliRunner

from ruralfund import cli

ROOT: Final = Path(__file__).resolve().parents[2]


def _day_one() -> str:
    readme = (ROOT / "deploy/README.md").read_text(encoding="utf-8")
    return readme.split("## Day one")[1].split("\n## ")[0]


def _commands() -> list[list[str]]:
    """``ruralfund <group> [<command>]`` as the walkthrough writes them (code and text)."""
    found: dict[tuple[str, ...], None] = {}
    for match in re.finditer(r"\bruralfund ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", _day_one()):
        found[tuple(w for w in match.groups() if w)] = None
    return [list(words) for words in found]


def test_the_walkthrough_names_the_steps_of_day_one() -> None:
    text = _day_one()
    for step in ("mirror", "registry", ".gitignore", "smtp-check", "IdP", "program check", "/programs",
                 "releases", "/publicity", "first paid award"):
        assert step in text, step
    assert len(_commands()) >= 5, _commands()


@pytest.mark.parametrize("words", _commands(), ids=" ".join)
def test_each_command_the_walkthrough_names_exists(words: list[str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli.app, [*words, "--help"])
    if result.exit_code != 0 and len(words) == 2:  # "ruralfund program check FILE": a group and its command
        result = runner.invoke(cli.app, [words[0], "--help"])
    assert result.exit_code == 0, (words, result.output)
    if len(words) == 2 and words[1] not in result.output:
        pytest.fail(f"ruralfund {' '.join(words)}: no such command")


def test_each_setting_the_walkthrough_names_is_documented() -> None:
    documented = (ROOT / ".env.example").read_text(encoding="utf-8") + (
        ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / "services/console/README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(RURALFUND_[A-Z0-9_]*[A-Z0-9])", _day_one()))
    # "`RURALFUND_NATS_IMAGE=…` (and `_POSTGRES_`, …)" style shorthands are not whole names
    missing = sorted(n for n in named if n not in documented)
    assert not missing, f"named in Day one but documented nowhere: {missing}"


# --------------------------------------------------------------------------- smtp-check


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _mail_env(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RURALFUND_NOTIFY_SMTP_USER", "RURALFUND_NOTIFY_SMTP_PASSWORD", "RURALFUND_NOTIFY_SMTP_SSL",
                "RURALFUND_NOTIFY_SMTP_STARTTLS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RURALFUND_NOTIFY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RURALFUND_NOTIFY_SMTP_PORT", str(port))
    monkeypatch.setenv("RURALFUND_NOTIFY_SMTP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("RURALFUND_NOTIFY_MAIL_FROM", "新平县商务局 <ruralfund@xinping.example.gov.cn>")


def test_smtp_check_sends_one_mail_with_notifys_settings(smtp_server, monkeypatch) -> None:
    port, inbox = smtp_server
    _mail_env(port, monkeypatch)
    result = CliRunner().invoke(cli.app, ["deploy", "smtp-check", "--to", "ops@xinping.example.gov.cn"])
    assert result.exit_code == 0, result.output
    assert f"127.0.0.1:{port} accepted a test mail to ops@xinping.example.gov.cn" in result.output
    [(sender, recipients, content)] = inbox.messages
    assert (sender, recipients) == ("ruralfund@xinping.example.gov.cn", ["ops@xinping.example.gov.cn"])
    mail = message_from_bytes(content)
    assert str(make_header(decode_header(mail["Subject"]))) == "电子商务进农村综合示范资金系统：邮件测试"
    assert "测试邮件" in mail.get_payload(decode=True).decode("utf-8")


def test_smtp_check_says_why_when_no_server_takes_the_mail(monkeypatch) -> None:
    port = free_port()  # nothing listens there
    _mail_env(port, monkeypatch)
    result = CliRunner().invoke(cli.app, ["deploy", "smtp-check", "--to", "ops@xinping.example.gov.cn"])
    assert result.exit_code != 0
    assert f"127.0.0.1:{port} did not take the mail: SMTP unavailable" in result.output
