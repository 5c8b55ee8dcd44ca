"""``complaintwatch send --once`` and ``outbox list`` / ``outbox retry`` against a real receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fakes.server import Reply
from routing_factories import WEBHOOK_SECRET, WebhookReceiver, add_tagged, make_config
from sqlalchemy import select

from monitor.cli import main
from monitor.routing import route_pending
from monitor.settings import DestinationSettings
from monitor.store.models import AuditEvent

CONFIG = """
[database]
url = "{url}"

[[brands]]
name = "Telvia"

[[destinations]]
name = "support"
kind = "webhook"
url = "{hook}"

[[routing.rules]]
name = "all-to-support"
destination = "support"
"""


@pytest.fixture
def receiver():
    instance = WebhookReceiver().start()
    yield instance
    instance.stop()


@pytest.fixture
def cli(store, database_url, receiver, tmp_path, monkeypatch, capsys):
    """Runs the CLI in-process on a config with one webhook destination and one routed complaint."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(url=database_url, hook=receiver.url), encoding="utf-8")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_SUPPORT_SECRET", WEBHOOK_SECRET)
    monkeypatch.delenv("COMPLAINTWATCH_DATABASE_URL", raising=False)
    config = make_config(
        database_url, destinations=[DestinationSettings(name="support", kind="webhook", url="-")]
    )
    now = datetime.now(UTC)
    with store.session() as session:
        add_tagged(session, "1", created_at=now)
        route_pending(session, config, now)

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(["--config", str(path), *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_send_once_delivers_and_list_shows_it(cli, receiver):
    assert cli("send", "--once") == (0, "sent 1, retried 0, dead 0\n", "")
    assert len(receiver.acted_on) == 1
    code, out, _ = cli("outbox", "list")
    assert code == 0 and out.startswith("#1") and " sent " in out and "support" in out
    code, out, _ = cli("outbox", "list", "--state", "dead")
    assert out == "no messages in state dead\n"


def test_dead_messages_are_listed_and_retried(cli, receiver, store):
    receiver.server.fail_next("/hook", Reply(400, {"error": "schema"}))
    assert cli("send", "--once")[1] == "sent 0, retried 0, dead 1\n"
    code, out, _ = cli("outbox", "list", "--state", "dead", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (row["id"], row["state"], row["purpose"]) == (1, "dead", "handoff") and "HTTP 400" in row[
        "last_error"
    ]
    assert cli("outbox", "retry", "1", "--user", "ops") == (0, "outbox #1 is pending again\n", "")
    with store.session() as session:
        assert (
            session.scalars(select(AuditEvent.actor).where(AuditEvent.kind == "outbox_retry")).one() == "ops"
        )
    code, _, err = cli("outbox", "retry", "1")
    assert code == 2 and err == "error: outbox #1 is pending, only dead messages can be retried\n"
    assert cli("send", "--once")[1] == "sent 1, retried 0, dead 0\n"
    code, _, err = cli("outbox", "retry", "42")
    assert (code, err) == (2, "error: no outbox message #42\n")
