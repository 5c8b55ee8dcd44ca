"""A sender process killed between the HTTP send and the database update loses nothing.

The child process is a real ``deliver_due`` run; the fault hook makes it ``os._exit`` right after
the receiver answered and before the outcome is recorded. A restarted run takes the message over
when its lease ends and sends it again with the same idempotency key: a receiver that honours
the key acts once, one that does not gets it at least once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from routing_factories import T0, WEBHOOK_SECRET, WebhookReceiver, add_tagged, make_config
from sqlalchemy import select

from monitor.routing import route_pending
from monitor.routing.outbox import CRASH_AFTER_SEND_ENV, CRASH_EXIT_CODE, DeliveryPolicy
from monitor.settings import DestinationSettings
from monitor.store.models import OutboxMessage, Route

REPO = Path(__file__).resolve().parents[1]
NOW = T0 + timedelta(minutes=5)
CHILD = textwrap.dedent(
    """
    import json, os, sys
    from datetime import datetime
    from monitor.config import from_settings
    from monitor.routing.outbox import deliver_due
    from monitor.settings import DestinationSettings, Settings
    from monitor.store import Store

    url = os.environ["CHILD_DATABASE_URL"]
    hook = DestinationSettings(name="support", kind="webhook", url=os.environ["CHILD_HOOK_URL"])
    config = from_settings(Settings(destinations=[hook]), url)
    print(json.dumps(deliver_due(Store(url), config, datetime.fromisoformat(sys.argv[1]))))
    """
)


def _run_sender(database_url: str, hook_url: str, now, *, crash: bool) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CHILD_DATABASE_URL": database_url,
        "CHILD_HOOK_URL": hook_url,
        "COMPLAINTWATCH_DESTINATION_SUPPORT_SECRET": WEBHOOK_SECRET,
    }
    env.pop(CRASH_AFTER_SEND_ENV, None)
    if crash:
        env[CRASH_AFTER_SEND_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-c", CHILD, now.isoformat()], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("dedupe", [True, False], ids=["receiver-honours-key", "receiver-ignores-key"])
def test_crash_between_send_and_record_never_loses_and_never_doubles_for_a_deduping_receiver(
    store, database_url, dedupe
):
    receiver = WebhookReceiver(dedupe=dedupe).start()
    try:
        config = make_config(
            database_url, destinations=[DestinationSettings(name="support", kind="webhook", url="-")]
        )
        with store.session() as session:
            add_tagged(session, "1")
            route_pending(session, config, NOW)

        crashed = _run_sender(database_url, receiver.url, NOW, crash=True)
        assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
        assert len(receiver.server.calls("/hook")) == 1  # it was sent...
        with store.session() as session:
            message = session.scalars(select(OutboxMessage)).one()
            assert (message.state, message.sent_at) == ("sending", None)  # ...but not recorded

        restart = NOW + timedelta(seconds=DeliveryPolicy().lease_s + 1)
        restarted = _run_sender(database_url, receiver.url, restart, crash=False)
        assert restarted.returncode == 0, restarted.stderr
        assert restarted.stdout.strip() == '{"sent": 1, "retried": 0, "dead": 0}'
    finally:
        receiver.stop()

    keys = [r.headers["idempotency-key"] for r in receiver.server.calls("/hook")]
    assert len(keys) == 2 and keys[0] == keys[1] == message.idempotency_key  # same key both times
    if dedupe:
        assert len(receiver.acted_on) == 1 and receiver.duplicates == 1  # exactly once
    else:
        assert len(receiver.acted_on) >= 1  # at least once
    with store.session() as session:
        message = session.scalars(select(OutboxMessage)).one()
        assert (message.state, message.sent_at, message.attempts) == ("sent", restart, 2)
        assert session.scalars(select(Route.handed_off_at)).one() == restart
