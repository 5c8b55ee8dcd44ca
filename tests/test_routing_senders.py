"""Each channel against a real local receiver: SMTP (aiosmtpd), Zammad, Slack and Mastodon fakes."""

from __future__ import annotations

import email
import socket
import subprocess
import threading
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fakes.server import FakeServer, Reply, Request
from routing_factories import T0, add_tagged, make_config
from sqlalchemy import select

from monitor.routing import actions, route_pending
from monitor.routing.outbox import deliver_due
from monitor.routing.senders import dm
from monitor.routing.senders.base import OutgoingMessage, PermanentDeliveryError
from monitor.routing.senders.email import message_id
from monitor.settings import DestinationSettings, RoutingRuleSettings
from monitor.store.models import OutboxMessage, Route

NOW = T0 + timedelta(minutes=5)
POST = "Telvia, mein Internet ist seit drei Tagen weg!"


def _route_to(store, database_url, destination: DestinationSettings, **tagged):
    rule = RoutingRuleSettings(name="to-dest", queue="support", destination=destination.name)
    config = make_config(database_url, rules=[rule], destinations=[destination])
    with store.session() as session:
        add_tagged(session, "1", **tagged)
        route_pending(session, config, NOW)
    return config


def _outbox(store) -> OutboxMessage:
    with store.session() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)).one()


# -- e-mail ------------------------------------------------------------------------------------------


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd hook
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"bot", b"pw")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    import ssl

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    mailbox = _Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=_check_login,
        auth_required=True,
    )
    controller.start()
    yield controller, mailbox, cert
    controller.stop()


def test_email_handoff_over_starttls_with_login(store, database_url, smtp_server, monkeypatch):
    controller, mailbox, cert = smtp_server
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_SUPPORT_MAIL_USERNAME", "bot")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_SUPPORT_MAIL_PASSWORD", "pw")
    destination = DestinationSettings(
        name="support-mail",
        kind="email",
        url=f"smtp://127.0.0.1:{controller.port}",
        options={
            "from": "bot@telvia.example",
            "to": ["care@telvia.example"],
            "starttls": True,
            "ca_file": str(cert),
        },
    )
    config = _route_to(store, database_url, destination)
    assert deliver_due(store, config, NOW)["sent"] == 1
    ((recipients, mail),) = mailbox.messages
    key = _outbox(store).idempotency_key
    assert recipients == ["care@telvia.example"]
    assert mail["Message-ID"] == message_id(key) and mail["X-Complaintwatch-Idempotency-Key"] == key
    assert mail["Subject"].startswith("[CW-1] Telvia support (P3): mastodon post by anna@social.example")
    assert POST in mail.get_content()


def test_email_with_a_wrong_password_goes_dead(store, database_url, smtp_server, monkeypatch):
    controller, mailbox, cert = smtp_server
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_M_USERNAME", "bot")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_M_PASSWORD", "wrong")
    destination = DestinationSettings(
        name="m",
        kind="email",
        url=f"smtp://127.0.0.1:{controller.port}",
        options={
            "from": "bot@telvia.example",
            "to": "care@telvia.example",
            "starttls": True,
            "ca_file": str(cert),
        },
    )
    config = _route_to(store, database_url, destination)
    assert deliver_due(store, config, NOW)["dead"] == 1
    assert "SMTP 535" in _outbox(store).last_error and mailbox.messages == []


# -- Zammad ------------------------------------------------------------------------------------------


class FakeZammad:
    """``POST /api/v1/tickets`` as Zammad documents it: token auth, title/group/customer/article."""

    def __init__(self, token: str) -> None:
        self.token, self.tickets = token, []
        self.server = FakeServer()
        self.server.route("POST", "/api/v1/tickets", self._create)

    def _create(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Token token={self.token}":
            return Reply(401, {"error": "authentication failed"})
        ticket = request.json()
        missing = [k for k in ("title", "group", "customer", "article") if not ticket.get(k)]
        if missing or not ticket["article"].get("body"):
            return Reply(422, {"error": f"missing {missing or ['article.body']}"})
        self.tickets.append(ticket)
        number = str(31000 + len(self.tickets))
        return Reply(201, {"id": len(self.tickets), "number": number, "title": ticket["title"]})


def test_zammad_ticket(store, database_url, monkeypatch):
    zammad = FakeZammad("zt-123")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_HELPDESK_TOKEN", "zt-123")
    with zammad.server.running():
        destination = DestinationSettings(
            name="helpdesk", kind="zammad", url=zammad.server.url + "/", options={"group": "Social Care"}
        )
        config = _route_to(store, database_url, destination)
        assert deliver_due(store, config, NOW)["sent"] == 1
    (ticket,) = zammad.tickets
    assert ticket["group"] == "Social Care" and ticket["customer"].startswith("guess:")
    assert ticket["title"].startswith("[CW-1] Telvia support")
    assert POST in ticket["article"]["body"] and ticket["article"]["type"] == "note"
    assert ticket["article"]["message_id"] == message_id(_outbox(store).idempotency_key)


def test_zammad_refuses_a_wrong_token(store, database_url, monkeypatch):
    zammad = FakeZammad("zt-123")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_HELPDESK_TOKEN", "stale")
    with zammad.server.running():
        destination = DestinationSettings(
            name="helpdesk", kind="zammad", url=zammad.server.url, options={"group": "Social Care"}
        )
        config = _route_to(store, database_url, destination)
        assert deliver_due(store, config, NOW)["dead"] == 1
    assert "HTTP 401" in _outbox(store).last_error and zammad.tickets == []


# -- Slack -------------------------------------------------------------------------------------------


def test_slack_incoming_webhook(store, database_url, monkeypatch):
    received: list[dict] = []

    def hook(request: Request) -> Reply:
        body = request.json()
        if not isinstance(body.get("text"), str) or not isinstance(body.get("blocks"), list):
            return Reply(400, "invalid_payload")
        received.append(body)
        return Reply(200, "ok")

    server = FakeServer()
    server.route("POST", "/services/T1/B2/x3", hook)
    with server.running():
        monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_CHAT_URL", server.url + "/services/T1/B2/x3")
        destination = DestinationSettings(name="chat", kind="slack", url="")
        config = _route_to(store, database_url, destination, text=POST + " <script>")
        assert deliver_due(store, config, NOW)["sent"] == 1
    (message,) = received
    assert message["text"].startswith("[CW-1] Telvia support")
    header, section, buttons = message["blocks"]
    assert header["type"] == "header" and "&lt;script&gt;" in section["text"]["text"]
    assert buttons["elements"][0]["url"] == "https://mastodon.example/1"


# -- Mastodon direct messages and public replies -----------------------------------------------------


class FakeMastodonPoster:
    """``POST /api/v1/statuses`` with Bearer auth and Mastodon's Idempotency-Key handling."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.statuses: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.server = FakeServer()
        self.server.route("POST", "/api/v1/statuses", self._post)

    def _post(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "The access token is invalid"})
        form = {k: v[0] for k, v in request.form().items()}
        if not form.get("status"):
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key and key in self.by_key:
                return Reply(200, self.by_key[key])
            status = {
                "id": str(110000 + len(self.statuses)),
                "content": form["status"],
                "visibility": form.get("visibility", "public"),
                "in_reply_to_id": form.get("in_reply_to_id"),
            }
            self.statuses.append(status)
            if key:
                self.by_key[key] = status
        return Reply(200, status)


@pytest.fixture
def mastodon(monkeypatch):
    fake = FakeMastodonPoster("mt-9")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_MASTODON_DM_ACCESS_TOKEN", "mt-9")
    with fake.server.running():
        yield fake


def test_mastodon_dm_to_the_author_then_an_approved_public_reply(store, database_url, mastodon):
    destination = DestinationSettings(name="mastodon-dm", kind="dm", url=mastodon.server.url)
    config = _route_to(store, database_url, destination)
    assert deliver_due(store, config, NOW)["sent"] == 1
    (direct,) = mastodon.statuses
    assert direct["visibility"] == "direct" and direct["content"].startswith(
        "@anna@social.example Das tut uns leid!"
    )
    with store.session() as session:
        route = session.scalars(select(Route)).one()
        assert route.first_response_at == NOW and route.handed_off_at == NOW
        actions.approve_reply(session, route.id, "alice", now=NOW + timedelta(minutes=1))
    assert deliver_due(store, config, NOW + timedelta(minutes=1))["sent"] == 1
    reply = mastodon.statuses[1]
    assert (reply["visibility"], reply["in_reply_to_id"]) == ("public", "1")
    assert reply["content"].startswith("@anna@social.example Das tut uns leid!")


def test_mastodon_dm_to_the_team_account_carries_the_case(store, database_url, mastodon):
    destination = DestinationSettings(
        name="mastodon-dm", kind="dm", url=mastodon.server.url, options={"recipient": "@care@telvia.example"}
    )
    config = _route_to(store, database_url, destination)
    assert deliver_due(store, config, NOW)["sent"] == 1
    (direct,) = mastodon.statuses
    assert direct["content"].startswith("@care@telvia.example [CW-1]") and direct["visibility"] == "direct"
    assert len(direct["content"]) <= dm.MASTODON_MAX_CHARS


def test_mastodon_honours_the_idempotency_key(mastodon):
    destination = DestinationSettings(name="mastodon-dm", kind="dm", url=mastodon.server.url)
    message = OutgoingMessage(1, "reply", "cw-1-reply-abc", {"in_reply_to": "5", "text": "@anna hi"})
    first, second = dm.send(destination, message), dm.send(destination, message)
    assert first.reference == second.reference and len(mastodon.statuses) == 1


def test_dm_on_a_platform_without_a_messenger_is_a_clear_permanent_error():
    destination = DestinationSettings(
        name="threads-dm", kind="dm", url="https://threads.example", options={"platform": "threads"}
    )
    with pytest.raises(PermanentDeliveryError, match="messages on 'threads' are not supported yet"):
        dm.send(destination, OutgoingMessage(1, "handoff", "k", {}))


def test_a_public_reply_without_a_dm_destination_waits_for_one(store, database_url):
    config = make_config(database_url)
    with store.session() as session:
        add_tagged(session, "1", platform="reddit", handle="anna")
        route_pending(session, config, NOW)
        route = session.scalars(select(Route)).one()
        actions.approve_reply(session, route.id, "alice", now=NOW)
    assert deliver_due(store, config, NOW)["retried"] == 1
    assert "no dm destination for 'reddit'" in _outbox(store).last_error
