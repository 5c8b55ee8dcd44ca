"""Public replies fit the platform: templates shed optional sentences, agents' edits are measured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_factories import T0, add_tagged, make_config
from sqlalchemy import select

from monitor.routing import actions, route_pending
from monitor.routing.actions import ActionError
from monitor.routing.templates import POST_LIMITS, ReplyContext, post_length, render
from monitor.settings import DestinationSettings
from monitor.store.models import Route

LONG_BRAND = "Deutsche Netz- und Glasfaser Kundenservice"


def test_x_counts_cjk_and_emoji_double_and_every_link_as_23() -> None:
    assert post_length("Sorry!", "twitter") == 6
    assert post_length("すみません", "twitter") == 10
    assert post_length("👍", "twitter") == 2
    assert post_length("– ok", "twitter") == 4, "the en dash is a light character"
    assert post_length("see https://example.com/a/very/long/path/that/goes/on", "twitter") == 4 + 23
    assert post_length("すみません", "bluesky") == 5


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("platform", sorted(POST_LIMITS))
def test_every_template_fits_every_platform_and_keeps_the_case_reference(platform: str, lang: str) -> None:
    context = ReplyContext(
        brand=LONG_BRAND,
        handle="a_fifteen_chars",
        platform=platform,
        ticket="CW-1234567",
        hotline="0800 330 1000",
        email="hilfe@example.de",
    )
    for name in ("support_dm", "privacy_notice", "legal_holding"):
        text = render(name, lang, context)
        assert post_length(text, platform) <= POST_LIMITS[platform], (name, text)
        assert "CW-1234567" in text and text.startswith(("@a_fifteen_chars", "u/a_fifteen_chars"))


def test_sentences_are_shed_from_the_end_only_where_the_platform_needs_it() -> None:
    def privacy(platform: str) -> str:
        context = ReplyContext(brand=LONG_BRAND, handle="a_fifteen_chars", platform=platform, ticket="CW-7")
        return render("privacy_notice", "de", context)

    assert privacy("mastodon").endswith(f"– {LONG_BRAND} Kundenservice"), "500 characters: all of it"
    on_x = privacy("twitter")
    assert LONG_BRAND not in on_x and on_x.endswith("(Fall CW-7).")
    assert "persönlichen Daten" in on_x, "only as much is left out as needed"


def test_an_agents_reply_longer_than_the_platform_takes_is_refused(store, database_url) -> None:
    config = make_config(database_url)
    with store.session() as session:
        add_tagged(session, "1", platform="twitter", handle="anna")
        route_pending(session, config, T0 + timedelta(minutes=5))
        route_id = session.scalars(select(Route)).one().id
    long_reply = "@anna " + "Wir kümmern uns darum. " * 12
    with store.session() as session:
        with pytest.raises(
            ActionError, match=rf"case {route_id}: the reply is \d+ characters long; X takes at most 280"
        ):
            actions.approve_reply(session, route_id, "alice", long_reply)
        with pytest.raises(ActionError, match="X takes at most 280"):
            actions.edit_reply(session, route_id, "alice", long_reply)
        message = actions.approve_reply(session, route_id, "alice", long_reply[:200].strip())
        assert message.payload["text"] == long_reply[:200].strip()


def _mastodon_account(max_chars: int) -> DestinationSettings:
    options = {"platform": "mastodon", "max_chars": max_chars}
    return DestinationSettings(name="social", kind="dm", url="https://social.example", options=options)


def test_a_mastodon_instances_own_limit_shapes_the_draft_and_the_check(store, database_url) -> None:
    small = make_config(database_url, destinations=[_mastodon_account(150)])
    with store.session() as session:
        add_tagged(session, "1", platform="mastodon", handle="anna@social.example")
        route_pending(session, small, T0 + timedelta(minutes=5))
        route = session.scalars(select(Route)).one()
        draft, route_id = route.reply_draft, route.id
    assert len(draft) <= 150 and f"CW-{route_id}" in draft, draft
    reply = "@anna@social.example " + "Wir kümmern uns darum. " * 6
    with store.session() as session:
        with pytest.raises(ActionError, match="Mastodon takes at most 150"):
            actions.approve_reply(session, route_id, "alice", reply, config=small)
        roomy = make_config(database_url, destinations=[_mastodon_account(1000)])
        message = actions.approve_reply(session, route_id, "alice", reply, config=roomy)
        assert message.payload["text"] == reply.strip()


def test_without_a_limit_option_the_platforms_default_holds(store, database_url) -> None:
    with store.session() as session:
        add_tagged(session, "1", platform="mastodon", handle="anna@social.example")
        route_pending(session, make_config(database_url), T0 + timedelta(minutes=5))
        route_id = session.scalars(select(Route)).one().id
        with pytest.raises(ActionError, match="Mastodon takes at most 500"):
            actions.approve_reply(session, route_id, "alice", "@anna@social.example " + "x" * 500)
