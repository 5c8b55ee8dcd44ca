"""The bundled replay source: paging, resumption, statuses over story time, bad data, and the data itself."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collectors.base import (
    AuthorStatus,
    BrandQuery,
    PostRef,
    PostStatus,
    Source,
    SourceError,
    SourceSpec,
)
from collectors.replay import (
    ReplayConfigError,
    ReplayDataError,
    ReplaySource,
    build,
    expected_final_statuses,
    expected_history,
    load_timeline,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "collectors" / "replay_data"
T0 = datetime(2024, 6, 11, 9, 0, tzinfo=UTC)
SPEED = 60.0
TOPICS = {
    "delivery",
    "billing",
    "contract_cancellation",
    "product_defect",
    "service_reachability",
    "account_access",
    "privacy_data",
    "other",
}


class StoryClock:
    """A clock the test moves by story seconds."""

    def __init__(self, story_seconds: float = 0.0, speed: float = SPEED) -> None:
        self.speed = speed
        self.now = T0
        self.at(story_seconds)

    def at(self, story_seconds: float) -> None:
        # Rounded up to the next microsecond, so the source sees at least ``story_seconds``.
        self.now = T0 + timedelta(microseconds=math.ceil(story_seconds / self.speed * 1e6))

    def __call__(self) -> datetime:
        return self.now


def make_spec(state: dict[str, str] | None = None, **options: Any) -> SourceSpec:
    return SourceSpec(
        name="replay",
        platform="replay",
        brand="Telvia",
        api_base_url=None,
        options=options,
        secrets={},
        state=state if state is not None else {"t0": T0.isoformat()},
    )


def make_source(story_seconds: float = 0.0, state: dict[str, str] | None = None, **options: Any):
    clock = StoryClock(story_seconds)
    return build(make_spec(state, **options), clock=clock), clock


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_data(directory: Path, posts: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "posts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in posts), encoding="utf-8")
    (directory / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return directory


def post(post_id: str, at: float, author: str = "u-1", brand: str = "Telvia", text: str = "hallo") -> dict:
    return {
        "id": post_id,
        "brand": brand,
        "author_id": author,
        "author_handle": "@" + author,
        "lang": "de",
        "at": at,
        "text": text,
        "reply_to": None,
    }


def collect_all(
    source: ReplaySource, query: BrandQuery, cursor: str | None = None
) -> tuple[list[str], str | None]:
    """Page until exhausted, as the pipeline does; returns the ids seen and the last cursor."""
    ids: list[str] = []
    for _ in range(1000):
        page = source.search(query, cursor)
        ids.extend(m.native_id for m in page.mentions)
        cursor = page.next_cursor
        if page.exhausted:
            return ids, cursor
    raise AssertionError("search never reported exhausted")


def status_at(source: ReplaySource, clock: StoryClock, post_id: str, story_seconds: float):
    clock.at(story_seconds)
    [observation] = source.lookup([PostRef(native_id=post_id, author_id="")]).observations
    return observation


# ---------------------------------------------------------------- the interface


def test_it_is_a_source_registered_for_the_replay_platform() -> None:
    source, _ = make_source()
    assert isinstance(source, Source)
    assert (source.platform, source.lookup_batch) == ("replay", 100)


def test_t0_is_set_on_first_use_and_stored_as_iso_text() -> None:
    state: dict[str, str] = {}
    clock = StoryClock()
    source = build(make_spec(state), clock=clock)
    assert state == {}  # building (e.g. for a config check) does not start the story
    source.search(BrandQuery("Telvia", ()), None)
    assert datetime.fromisoformat(state["t0"]) == T0


# ---------------------------------------------------------------- search


def test_pages_walk_one_brand_in_story_order_without_duplicates_or_gaps() -> None:
    expected = [
        p["id"]
        for p in sorted(read_jsonl(DATA_DIR / "posts.jsonl"), key=lambda p: (p["at"], p["id"]))
        if p["brand"] == "Telvia"
    ]
    source, _ = make_source(story_seconds=7200, page_size=7)
    ids, _ = collect_all(source, BrandQuery("telvia", ()))
    assert ids == expected
    assert len(expected) > 60


def test_a_full_page_says_more_is_waiting_and_the_last_page_says_exhausted() -> None:
    source, _ = make_source(story_seconds=7200, page_size=10)
    first = source.search(BrandQuery("Telvia", ()), None)
    assert len(first.mentions) == 10 and not first.exhausted
    _ids, cursor = collect_all(source, BrandQuery("Telvia", ()), first.next_cursor)
    again = source.search(BrandQuery("Telvia", ()), cursor)
    assert again.mentions == [] and again.exhausted and again.next_cursor == cursor


def test_only_posts_story_time_has_reached_are_visible_and_later_ones_follow_from_the_cursor() -> None:
    records = {p["id"]: p for p in read_jsonl(DATA_DIR / "posts.jsonl")}
    source, clock = make_source(story_seconds=1800)
    early, cursor = collect_all(source, BrandQuery("Paketfix", ()))
    assert early and all(records[i]["at"] <= 1800 for i in early)
    clock.at(7200)
    late, _ = collect_all(source, BrandQuery("Paketfix", ()), cursor)
    assert late and all(records[i]["at"] > 1800 for i in late)
    assert sorted(early + late) == sorted(i for i, p in records.items() if p["brand"] == "Paketfix")


def test_a_cursor_resumes_exactly_after_a_restart_sharing_the_state() -> None:
    state: dict[str, str] = {}
    first_clock = StoryClock(0)
    first = build(make_spec(state, page_size=5), clock=first_clock)
    assert first.search(BrandQuery("SkyLark Air", ()), None).mentions == []  # starts the story: t0 = now
    first_clock.at(3000)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = first.search(BrandQuery("SkyLark Air", ()), cursor)
        seen += [m.native_id for m in page.mentions]
        cursor = page.next_cursor
    # A new process: same stored state (t0) and cursor, a later clock.
    restarted = build(make_spec(dict(state), page_size=5), clock=StoryClock(7200))
    rest, _ = collect_all(restarted, BrandQuery("SkyLark Air", ()), cursor)
    everything, _ = collect_all(
        build(make_spec(dict(state)), clock=StoryClock(7200)), BrandQuery("SkyLark Air", ())
    )
    assert len(seen) == 15
    assert seen + rest == everything


def test_mentions_carry_the_stored_record_and_a_real_time_derived_from_story_time() -> None:
    records = {p["id"]: p for p in read_jsonl(DATA_DIR / "posts.jsonl")}
    source, _ = make_source(story_seconds=7200)
    page = source.search(BrandQuery("Brightwave Mobile", ()), None)
    for mention in page.mentions:
        record = records[mention.native_id]
        assert mention.raw == record
        assert mention.platform == "replay"
        assert (mention.author_id, mention.author_handle, mention.text, mention.lang) == (
            record["author_id"],
            record["author_handle"],
            record["text"],
            record["lang"],
        )
        assert mention.reply_to_id == record["reply_to"]
        assert mention.url == f"https://replay.complaintwatch.invalid/brightwave-mobile/{record['id']}"
        assert mention.created_at == T0 + timedelta(seconds=record["at"] / SPEED)
    assert page.request["params"]["brand"] == "Brightwave Mobile"


def test_paging_edges_one_more_waiting_and_a_cursor_at_the_very_end(tmp_path: Path) -> None:
    data = write_data(tmp_path, [post("a", 1), post("b", 2), post("c", 2)], [])
    source, _ = make_source(story_seconds=100, path=str(data), page_size=2)
    first = source.search(BrandQuery("Telvia", ()), None)
    assert ([m.native_id for m in first.mentions], first.exhausted) == (["a", "b"], False)
    second = source.search(BrandQuery("Telvia", ()), first.next_cursor)
    assert ([m.native_id for m in second.mentions], second.exhausted) == (["c"], True)
    third = source.search(BrandQuery("Telvia", ()), second.next_cursor)
    assert (third.mentions, third.exhausted, third.next_cursor) == ([], True, second.next_cursor)


def test_brand_matching_is_case_insensitive_and_terms_add_posts_that_name_them(tmp_path: Path) -> None:
    data = write_data(
        tmp_path,
        [
            post("a", 1, brand="Telvia"),
            post("b", 2, brand="Nordbahn", text="Bei Telvia ist es genauso schlimm"),
            post("c", 3, brand="Nordbahn", text="Zug fällt aus"),
            {**post("d", 4, brand="Telvia"), "lang": "en"},
        ],
        [],
    )
    source, _ = make_source(story_seconds=100, path=str(data))
    assert collect_all(source, BrandQuery("TELVIA", ()))[0] == ["a", "d"]
    assert collect_all(source, BrandQuery("telvia", ("telvia",)))[0] == ["a", "b", "d"]
    assert collect_all(source, BrandQuery("Telvia", (), languages=("en",)))[0] == ["d"]
    assert collect_all(source, BrandQuery("Quickcart", ()))[0] == []


# ---------------------------------------------------------------- lookup


@pytest.fixture
def story(tmp_path: Path) -> tuple[ReplaySource, StoryClock]:
    data = write_data(
        tmp_path,
        [
            post("p1", 0, "u-1"),
            post("p2", 100, "u-2"),
            post("p3", 200, "u-2"),
            post("p4", 300, "u-3"),
            post("p5", 400, "u-4"),
            post("p6", 500, "u-5"),
        ],
        [
            {"at": 1000, "post_id": "p1", "status": "removed_by_moderator"},
            {"at": 2000, "post_id": "p1", "status": "restored"},
            {"at": 1000, "author_id": "u-2", "author_status": "suspended"},
            {"at": 1600, "post_id": "p3", "status": "deleted_by_author"},
            {"at": 2500, "author_id": "u-2", "author_status": "active"},
            {"at": 1000, "author_id": "u-3", "author_status": "deactivated"},
            {"at": 1000, "author_id": "u-4", "author_status": "protected"},
            {"at": 1000, "post_id": "p6", "status": "removed_by_platform"},
        ],
    )
    return make_source(path=str(data))


def test_a_removed_post_is_stated_by_the_platform_and_comes_back_live_when_restored(story) -> None:
    source, clock = story
    assert status_at(source, clock, "p1", 999).status is PostStatus.LIVE
    removed = status_at(source, clock, "p1", 1000)
    assert (removed.status, removed.platform_stated) == (PostStatus.REMOVED_BY_MODERATOR, True)
    assert removed.evidence["post_state"] == "removed_by_moderator"
    assert removed.evidence["events_applied"] == [
        {"at": 1000, "post_id": "p1", "status": "removed_by_moderator"}
    ]
    back = status_at(source, clock, "p1", 2000)
    assert (back.status, back.platform_stated) == (PostStatus.LIVE, False)
    assert expected_history("p1", source.timeline) == ["live", "removed_by_moderator", "restored"]


def test_author_events_apply_to_all_the_authors_posts_unless_the_post_itself_is_gone(story) -> None:
    source, clock = story
    for post_id in ("p2", "p3"):
        observation = status_at(source, clock, post_id, 1000)
        assert (observation.status, observation.author_status) == (
            PostStatus.AUTHOR_SUSPENDED,
            AuthorStatus.SUSPENDED,
        )
        assert observation.platform_stated is False
    assert status_at(source, clock, "p3", 1600).status is PostStatus.DELETED_BY_AUTHOR
    reinstated = {i: status_at(source, clock, i, 2500) for i in ("p2", "p3")}
    assert (
        reinstated["p2"].status is PostStatus.LIVE and reinstated["p2"].author_status is AuthorStatus.ACTIVE
    )
    assert reinstated["p3"].status is PostStatus.DELETED_BY_AUTHOR
    assert expected_history("p2", source.timeline) == ["live", "author_suspended", "restored"]
    assert expected_history("p3", source.timeline) == ["live", "author_suspended", "deleted_by_author"]


@pytest.mark.parametrize(
    ("post_id", "status", "author_status"),
    [
        ("p4", PostStatus.AUTHOR_DEACTIVATED, AuthorStatus.DEACTIVATED),
        ("p5", PostStatus.AUTHOR_PROTECTED, AuthorStatus.PROTECTED),
        ("p6", PostStatus.REMOVED_BY_PLATFORM, AuthorStatus.ACTIVE),
    ],
)
def test_each_event_kind_shows_from_its_story_time_on(story, post_id, status, author_status) -> None:
    source, clock = story
    assert status_at(source, clock, post_id, 999.9).status is PostStatus.LIVE
    observation = status_at(source, clock, post_id, 1000)
    assert (observation.status, observation.author_status) == (status, author_status)


def test_unknown_ids_and_posts_not_yet_posted_are_unknown_with_a_reason(story) -> None:
    source, clock = story
    clock.at(250)
    result = source.lookup([PostRef("nope", "u-9"), PostRef("p4", "u-3")])
    assert [o.status for o in result.observations] == [PostStatus.UNKNOWN, PostStatus.UNKNOWN]
    assert [o.detail for o in result.observations] == [
        "not in the replay data",
        "not posted yet at this story time",
    ]
    assert result.observations[0].author_status is AuthorStatus.UNKNOWN


def test_lookup_counts_one_call_per_batch_of_a_hundred() -> None:
    source, _ = make_source(story_seconds=7200)
    refs = [PostRef(f"rp-{n:04d}", "") for n in range(1, 151)]
    assert source.lookup(refs).calls == 2
    assert source.lookup(refs[:100]).calls == 1
    assert source.lookup([]).calls == 0


def test_an_observer_checking_every_five_story_minutes_records_the_expected_history() -> None:
    source, clock = make_source()
    timeline = source.timeline
    refs = [PostRef(p.id, p.author_id) for p in timeline.posts]
    recorded: dict[str, list[str]] = {}
    last: dict[str, PostStatus] = {}
    for story_seconds in range(0, 18000 + 600, 300):
        clock.at(story_seconds)
        for chunk in (refs[i : i + 100] for i in range(0, len(refs), 100)):
            for observation in source.lookup(chunk).observations:
                if observation.status is PostStatus.UNKNOWN:
                    continue  # not posted yet
                seen = recorded.setdefault(observation.native_id, [])
                previous = last.get(observation.native_id)
                if observation.status != previous:
                    came_back = previous is not None and observation.status is PostStatus.LIVE
                    seen.append("restored" if came_back else observation.status.value)
                    last[observation.native_id] = observation.status
    assert recorded == {p.id: expected_history(p.id) for p in timeline.posts}
    finals = expected_final_statuses()
    assert Counter(finals.values())["restored"] >= 4
    assert {s for s in finals.values()} >= {
        "live",
        "deleted_by_author",
        "removed_by_moderator",
        "removed_by_platform",
        "author_suspended",
        "author_deactivated",
        "author_protected",
        "restored",
    }


# ---------------------------------------------------------------- bad data and bad options


def test_a_missing_data_directory_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayDataError, match=r"nowhere/posts\.jsonl: cannot read replay data"):
        make_source(path=str(tmp_path / "nowhere"))


def test_a_missing_events_file_names_it(tmp_path: Path) -> None:
    data = write_data(tmp_path, [post("a", 1)], [])
    (data / "events.jsonl").unlink()
    with pytest.raises(ReplayDataError, match=r"events\.jsonl: cannot read"):
        make_source(path=str(data))


def test_a_bad_json_line_names_the_file_and_line(tmp_path: Path) -> None:
    data = write_data(tmp_path, [post("a", 1), post("b", 2)], [])
    with (data / "posts.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"id": "c", "brand": \n')
    with pytest.raises(ReplayDataError) as caught:
        make_source(path=str(data))
    message = str(caught.value)
    assert f"{data / 'posts.jsonl'}:3: invalid JSON" in message
    assert "\n" not in message
    assert isinstance(caught.value, SourceError)


@pytest.mark.parametrize(
    ("posts", "events", "expected"),
    [
        (
            [{k: v for k, v in post("a", 1).items() if k != "text"}],
            [],
            r"posts\.jsonl:1: missing field 'text'",
        ),
        ([post("a", -5)], [], r"posts\.jsonl:1: field 'at' must be story seconds >= 0"),
        ([post("a", 1), post("a", 2)], [], r"posts\.jsonl:2: duplicate id 'a' \(first on line 1\)"),
        ([post("a", 1), {**post("b", 2), "reply_to": "zz"}], [], r"posts\.jsonl:2: reply_to 'zz'"),
        ([post("a", 1), {**post("b", 2), "author_handle": "@other"}], [], r"posts\.jsonl:2: author 'u-1'"),
        (
            [post("a", 1)],
            [{"at": 9, "post_id": "a", "status": "vanished"}],
            r"events\.jsonl:1: bad status 'vanished'",
        ),
        (
            [post("a", 1)],
            [{"at": 9, "author_id": "u-1", "author_status": "banned"}],
            r"events\.jsonl:1: bad author_status 'banned'",
        ),
        (
            [post("a", 1)],
            [{"at": 9, "post_id": "zz", "status": "restored"}],
            r"events\.jsonl:1: post_id 'zz' is not in posts\.jsonl",
        ),
        (
            [post("a", 50)],
            [{"at": 9, "post_id": "a", "status": "deleted_by_author"}],
            r"events\.jsonl:1: event at 9 comes before its post",
        ),
        ([post("a", 1)], [{"at": 9, "status": "restored"}], r"events\.jsonl:1: an event names exactly one"),
        ([post("a", 1)], [{"post_id": "a", "status": "restored"}], r"events\.jsonl:1: missing field 'at'"),
    ],
)
def test_malformed_records_are_rejected_at_build_time_naming_the_line(
    tmp_path, posts, events, expected
) -> None:
    data = write_data(tmp_path, posts, events)
    with pytest.raises(ReplayDataError, match=expected):
        make_source(path=str(data))


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"speed": 0}, r"'speed' must be a positive number, got 0"),
        ({"speed": "fast"}, r"'speed' must be a positive number"),
        ({"page_size": 2.5}, r"'page_size' must be a positive integer"),
        ({"page_size": True}, r"'page_size' must be a positive integer"),
        ({"sped": 60}, r"unknown replay option\(s\) sped \(known: path, speed, page_size\)"),
        ({"path": 7}, r"'path' must be a directory path, got 7"),
    ],
)
def test_bad_options_are_rejected_with_the_option_named(options, expected) -> None:
    with pytest.raises(ReplayConfigError, match=expected):
        make_source(**options)


def test_a_broken_stored_story_start_or_cursor_is_a_config_error() -> None:
    with pytest.raises(ReplayConfigError, match="'t0' is not an ISO 8601 timestamp"):
        make_source(state={"t0": "yesterday"})
    with pytest.raises(ReplayConfigError, match="has no time zone"):
        make_source(state={"t0": "2024-06-11T09:00:00"})
    source, _ = make_source(story_seconds=100)
    with pytest.raises(ReplayConfigError, match="not a replay cursor"):
        source.search(BrandQuery("Telvia", ()), "page=2")


# ---------------------------------------------------------------- the bundled data


@pytest.fixture(scope="module")
def posts() -> list[dict[str, Any]]:
    return read_jsonl(DATA_DIR / "posts.jsonl")


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return read_jsonl(DATA_DIR / "events.jsonl")


def test_the_stream_is_large_bilingual_and_covers_every_brand_and_topic(posts) -> None:
    assert len(posts) >= 450
    assert len({p["id"] for p in posts}) == len(posts)
    languages = Counter(p["lang"] for p in posts)
    assert set(languages) == {"de", "en"}
    assert min(languages.values()) >= 0.4 * len(posts)
    brands = Counter(p["brand"] for p in posts)
    assert len(brands) == 6 and min(brands.values()) >= 60
    assert {p["expect"]["topic"] for p in posts} == TOPICS | {None}
    assert all(0 <= p["at"] <= 7200 for p in posts)
    authors = Counter(p["author_id"] for p in posts)
    assert sum(1 for n in authors.values() if n > 1) >= 30


def test_annotations_cover_every_label_and_hard_case(posts) -> None:
    for p in posts:
        expect = p["expect"]
        assert set(expect) == {
            "complaint",
            "topic",
            "legal_threat",
            "regulator",
            "defamation_risk",
            "insult",
            "pii",
        }
        assert (expect["topic"] is not None) == expect["complaint"], p["id"]
    for flag in ("legal_threat", "regulator", "defamation_risk", "insult"):
        assert sum(p["expect"][flag] for p in posts) >= 12, flag
    pii_types = Counter(t for p in posts for t in p["expect"]["pii"])
    assert set(pii_types) == {
        "email",
        "phone",
        "iban",
        "payment_card",
        "postal_address",
        "customer_number",
        "contract_number",
        "order_number",
        "tracking_number",
        "date_of_birth",
    }
    cases = Counter(c for p in posts for c in p["hard_cases"])
    assert set(cases) == {"sarcasm", "negation", "quote", "news", "hotline", "opinion"}
    complaints = sum(p["expect"]["complaint"] for p in posts)
    assert 0.6 * len(posts) < complaints < 0.9 * len(posts)


def test_replies_point_to_earlier_posts(posts) -> None:
    at = {p["id"]: p["at"] for p in posts}
    replies = [p for p in posts if p["reply_to"]]
    assert len(replies) >= 10
    assert all(at[p["reply_to"]] < p["at"] for p in replies)


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def luhn_is_valid(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"[ -]", "", number)][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def test_every_iban_passes_mod_97_and_every_card_passes_luhn(posts) -> None:
    iban = re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
    card = re.compile(r"(?<![\w-])[0-9]{4}(?:[ -]?[0-9]{4}){3}(?![\w-])")
    for kind, pattern, valid in (("iban", iban, iban_is_valid), ("payment_card", card, luhn_is_valid)):
        annotated = [p for p in posts if kind in p["expect"]["pii"]]
        assert len(annotated) >= 5, kind
        for p in annotated:
            found = pattern.findall(p["text"])
            assert found, (kind, p["id"], p["text"])
            assert all(valid(value) for value in found), (kind, p["id"], found)
    assert not iban_is_valid("DE89 3704 0044 0532 0130 01") and not luhn_is_valid("4111 1111 1111 1112")


def test_every_event_kind_happens_and_the_spacing_lets_a_recheck_see_each_state(posts, events) -> None:
    kinds = Counter(e.get("status") or "author:" + e["author_status"] for e in events)
    assert set(kinds) == {
        "deleted_by_author",
        "removed_by_moderator",
        "removed_by_platform",
        "restored",
        "author:suspended",
        "author:deactivated",
        "author:protected",
        "author:active",
    }
    assert len(events) >= 60
    assert all(e["at"] <= 18000 for e in events)
    by_id = {p["id"]: p for p in posts}
    last_post_of: dict[str, float] = {}
    for p in posts:
        last_post_of[p["author_id"]] = max(p["at"], last_post_of.get(p["author_id"], 0))
    for p in posts:
        own = [e["at"] for e in events if e.get("post_id") == p["id"]]
        author = [e["at"] for e in events if e.get("author_id") == p["author_id"]]
        assert all(t >= p["at"] + 600 for t in own), p["id"]
        assert all(t >= last_post_of[p["author_id"]] + 600 for t in author), p["author_id"]
        times = sorted(own + author)
        assert all(b - a >= 600 for a, b in itertools.pairwise(times)), (p["id"], times)
    assert all(by_id[e["post_id"]] for e in events if "post_id" in e)


def test_the_story_tells_of_complaints_disappearing_and_complainers_locked_out(posts, events) -> None:
    by_id = {p["id"]: p for p in posts}
    gone = [
        by_id[e["post_id"]]
        for e in events
        if e.get("status") in ("removed_by_moderator", "removed_by_platform")
    ]
    assert sum(1 for p in gone if p["expect"]["regulator"] or p["expect"]["legal_threat"]) >= 4
    complainers = {p["author_id"] for p in posts if p["expect"]["regulator"] or p["expect"]["legal_threat"]}
    locked_out = {e["author_id"] for e in events if e.get("author_status") in ("suspended", "deactivated")}
    assert len(complainers & locked_out) >= 4


def test_the_bundled_data_is_what_its_generator_writes(tmp_path: Path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("make_posts", DATA_DIR / "make_posts.py")
    assert spec and spec.loader
    make_posts = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_posts", make_posts)  # dataclasses look their module up
    spec.loader.exec_module(make_posts)
    make_posts.write_stream(tmp_path)
    for name in ("posts.jsonl", "events.jsonl", "brands.json"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_load_timeline_defaults_to_the_bundled_data(posts) -> None:
    timeline = load_timeline()
    assert [p.id for p in timeline.posts] == [
        p["id"] for p in sorted(posts, key=lambda p: (p["at"], p["id"]))
    ]
    assert load_timeline(DATA_DIR).posts == timeline.posts


def test_a_relative_path_is_read_from_the_config_files_folder(tmp_path: Path, monkeypatch, store) -> None:
    from monitor.config import load
    from monitor.sources import make_source as source_from_config

    write_data(tmp_path / "site" / "story", [post("a", 1), post("b", 2)], [])
    config_file = tmp_path / "site" / "config.toml"
    config_file.write_text(
        '[[brands]]\nname = "Telvia"\n\n[[sources]]\nname = "replay"\nplatform = "replay"\n'
        '[sources.options]\npath = "story"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: the path must not depend on where the bot was started
    config = load(config_file, env={"COMPLAINTWATCH_DATABASE_URL": store.url})
    source = source_from_config(config, store, config.source("replay"))
    assert [p.id for p in source.timeline.posts] == ["a", "b"]
