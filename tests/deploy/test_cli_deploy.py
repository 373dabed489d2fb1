"""``ruralfund deploy`` (mounted by the main CLI; tested here on its own Typer app)."""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from ruralfund import natsauth
from ruralfund.cli_deploy import app

from .conftest import nats_server_binary

runner = CliRunner()


def _user_nkey(fill: int) -> str:
    """A well-formed public user nkey (prefix U, CRC16/XMODEM), as `nk -gen user` prints."""
    raw = bytes([20 << 3]) + bytes([fill]) * 32  # 20 << 3: the nkeys "user" prefix byte
    crc = binascii.crc_hqx(raw, 0).to_bytes(2, "little")
    return base64.b32encode(raw + crc).decode().rstrip("=")


def test_nats_config_writes_the_generated_config(tmp_path: Path) -> None:
    out = tmp_path / "nats.conf"
    result = runner.invoke(app, ["nats-config", "--namespace", "xinping", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == natsauth.render_config(["xinping"])
    text = out.read_text(encoding="utf-8")
    assert 'user: "xinping_funds", password: $RURALFUND_NATS_XINPING_FUNDS_PASSWORD' in text
    assert "sync_interval: always" in text


def test_nats_config_to_stdout_names_no_secret() -> None:
    result = runner.invoke(app, ["nats-config"])
    assert result.exit_code == 0, result.output
    assert re.findall(r"password: (\S+)", result.output) == [
        f"${natsauth.password_env_var('', who)}" for who in ("ops", *natsauth.SERVICES, "subscriber")
    ]


def test_nats_config_names_the_subscribers_asked_for() -> None:
    """One read-only `subscriber` by default; --subscriber replaces it with the names given."""
    result = runner.invoke(app, ["nats-config", "-n", "xinping", "--subscriber", "tax_bureau",
                                 "--subscriber", "bank"])
    assert result.exit_code == 0, result.output
    assert "$RURALFUND_NATS_XINPING_TAX_BUREAU_PASSWORD" in result.output
    assert '"$JS.API.CONSUMER.MSG.NEXT.XINPING_FUNDS.ext_xinping_bank"' in result.output
    assert '"_INBOX_xinping_tax_bureau.>"' in result.output and "SUBSCRIBER_PASSWORD" not in result.output
    values = dict(line.split("=", 1) for line in
                  runner.invoke(app, ["secrets", "-n", "xinping", "--subscriber", "bank"]).output.splitlines())
    assert natsauth.password_is_safe(values["RURALFUND_NATS_XINPING_BANK_PASSWORD"])
    for taken in ("funds", "ops", "Bank", "tax-bureau"):
        for command in ("nats-config", "nats-helm-values", "secrets"):
            bad = runner.invoke(app, [command, "--subscriber", taken])
            assert bad.exit_code == 2, (command, taken, bad.output)


def test_nats_config_with_literal_password_nkey_and_sender_is_valid_for_nats_server(
    tmp_path: Path,
) -> None:
    nkey = _user_nkey(1)
    pw = natsauth.new_password()
    out = tmp_path / "nats.conf"
    result = runner.invoke(app, [
        "nats-config", "--out", str(out), "--store-dir", str(tmp_path / "js"), "--http", "",
        "--password", f"ops={pw}", "--password", f"claims={pw}", "--nkey", f"funds={nkey}",
        "--nkey", f"logistics={_user_nkey(2)}", "--nkey", f"notify={_user_nkey(3)}",
        "--password", f"sorting_line={pw}", "--command-sender", "sorting_line=logistics",
        "--password", f"subscriber={pw}",
    ])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert f'password: "{pw}"' in text and f"nkey: {nkey}" in text
    assert '"logistics.cmd.>"' in text and "http:" not in text
    check = subprocess.run([str(nats_server_binary()), "-c", str(out), "-t"],
                           capture_output=True, text=True, timeout=30, check=False)
    assert check.returncode == 0, check.stderr + check.stdout


def test_nats_config_refuses_bad_input() -> None:
    cases = [
        ["--namespace", "no-dashes"],
        ["--password", "claims=short"],
        ["--password", "claims=-StartsWithDash0000000000000000"],
        ["--nkey", "funds=not-a-key"],
        ["--command-sender", "sorting_line=warehouse"],
        ["--command-sender", "claims=logistics"],  # collides with the claims service user
        ["--password", "no-equals-sign"],
    ]
    for args in cases:
        result = runner.invoke(app, ["nats-config", *args])
        assert result.exit_code == 2, (args, result.output)


def test_secrets_prints_fresh_safe_values_for_every_setting() -> None:
    first = runner.invoke(app, ["secrets", "-n", "xinping"])
    second = runner.invoke(app, ["secrets", "-n", "xinping"])
    assert first.exit_code == 0 and second.exit_code == 0
    values = dict(line.split("=", 1) for line in first.output.splitlines())
    assert "RURALFUND_NATS_XINPING_CLAIMS_PASSWORD" in values
    assert {"POSTGRES_FUNDS_PASSWORD", "POSTGRES_PASSWORD", "RURALFUND_AUTH_JWT_SECRET"} <= set(values)
    for name, value in values.items():
        if name.endswith("_PASSWORD"):
            assert natsauth.password_is_safe(value), name
    assert len(values["RURALFUND_AUTH_JWT_SECRET"]) >= 43  # >= 32 bytes
    assert first.output != second.output


def test_secrets_make_event_keys_each_trusted_only_for_its_own_subjects() -> None:
    from ruralfund_common.messaging.signing import (
        EventKeys,
        SignatureRejected,
        SigningKey,
        TrustedKeys,
    )

    result = runner.invoke(app, ["secrets", "--command-sender", "sorting_line=logistics"])
    assert result.exit_code == 0, result.output
    values = dict(line.split("=", 1) for line in result.output.splitlines())
    trusted_text = values["RURALFUND_EVENT_TRUSTED_KEYS"]
    assert trusted_text.startswith("'") and trusted_text.endswith("'")  # '>' must not meet a shell
    trusted = TrustedKeys.parse(trusted_text.strip("'"))
    keys = {s: SigningKey.parse(values[f"RURALFUND_{s.upper()}_EVENT_SIGNING_KEY"])
            for s in (*natsauth.SERVICES, "sorting_line", "ops")}
    assert sorted(trusted.key_ids) == sorted(k.key_id for k in keys.values())
    for signer, key in keys.items():
        assert not key.is_dev and key.key_id.startswith(f"{signer}-")
        # production accepts them (what a service does at start)
        EventKeys.load(signer, env="production", signing_key=key.setting(), trusted_keys=trusted_text.strip("'"))
    claims = "claims.evt.claim_approved.v1"
    assert trusted.verify(claims, claims, b"{}", keys["claims"].sign(claims, b"{}", {})) == keys["claims"].key_id
    for other in ("funds", "sorting_line"):
        try:
            trusted.verify(claims, claims, b"{}", keys[other].sign(claims, b"{}", {}))
            raise AssertionError(f"{other} may sign a claims event")
        except SignatureRejected as err:
            assert err.code == "WRONG_SIGNER"
    scans = "logistics.cmd.record_scans.v1"
    assert trusted.verify(scans, scans, b"{}", keys["sorting_line"].sign(scans, b"{}", {})).startswith("sorting_line-")
    # the operator signs redrive marks, of any owner's subject, and nothing else
    marked = keys["claims"].sign(claims, b"{}", {"Ruralfund-Redriven-From": "RURALFUND_DLQ:7"})
    assert trusted.verify_redrive(claims, claims, b"{}", keys["ops"].sign_redrive(claims, b"{}", marked)).startswith("ops-")
    for not_ops in ("claims", "sorting_line"):
        try:
            trusted.verify_redrive(claims, claims, b"{}", keys[not_ops].sign_redrive(claims, b"{}", marked))
            raise AssertionError(f"{not_ops} may sign a redrive")
        except SignatureRejected as err:
            assert err.code == "WRONG_SIGNER"
    try:
        trusted.verify(claims, claims, b"{}", keys["ops"].sign(claims, b"{}", {}))
        raise AssertionError("the operator may sign a claims event")
    except SignatureRejected as err:
        assert err.code == "WRONG_SIGNER"
    again = runner.invoke(app, ["secrets"])
    assert values["RURALFUND_CLAIMS_EVENT_SIGNING_KEY"] not in again.output  # fresh every time
    per_county = runner.invoke(app, ["secrets", "-n", "xinping", "-n", "ruyuan"]).output
    assert "RURALFUND_XINPING_CLAIMS_EVENT_SIGNING_KEY=xinping_claims-" in per_county
    assert "RURALFUND_RUYUAN_EVENT_TRUSTED_KEYS='ruyuan_claims-" in per_county
    assert runner.invoke(app, ["secrets", "--command-sender", "x=nobody"]).exit_code == 2


def test_event_key_prints_a_new_key_and_its_trusted_entry() -> None:
    from ruralfund_common.messaging.signing import SigningKey, TrustedKeys

    result = runner.invoke(app, ["event-key", "funds"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    var, secret = lines[0].split("=", 1)
    assert var == "RURALFUND_FUNDS_EVENT_SIGNING_KEY"
    key = SigningKey.parse(secret)
    trusted = TrustedKeys.parse(lines[-1])
    assert trusted.key_ids == [key.key_id] and lines[-1].split(":")[1] == "funds.>"
    gateway = runner.invoke(app, ["event-key", "sorter", "--scope", "logistics.cmd.>", "-n", "xinping"])
    assert gateway.exit_code == 0 and ":logistics.cmd.>:" in gateway.output
    assert "RURALFUND_XINPING_SORTER_EVENT_SIGNING_KEY=xinping_sorter-" in gateway.output
    assert runner.invoke(app, ["event-key", "sorter"]).exit_code == 2  # not a service: scope needed
    assert runner.invoke(app, ["event-key", "funds", "--scope", "Bad Scope"]).exit_code == 2
