"""Safe rendering of untrusted post text: escaping, evidence highlighting, PII masking, links, clocks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from dashboard import components as ui

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
UNESCAPED_MARKUP = re.compile(r"(?<!\\)[<>\[\]()*_`#|~:$&!]")


def _span(text: str, part: str, **extra: str) -> dict[str, object]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), **extra}


@pytest.mark.parametrize(
    "text",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "[click me](javascript:alert(1))",
        "**bold** _it_ `code` # heading | table ~strike~",
        ":red[coloured] $x^2$ :smile: &lt; &amp;",
        "![img](http://evil.test/x.png)",
    ],
)
def test_escape_markdown_leaves_no_active_character(text):
    escaped = ui.escape_markdown(text)
    assert UNESCAPED_MARKUP.search(escaped) is None, escaped
    assert re.sub(r"\\(.)", r"\1", escaped) == text  # nothing lost: unescaping gives the text back


def test_escape_markdown_keeps_line_breaks():
    assert ui.escape_markdown("one\ntwo") == "one  \ntwo"


def test_segments_split_at_every_boundary_and_cover_the_text():
    text = "my invoice is wrong, call +49 170 1234567"
    segments = ui.post_segments(
        text,
        {"complaint": [_span(text, "invoice is wrong")], "legal_threat": [_span(text, "wrong, call")]},
        [_span(text, "+49 170 1234567", type="phone")],
    )
    assert "".join(s.text for s in segments) == text
    assert [(s.text, s.tags, s.pii_type) for s in segments] == [
        ("my ", (), None),
        ("invoice is ", ("complaint",), None),
        ("wrong", ("complaint", "legal_threat"), None),
        (", call", ("legal_threat",), None),
        (" ", (), None),
        ("+49 170 1234567", (), "phone"),
    ]


def test_bad_offsets_are_clamped_or_ignored():
    text = "short"
    segments = ui.post_segments(
        text,
        {"complaint": [{"start": 2, "end": 999}, {"start": "x"}, "junk"], "insult": "not a list"},
        [{"type": "email", "start": -5, "end": 1}, {"start": 4, "end": 2}],
    )
    assert "".join(s.text for s in segments) == text
    assert [(s.text, s.tags, s.pii_type) for s in segments] == [
        ("s", (), "email"),
        ("h", (), None),
        ("ort", ("complaint",), None),
    ]


def test_post_markdown_masks_pii_unless_allowed_and_highlights_evidence():
    text = "<b>refund</b> now or call 0170 1234567"
    evidence = {"complaint": [_span(text, "refund")]}
    pii = [_span(text, "0170 1234567", type="phone")]
    masked = ui.post_markdown(text, evidence, pii, show_pii=False)
    assert "1234567" not in masked
    assert ":gray-background[\\[phone hidden\\]]" in masked
    assert ":orange-background[refund]" in masked
    assert "\\<b\\>" in masked and "<b>" not in masked.replace("\\<b\\>", "")
    shown = ui.post_markdown(text, evidence, pii, show_pii=True)
    assert "0170 1234567" in shown


def test_highlight_over_a_line_break_stays_valid():
    text = "first line\nsecond line"
    markdown = ui.post_markdown(text, {"complaint": [{"start": 0, "end": len(text)}]}, [], show_pii=False)
    assert markdown == ":orange-background[first line]  \n:orange-background[second line]"


def test_purged_text_is_said_to_be_purged():
    assert "purged" in ui.post_markdown(None, {}, [], show_pii=True)


def test_mask_pii_for_plain_text():
    text = "mail me: a@b.example please"
    assert ui.mask_pii(text, [_span(text, "a@b.example", type="email")]) == "mail me: [email hidden] please"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://x.example/post/1", "[open](https://x.example/post/1)"),
        ("https://x.example/a_(b)", "[open](https://x.example/a_%28b%29)"),
        ("javascript:alert(1)", ""),
        ("https://x.example/ space", ""),
        ('https://x.example/"onmouseover=', ""),
        ("", ""),
    ],
)
def test_links_only_to_plain_http_urls(url, expected):
    assert ui.link_markdown("open", url) == expected


def test_sla_clock_texts():
    due = NOW + timedelta(minutes=90)
    assert ui.sla_label(due, None, NOW) == "SLA: 1 h 30 min left"
    assert ui.sla_label(due, None, NOW + timedelta(hours=3)) == "SLA breached 1 h 30 min ago"
    assert ui.sla_label(due, NOW + timedelta(minutes=10), NOW) == "answered in time (1 h 20 min before due)"
    assert ui.sla_label(due, due + timedelta(days=2, hours=1), NOW) == "answered late (2 d 1 h after due)"
    assert ui.sla_markdown(due, None, NOW + timedelta(hours=3)).startswith(":red[")


def test_tag_names():
    tags = {
        "complaint": True,
        "insult": False,
        "topic": "billing_issue",
        "pii": [{"type": "phone"}, {"type": "iban"}],
    }
    assert ui.tag_names(tags) == ["complaint", "topic: billing issue", "personal data: iban, phone"]
