"""PII detectors: exact checks (IBAN, Luhn, S10, phone numbers), cue-driven numbers, addresses, masking."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from classify.pii import PII_TYPES, find_pii, mask_pii
from classify.pii_checks import iban_is_valid, luhn_is_valid, payment_card_is_valid, s10_is_valid
from classify.pii_phones import MAX_WINDOWS, phone_windows
from classify.spans import Span

EVAL_DATA = Path(__file__).resolve().parent.parent / "classify" / "eval_data"


def found(text: str, **kwargs: object) -> list[tuple[str, str]]:
    """(type, covered text) of every detection, in order."""
    return [(s.label, text[s.start : s.end]) for s in find_pii(text, **kwargs)]  # type: ignore[arg-type]


# --- checksums ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89370400440532013000", True),
        ("DE50526018159083016613", True),
        ("AT857574911862527601", True),
        ("CH9289555979711471049", True),
        ("GB24NWBK74650752917034", True),
        ("NL92ABNA2366712768", True),
        ("DE50526018159083016616", False),  # one digit changed
        ("DE8937040044053201300", False),  # one digit short for DE
        ("XX89370400440532013000", False),  # no such country
        ("DEAB370400440532013000", False),  # check digits must be digits
    ],
)
def test_iban_mod97_and_country_length(iban: str, valid: bool) -> None:
    assert iban_is_valid(iban) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),  # Visa
        ("5500005555555559", True),  # Mastercard
        ("2221395755131375", True),  # Mastercard 2-series
        ("371485253888535", True),  # Amex, 15 digits
        ("6011353799075111", True),  # Discover
        ("4111111111111112", False),  # Luhn fails
        ("9111111111111115", False),  # passes Luhn, no card scheme starts with 9
        ("3714852538885350", False),  # Amex prefix with 16 digits
        ("0000000000000000", False),  # one repeated digit
        ("41111111111", False),  # too short
    ],
)
def test_payment_card_needs_scheme_length_and_luhn(digits: str, valid: bool) -> None:
    assert payment_card_is_valid(digits) is valid


def test_luhn_on_its_own() -> None:
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")


@pytest.mark.parametrize(
    ("code", "valid"),
    [("RR398259798DE", True), ("LX190748335GB", True), ("RR398259797DE", False), ("RR39825979DE", False)],
)
def test_upu_s10_check_digit(code: str, valid: bool) -> None:
    assert s10_is_valid(code) is valid


# --- e-mail ---------------------------------------------------------------------------------------


def test_email_plain_and_with_subdomains_and_plus() -> None:
    text = "Schreibt an anna.kraemer84@gmx.de oder j.doe+billing@mail.example.co.uk."
    assert found(text) == [("email", "anna.kraemer84@gmx.de"), ("email", "j.doe+billing@mail.example.co.uk")]


def test_handles_are_not_emails() -> None:
    assert found("@Kurierkiste @FunkwerkHilfe seit Tagen keine Antwort") == []


def test_brand_email_is_not_pii_whatever_its_case() -> None:
    text = "Mail an SERVICE@Flinkstrom.de und an privat@gmx.de"
    assert found(text, brand_contacts=["service@flinkstrom.de"]) == [("email", "privat@gmx.de")]


# --- phone numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "0151 23456789",
        "030 12345678",
        "+49 89 2154 3370",
        "+43 664 1234567",
        "+41 79 123 45 67",
        "0176 24681357",
    ],
)
def test_german_speaking_region_numbers(number: str) -> None:
    assert found(f"Ruft mich an: {number}, danke!") == [("phone", number)]


@pytest.mark.parametrize("number", ["(415) 867-5309", "415-555-0132", "+1 646 555 0199", "020 7946 0958"])
def test_us_and_uk_numbers(number: str) -> None:
    assert found(f"Call me on {number} after 6pm") == [("phone", number)]


def test_brand_hotline_is_not_pii_in_any_format() -> None:
    contacts = ["+49 800 3301000", "1-800-555-0199"]
    text = "Hotline 0800 330 1000 und +1 800 555 0199 nutzlos, ruft mich an: 0171 9876543"
    assert found(text, brand_contacts=contacts) == [("phone", "0171 9876543")]


def test_two_numbers_side_by_side_are_both_found() -> None:
    assert found("Tel. 030 1234567 / 0171 9876543") == [("phone", "030 1234567"), ("phone", "0171 9876543")]
    assert found("Nummern: 0151 23456789 0171 9876543") == [
        ("phone", "0151 23456789"),
        ("phone", "0171 9876543"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Lieferung am 12.03.2024 angekündigt",
        "Seit 01.10.2023 zahle ich 89,90 € im Monat",
        "Zug 12345 um 14:32 fällt aus",
        "Bought 2 x 4K TVs for 1,499.00 each",
        "Ticket #558201 closed",
        "Card ending 4242 was charged twice",
    ],
)
def test_numbers_that_are_not_pii(text: str) -> None:
    assert found(text) == []


def test_phone_windows_cap_bounds_a_list_of_numbers() -> None:
    text = " / ".join(["0171 9876543"] * (MAX_WINDOWS + 20))
    assert len(list(phone_windows(text))) == MAX_WINDOWS + 20
    assert len(find_pii(text)) == MAX_WINDOWS


def test_bad_region_and_bad_brand_contact_are_named() -> None:
    with pytest.raises(ValueError, match="'XY'"):
        find_pii("0171 9876543", default_region="XY")
    with pytest.raises(ValueError, match="'our hotline'"):
        find_pii("0171 9876543", brand_contacts=["our hotline"])


# --- IBAN and cards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE50 5260 1815 9083 0166 13",
        "DE50526018159083016613",
        "GB24 NWBK 7465 0752 9170 34",
        "NL92 ABNA 2366 7127 68",
    ],
)
def test_valid_iban_spans_exactly_the_iban(iban: str) -> None:
    assert found(f"IBAN: {iban} for the refund please") == [("iban", iban)]


def test_iban_failing_mod97_is_not_reported_as_anything() -> None:
    assert found("Die IBAN DE50526018159083016616 ist falsch") == []


@pytest.mark.parametrize(
    "card", ["4603 1372 1590 1094", "5157117777412158", "3714 852538 88535", "5500-0055-5555-5559"]
)
def test_valid_cards(card: str) -> None:
    assert found(f"Karte {card} wurde belastet") == [("payment_card", card)]


def test_card_failing_luhn_is_not_reported() -> None:
    assert found("Kartennummer 4603 1372 1590 1095 wird abgelehnt") == []


def test_card_followed_by_another_number_keeps_only_the_card() -> None:
    assert found("Karte 4111 1111 1111 1111 2024 abgelaufen") == [("payment_card", "4111 1111 1111 1111")]


# --- cue-driven numbers, tracking, dates of birth -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kundennummer 4410283377, bitte prüfen", ("customer_number", "4410283377")),
        ("Kd.-Nr. 77123009", ("customer_number", "77123009")),
        ("Kundennr.: DE-4471129 – warum?", ("customer_number", "DE-4471129")),
        ("account number 88120455.", ("customer_number", "88120455")),
        ("Account no. 3300 2918 77", ("customer_number", "3300 2918 77")),
        ("Vertragsnummer: VN-88231045.", ("contract_number", "VN-88231045")),
        ("Policy number HL-77820311 — open", ("contract_number", "HL-77820311")),
        ("Bestellnummer 302-7781234-5566 fehlt", ("order_number", "302-7781234-5566")),
        ("Order #SN-4471902 still pending", ("order_number", "SN-4471902")),
        ("my order no. 1002-88341 - please", ("order_number", "1002-88341")),
        ("Booking reference QX4T9Z, flying", ("order_number", "QX4T9Z")),
        ("Sendungsnummer 00340434161094042557", ("tracking_number", "00340434161094042557")),
        (
            "USPS tracking 9400 1000 0000 0000 0000 00 stuck",
            ("tracking_number", "9400 1000 0000 0000 0000 00"),
        ),
    ],
)
def test_numbers_after_a_cue_word(text: str, expected: tuple[str, str]) -> None:
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Kundennummer hab ich gerade nicht zur Hand",
        "Account number? I don't have it handy",
        "Tracking says delivered since the 3rd",
        "Bestellnummer 12 fehlt",  # too short to be an id
    ],
)
def test_cue_word_without_an_id(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("code", ["JJD725102734646869589", "1Z4XX5N4T91JUT722R", "RR398259798DE"])
def test_tracking_shapes_need_no_cue(code: str) -> None:
    assert found(f"Wo bleibt {code}?") == [("tracking_number", code)]


def test_s10_shape_with_wrong_check_digit_needs_a_cue() -> None:
    assert found("Wo bleibt RR398259797DE?") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Kundin seit 2009, geb. 12.03.1961, und so?", "12.03.1961"),
        ("Geboren am 4. Mai 1958, kein Smartphone", "4. Mai 1958"),
        ("Geburtsdatum 1985-07-23 steht falsch", "1985-07-23"),
        ("Mein Geburtstag ist am 3.4.1990, im System steht 1999", "3.4.1990"),
        ("DOB 07/14/1979, that's correct", "07/14/1979"),
        ("I was born on March 3, 1952 and", "March 3, 1952"),
        ("DOB: 3rd May 1985, same as passport", "3rd May 1985"),
        ("Date of birth: 1990-02-28.", "1990-02-28"),
    ],
)
def test_date_of_birth_after_a_birth_cue(text: str, date: str) -> None:
    assert found(text) == [("date_of_birth", date)]


@pytest.mark.parametrize(
    "text",
    [
        "Delivery was promised for 03/14/2024, then 03/21",
        "Am 24.12. Geburtstag gehabt und das Geschenk kam nie an",
        "Er ist 1950 geboren und versteht die App nicht",
        "My kid's birthday is on Saturday",
    ],
)
def test_dates_that_are_not_birthdays(text: str) -> None:
    assert found(text) == []


# --- postal addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "Lindenstraße 14, 50674 Köln",
        "Hauptstr. 7a, 80331 München",
        "Berliner Allee 120, 40212 Düsseldorf",
        "Am Rosengarten 3, 01067 Dresden",
        "Schillerstr. 22b, 70173 Stuttgart",
        "Lindenstraße 14",
    ],
)
def test_german_addresses(address: str) -> None:
    assert found(f"Bitte an {address} liefern") == [("postal_address", address)]


@pytest.mark.parametrize(
    "address",
    [
        "742 Evergreen Terrace, Springfield, OR 97403",
        "Flat 3, 12 High Street, Leeds LS1 4AB",
        "221 Baker Street, London NW1 6XE",
        "58 Maple Avenue, Apt 4B, Austin, TX 78701",
        "15 Oak Lane",
    ],
)
def test_english_addresses(address: str) -> None:
    assert found(f"Ship to {address} please") == [("postal_address", address)]


@pytest.mark.parametrize(
    "text",
    [
        "Bin auf Platz 3 in der Warteschleife",
        "Gleis 7 fällt aus",
        "Filiale Königstraße hat zu",
        "Im Jahr 1998 war die Bahn pünktlicher",
        "Am Rosengarten 3 ist ohne Postleitzahl nicht eindeutig",
    ],
)
def test_street_words_without_an_address(text: str) -> None:
    assert found(text) == []


# --- overlaps, offsets, masking -------------------------------------------------------------------


def test_overlaps_resolve_to_the_most_specific_type() -> None:
    text = "Kundennummer 4111111111111111 ist eigentlich meine Kreditkarte"
    assert found(text) == [("payment_card", "4111111111111111")]


def test_spans_are_sorted_disjoint_and_typed() -> None:
    text = (
        "Rückruf 030 12345678, Mail j.hoffmann@web.de, Kd.-Nr. 77123009, IBAN DE50 5260 1815 9083 0166 13, "
        "Karte 4603 1372 1590 1094, Sendung JJD725102734646869589, geb. 12.03.1961, "
        "Lindenstraße 14, 50674 Köln"
    )
    spans = find_pii(text)
    assert [s.label for s in spans] == [
        "phone",
        "email",
        "customer_number",
        "iban",
        "payment_card",
        "tracking_number",
        "date_of_birth",
        "postal_address",
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert {s.label for s in spans} <= set(PII_TYPES)


def test_offsets_index_the_original_text_after_wide_characters() -> None:
    text = "😂😂 İİ ẞ Mail: anna@gmx.de 🙄"
    (span,) = find_pii(text)
    assert text[span.start : span.end] == "anna@gmx.de"


def test_mask_pii_replaces_each_span_with_its_type_tag() -> None:
    text = "Ruft 0171 9876543 an oder schreibt anna@gmx.de."
    assert mask_pii(text, find_pii(text)) == "Ruft [phone] an oder schreibt [email]."


def test_mask_pii_takes_records_and_merges_overlaps() -> None:
    text = "abc 12345 def"
    records = [{"type": "customer_number", "start": 4, "end": 9}, {"type": "phone", "start": 6, "end": 9}]
    assert mask_pii(text, records) == "abc [customer_number] def"
    assert mask_pii(text, []) == text


def test_mask_pii_rejects_spans_outside_the_text() -> None:
    with pytest.raises(ValueError, match="does not fit a text of 3 characters"):
        mask_pii("abc", [Span(1, 5, "email")])


# --- hostile and odd input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02\x7f\x1b[31m",
        "\ud800 Kundennummer 12345678 \udfff",
        "😂🙄🤬",
        "Привет 0171 9876543 مرحبا",
    ],
)
def test_odd_input_never_crashes(text: str) -> None:
    for span in find_pii(text):
        assert 0 <= span.start < span.end <= len(text)


def test_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="must be str"):
        find_pii(b"bytes")  # type: ignore[arg-type]


HOSTILE = {
    "digits": "1" * 100_000,
    "digits and spaces": "1 " * 50_000,
    "digits and dashes": "1-" * 50_000,
    "open parentheses": "(1" * 50_000,
    "at signs": "a@" * 50_000,
    "long local part": ("a" * 60 + "@" + "b" * 60 + ".") * 820,
    "iban prefixes": "DE89 " * 20_000,
    "street names": "Hauptstraße 1 " * 7_000,
    "phone numbers": "0151 23456789 " * 7_000,
    "dates": "geb. 12.03.1961 " * 6_000,
    "cue words": "Kundennummer " * 7_500,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_takes_linear_time(name: str) -> None:
    """100,000 characters take far less than 100 times as long as 10,000 (quadratic time would)."""
    assert_linear(find_pii, HOSTILE[name])


def assert_linear(function: Callable[[str], object], text: str) -> None:
    """Fail when ``function`` on ``text`` takes over 40 times what it takes on a tenth of ``text``.

    A complexity check, not a speed target: linear time gives about 10x, quadratic 100x. The large input
    is timed twice at most, so one scheduling hiccup on a shared machine does not fail it.
    """
    small = text[: len(text) // 10]
    small_time = min(_seconds(function, small) for _ in range(3))
    large_time = _seconds(function, text)
    if large_time >= 40 * small_time + 0.05:
        large_time = min(large_time, _seconds(function, text))
    assert large_time < 40 * small_time + 0.05, (small_time, large_time)


def _seconds(function: Callable[[str], object], text: str) -> float:
    started = time.perf_counter()
    function(text)
    return time.perf_counter() - started


# --- the annotated evaluation set -----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EVAL_DATA.glob("legal_pii_*.jsonl")), ids=lambda p: p.name)
def test_evaluation_set_pii_offsets_are_exact(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        for item in record["labels"]["pii"]:
            assert item["type"] in PII_TYPES, (path.name, number, item)
            assert record["text"][item["start"] : item["end"]] == item["value"], (path.name, number, item)
