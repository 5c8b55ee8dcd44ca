"""DMs and public replies on X, Reddit and Bluesky: the real client libraries against the local fakes.

For each platform: the masked draft reaches the post's author privately, an approved reply lands under the
post, a 429 is a retryable ``DeliveryError`` and a 403 a ``PermanentDeliveryError``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes.bluesky import FakeBluesky
from fakes.reddit import FakeReddit
from fakes.server import Reply
from fakes.twitter import FakeX
from routing_factories import T0, add_tagged, make_config
from sqlalchemy import select

from monitor.routing import actions, route_pending
from monitor.routing.outbox import deliver_due
from monitor.routing.senders import dm
from monitor.routing.senders.base import DeliveryError, OutgoingMessage, PermanentDeliveryError
from monitor.settings import DestinationSettings, RoutingRuleSettings
from monitor.store.models import Route

NOW = T0 + timedelta(minutes=5)
PHONE = "0171 2345678"
POST = f"Telvia, mein Internet ist seit drei Tagen weg! Ruft mich an: {PHONE}"


def _destination(name: str, platform: str, url: str) -> DestinationSettings:
    return DestinationSettings(name=name, kind="dm", url=url, options={"platform": platform})


def _route_dm(store, database_url, destination: DestinationSettings, **tagged):
    """Route one complaint carrying a phone number to ``destination`` (DM to the author)."""
    rule = RoutingRuleSettings(name="to-dm", queue="support", destination=destination.name)
    config = make_config(database_url, rules=[rule], destinations=[destination])
    with store.session() as session:
        add_tagged(session, text=POST, pii=[("phone", PHONE)], **tagged)
        route_pending(session, config, NOW)
    return config


def _draft_and_approve(store) -> str:
    """The route's masked draft, after approving it as the public reply."""
    with store.session() as session:
        route = session.scalars(select(Route)).one()
        actions.approve_reply(session, route.id, "alice", now=NOW + timedelta(minutes=1))
        return str(route.reply_draft)


def _delivered_privately_then_publicly(store, config) -> str:
    assert deliver_due(store, config, NOW)["sent"] == 1
    draft = _draft_and_approve(store)
    assert deliver_due(store, config, NOW + timedelta(minutes=1))["sent"] == 1
    assert draft and PHONE not in draft
    return draft


# -- X ------------------------------------------------------------------------------------------------


@pytest.fixture
def x_world(monkeypatch):
    fake = FakeX()
    creds = fake.user_credentials
    for key, value in {
        "CONSUMER_KEY": creds.consumer_key,
        "CONSUMER_SECRET": creds.consumer_secret,
        "ACCESS_TOKEN": creds.access_token,
        "ACCESS_TOKEN_SECRET": creds.access_token_secret,
    }.items():
        monkeypatch.setenv(f"COMPLAINTWATCH_DESTINATION_X_DM_{key}", value)
    with fake.running():
        yield fake


def test_x_dm_to_the_author_and_a_public_reply_with_oauth1(store, database_url, x_world):
    anna = x_world.add_user("anna")
    post = x_world.add_tweet(anna, POST)
    config = _route_dm(
        store,
        database_url,
        _destination("x-dm", "twitter", x_world.url),
        native_id=post.id,
        platform="twitter",
        handle="anna",
    )
    draft = _delivered_privately_then_publicly(store, config)
    (sent,) = x_world.sent_dms
    assert (sent["participant_id"], sent["text"]) == (anna.id, draft)
    reply = x_world.tweets[max(x_world.tweets, key=int)]
    assert reply.in_reply_to is post and reply.text == draft and PHONE not in reply.text


def test_x_with_an_oauth2_user_token(x_world, monkeypatch):
    monkeypatch.delenv("COMPLAINTWATCH_DESTINATION_X_DM_CONSUMER_KEY")
    monkeypatch.setenv(
        "COMPLAINTWATCH_DESTINATION_X_DM_ACCESS_TOKEN", x_world.user_credentials.oauth2_user_token
    )
    anna = x_world.add_user("anna")
    message = OutgoingMessage(1, "handoff", "k-1", {})
    destination = DestinationSettings(
        name="x-dm", kind="dm", url=x_world.url, options={"platform": "twitter", "recipient": f"id:{anna.id}"}
    )
    receipt = dm.send(destination, message)
    assert receipt.reference == x_world.sent_dms[0]["dm_event_id"]


def test_x_429_is_retried_and_an_app_only_token_is_refused_for_good(x_world, monkeypatch):
    anna = x_world.add_user("anna")
    messenger = dm.messenger_for(_destination("x-dm", "twitter", x_world.url))
    x_world.fail_next(
        "/2/dm_conversations/", Reply(429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]})
    )
    with pytest.raises(DeliveryError, match="429") as retryable:
        messenger.send_dm(f"id:{anna.id}", "hi", idempotency_key="k")
    assert not isinstance(retryable.value, PermanentDeliveryError)
    monkeypatch.delenv("COMPLAINTWATCH_DESTINATION_X_DM_CONSUMER_KEY")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_X_DM_ACCESS_TOKEN", x_world.bearer_token)  # app-only
    app_only = dm.messenger_for(_destination("x-dm", "twitter", x_world.url))
    with pytest.raises(PermanentDeliveryError, match=r"403.*user-context token"):
        app_only.send_dm(f"id:{anna.id}", "hi", idempotency_key="k")
    assert x_world.sent_dms == []


def test_x_a_wrong_signature_is_refused(x_world, monkeypatch):
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_X_DM_ACCESS_TOKEN_SECRET", "not-the-secret")
    x_world.add_user("anna")
    messenger = dm.messenger_for(_destination("x-dm", "twitter", x_world.url))
    with pytest.raises(PermanentDeliveryError, match="401"):
        messenger.send_dm("@anna", "hi", idempotency_key="k")


# -- Reddit -------------------------------------------------------------------------------------------


@pytest.fixture
def reddit_world(monkeypatch):
    fake = FakeReddit()
    fake.passwords["telvia_care"] = "pw"
    for key, value in {
        "CLIENT_ID": fake.client_id,
        "CLIENT_SECRET": fake.client_secret,
        "USERNAME": "telvia_care",
        "PASSWORD": "pw",
    }.items():
        monkeypatch.setenv(f"COMPLAINTWATCH_DESTINATION_REDDIT_DM_{key}", value)
    with fake.running():
        yield fake


def test_reddit_private_message_and_a_public_reply(store, database_url, reddit_world):
    anna = reddit_world.add_account("anna")
    post = reddit_world.add_submission(anna, "Telvia outage", POST)
    destination = _destination("reddit-dm", "reddit", reddit_world.url)
    config = _route_dm(
        store, database_url, destination, native_id=post.fullname, platform="reddit", handle="anna"
    )
    draft = _delivered_privately_then_publicly(store, config)
    (message,) = reddit_world.messages
    assert (message["to"], message["text"], message["subject"]) == ("anna", draft, "About your post")
    (reply,) = [t for t in reddit_world.things.values() if t.parent_id == post.fullname]
    assert (reply.author.name, reply.body) == ("telvia_care", draft)


def test_reddit_429_is_retried_403_and_unknown_users_are_final(reddit_world):
    reddit_world.add_account("anna")
    messenger = dm.messenger_for(_destination("reddit-dm", "reddit", reddit_world.url))
    reddit_world.fail_next("/api/compose", Reply(429, {"message": "Too Many Requests", "error": 429}))
    with pytest.raises(DeliveryError, match="429") as retryable:
        messenger.send_dm("anna", "hi", idempotency_key="k")
    assert not isinstance(retryable.value, PermanentDeliveryError)
    reddit_world.fail_next("/api/compose", Reply(403, {"message": "Forbidden", "error": 403}))
    with pytest.raises(PermanentDeliveryError, match=r"403.*privatemessages"):
        messenger.send_dm("anna", "hi", idempotency_key="k")
    with pytest.raises(PermanentDeliveryError, match="USER_DOESNT_EXIST"):
        messenger.send_dm("u/nobody", "hi", idempotency_key="k")
    assert reddit_world.messages == []


# -- Bluesky ------------------------------------------------------------------------------------------


@pytest.fixture
def bluesky_world(monkeypatch):
    fake = FakeBluesky()
    fake.world.add_actor("telvia.bsky.social", password="brand-app-pw")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_BSKY_DM_HANDLE", "telvia.bsky.social")
    monkeypatch.setenv("COMPLAINTWATCH_DESTINATION_BSKY_DM_APP_PASSWORD", "brand-app-pw")
    with fake.running():
        yield fake


def test_bluesky_chat_message_and_a_public_reply(store, database_url, bluesky_world):
    anna = bluesky_world.world.add_actor("anna.bsky.social")
    post = bluesky_world.world.add_post(anna, POST)
    destination = _destination("bsky-dm", "bluesky", bluesky_world.url)
    config = _route_dm(
        store, database_url, destination, native_id=post.uri, platform="bluesky", handle="anna.bsky.social"
    )
    draft = _delivered_privately_then_publicly(store, config)
    (sent,) = bluesky_world.chat_messages
    assert anna.did in sent["members"] and sent["text"] == draft
    (record,) = bluesky_world.created_records
    assert record["text"] == draft
    for ref in ("parent", "root"):
        assert (record["reply"][ref]["uri"], record["reply"][ref]["cid"]) == (post.uri, post.cid)


def test_bluesky_reply_in_a_thread_keeps_the_root(bluesky_world):
    anna = bluesky_world.world.add_actor("anna.bsky.social")
    root = bluesky_world.world.add_post(anna, "first")
    child = bluesky_world.world.add_post(anna, "second", reply_parent=root.uri)
    messenger = dm.messenger_for(_destination("bsky-dm", "bluesky", bluesky_world.url))
    uri = messenger.reply(child.uri, "We are on it", idempotency_key="k")
    (record,) = bluesky_world.created_records
    assert record["reply"]["parent"]["uri"] == child.uri and record["reply"]["root"]["uri"] == root.uri
    assert uri in bluesky_world.world.posts


def test_bluesky_429_is_retried_403_and_closed_inboxes_are_final(bluesky_world):
    anna = bluesky_world.world.add_actor("anna.bsky.social")
    messenger = dm.messenger_for(_destination("bsky-dm", "bluesky", bluesky_world.url))
    bluesky_world.rate_limit_next("chat.bsky.convo.sendMessage", T0)
    with pytest.raises(DeliveryError, match="RateLimitExceeded") as retryable:
        messenger.send_dm("anna.bsky.social", "hi", idempotency_key="k")
    assert not isinstance(retryable.value, PermanentDeliveryError)
    bluesky_world.fail_next(
        "/xrpc/chat.bsky.convo.sendMessage", Reply(403, {"error": "Forbidden", "message": "Bad token scope"})
    )
    with pytest.raises(PermanentDeliveryError, match="direct-message access"):
        messenger.send_dm("anna.bsky.social", "hi", idempotency_key="k")
    anna.accepts_dms = False
    with pytest.raises(PermanentDeliveryError, match="disabled incoming messages"):
        messenger.send_dm(anna.did, "hi", idempotency_key="k")
    assert bluesky_world.chat_messages == []


def test_bluesky_signs_in_once_for_many_messages_and_afresh_after_a_failure(bluesky_world):
    anna = bluesky_world.world.add_actor("anna.bsky.social")
    destination = _destination("bsky-dm", "bluesky", bluesky_world.url)
    payload = {
        "post": {"platform": "bluesky", "author_handle": anna.handle},
        "case": {"reply_draft": "Hallo"},
    }

    def message(key: str) -> OutgoingMessage:
        return OutgoingMessage(id=1, purpose="handoff", payload=payload, idempotency_key=key)

    for key in ("a", "b", "c"):
        dm.send(destination, message(key))
    assert len(bluesky_world.chat_messages) == 3
    assert len(bluesky_world.xrpc_calls("com.atproto.server.createSession")) == 1, (
        "one sign-in, not one a message"
    )
    bluesky_world.fail_next("/xrpc/chat.bsky.convo.sendMessage", Reply(500, {"error": "InternalServerError"}))
    with pytest.raises(DeliveryError):
        dm.send(destination, message("d"))
    dm.send(destination, message("d"))
    assert len(bluesky_world.xrpc_calls("com.atproto.server.createSession")) == 2, (
        "a failure drops the session"
    )
