"""Language id: short German and English posts, noise stripped, unknowable posts, threads, odd input."""

from __future__ import annotations

import threading

import pytest

from classify import langid
from classify.langid import LANGUAGES, UNDETERMINED, clean_for_langid, detect_lang, detect_langs

SHORT_POSTS = [
    ("Seit heute früh kein Strom in der ganzen Straße. Gibt es eine Störung?", "de"),
    ("Ich schalte jetzt meinen Anwalt ein.", "de"),
    ("@Kurierkiste Paket liegt seit 5 Tagen in der Filiale nebenan", "de"),
    ("Internet down again in the whole building. Any ETA?", "en"),
    ("See you in court @ParcelPine", "en"),
    ("#fail your app logged me out again https://t.co/abc123", "en"),
    ("Le train est encore en retard, c'est inadmissible.", "fr"),
    ("El paquete nunca llegó y nadie responde.", "es"),
    ("Посылка так и не пришла, поддержка молчит.", "ru"),
]


@pytest.mark.parametrize(("text", "lang"), SHORT_POSTS)
def test_detects_the_language_of_short_posts(text: str, lang: str) -> None:
    assert detect_lang(text) == lang


def test_a_batch_keeps_its_order_and_undetermined_posts() -> None:
    texts = [text for text, _ in SHORT_POSTS]
    batch = ["😂😂😂", *texts, "", "https://example.com/x"]
    assert detect_langs(batch) == [
        UNDETERMINED,
        *(lang for _, lang in SHORT_POSTS),
        UNDETERMINED,
        UNDETERMINED,
    ]
    assert detect_langs([]) == []


def test_handles_links_and_hashtag_signs_are_stripped() -> None:
    cleaned = clean_for_langid("@FunkwerkHilfe #Netzausfall seit gestern https://x.co/a?b=1 mail me a@b.de")
    assert "@" not in cleaned and "#" not in cleaned and "https" not in cleaned
    assert "Netzausfall" in cleaned and "seit gestern" in cleaned


def test_a_german_post_full_of_english_handles_stays_german() -> None:
    text = "@ShopNowSupport @CustomerCareTeam @HelpDeskOfficial Wo bleibt meine Bestellung?"
    assert detect_lang(text) == "de"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😂😂😂",
        "🤬🙄👍🏽",
        "12345 678",
        "https://example.com/x",
        "@someone @else",
        "#123",
        "\x00\x01",
    ],
)
def test_posts_without_words_are_undetermined(text: str) -> None:
    assert detect_lang(text) == UNDETERMINED


@pytest.mark.parametrize(
    "text", ["\ud800 Hallo, wie geht es euch heute?", "Mixed 混合 текст und Wörter 😂", "a" * 100_000]
)
def test_odd_input_never_crashes(text: str) -> None:
    assert detect_lang(text) in {*LANGUAGES, UNDETERMINED}


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="must be str"):
        detect_lang(42)  # type: ignore[arg-type]


def test_detector_is_built_once_under_concurrent_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langid, "_detector", None)
    seen: list[int] = []
    barrier = threading.Barrier(8)

    def first_use() -> None:
        barrier.wait()
        seen.append(id(langid._get_detector()))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len(set(seen)) == 1


def test_detection_from_many_threads_agrees_with_one_thread() -> None:
    texts = ["Die Bahn ist wieder zu spät.", "The train is late again.", "Le train est en retard."] * 20
    expected = [detect_lang(text) for text in texts]
    results: dict[int, str] = {}

    def work(index: int) -> None:
        results[index] = detect_lang(texts[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(len(texts))] == expected
