from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ruralfund_common.clock import DevClock, DevClockForbidden, SystemClock, make_clock
from ruralfund_common.settings import load_settings, nats_servers


def test_dev_clock_refused_in_production():
    with pytest.raises(DevClockForbidden) as e:
        make_clock("dev", "production")
    assert e.value.code == "DEV_CLOCK_IN_PRODUCTION"
    assert isinstance(make_clock("system", "production"), SystemClock)
    assert isinstance(make_clock("dev", "development"), DevClock)


def test_dev_clock_set_and_advance():
    clock = DevClock()
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert abs(clock.now() - datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) < timedelta(seconds=2)
    clock.advance(timedelta(days=5))
    assert clock.now().date().isoformat() == "2026-03-07"
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 3, 2))


def test_dev_clock_file_moves_every_process_together(tmp_path):
    a, b = DevClock(tmp_path / "clock.json"), DevClock(tmp_path / "clock.json")
    a.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert b.now().year == 2030
    b.advance(timedelta(days=400))
    assert a.now().year == 2031


def test_settings_prefer_service_specific_then_common_then_bare_names():
    env = {"NATS_URL": "nats://bare:4222", "RURALFUND_NATS_URL": "nats://common:4222",
           "RURALFUND_FUNDS_NATS_URL": "nats://funds:4222", "DATABASE_URL": "postgresql://db/x",
           "RURALFUND_NAMESPACE": "Demo_1"}
    assert load_settings("funds", env).nats_url == "nats://funds:4222"
    assert load_settings("claims", env).nats_url == "nats://common:4222"
    assert load_settings("claims", env).database_url == "postgresql://db/x"
    assert load_settings("claims", env).namespace == "demo_1"
    with pytest.raises(ValueError):
        load_settings("claims", {"RURALFUND_NAMESPACE": "a.b"})


def test_nats_url_may_list_a_clusters_servers_and_replicas_default_to_one():
    env = {"NATS_URL": "nats://n1:4222, nats://n2:4222,nats://n3:4222", "RURALFUND_NATS_REPLICAS": "3"}
    settings = load_settings("funds", env)
    assert nats_servers(settings.nats_url) == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]
    assert settings.nats_replicas == 3
    assert load_settings("funds", {}).nats_replicas == 1
    assert nats_servers("nats://one:4222") == ["nats://one:4222"]
    for bad in ({"RURALFUND_NATS_REPLICAS": "0"}, {"NATS_URL": " , "}):
        with pytest.raises(ValueError):
            load_settings("funds", bad)
