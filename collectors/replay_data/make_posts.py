"""Build the bundled replay stream (posts.jsonl, events.jsonl, brands.json) from hand-written lines.

Every post text is written by hand in ``lines/<brand>.txt``; this script only fills in the
personal data (valid IBANs and card numbers, fictional phone numbers from the ranges regulators
reserve for fiction, addresses, reference numbers), picks authors, spreads the posts over the
first two story hours and lays out the moderation timeline. It is seeded, so the output is
byte-identical on every run::

    python collectors/replay_data/make_posts.py

Line format (``#`` starts a comment, ``[de]`` / ``[en]`` sets the language of the lines below)::

    <tokens> | <text>

Tokens, in any order:

* exactly one kind: a complaint topic (``delivery billing contract_cancellation product_defect
  service_reachability account_access privacy_data other``) or a non-complaint (``praise question
  neutral news brand``; ``brand`` posts come from the brand's support account);
* flags ``legal`` (legal threat), ``reg`` (escalation to a regulator), ``defam`` (an accusation
  asserted as fact), ``insult`` (an insult aimed at staff);
* ``~case`` marks a hard case for evaluation (``~sarcasm ~negation ~quote ~news ~hotline ~opinion``);
* ``@handle`` pins the author (recurring authors), ``=label`` names the post, ``^label`` makes it
  a reply to a labelled post, a bare ``^`` a reply to the line above.

Placeholders in the text: ``{iban} {card} {email} {phone} {address} {customer_no} {contract_no}
{order_no} {tracking_no} {dob}`` (personal data, annotated in ``expect.pii``), ``{hotline}`` (the
brand's own public number: not personal data) and ``{parent}`` (the handle replied to).

Topic guide: ``delivery`` = goods, parcels, SIM cards or luggage late, lost or misdelivered;
``product_defect`` = a product or the service itself broken (no network, broken train toilets,
crashing app); train or flight delays and staff behaviour are ``other``.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240611
STORY_POSTS_END = 7200  # posts spread over the first two story hours
STORY_EVENTS_END = 18000  # every event happens by story hour five
MIN_GAP = 600  # ten story minutes: after the post, and between events on one post or author

TOPICS = (
    "delivery",
    "billing",
    "contract_cancellation",
    "product_defect",
    "service_reachability",
    "account_access",
    "privacy_data",
    "other",
)
NON_COMPLAINTS = ("praise", "question", "neutral", "news", "brand")
FLAGS = {"legal": "legal_threat", "reg": "regulator", "defam": "defamation_risk", "insult": "insult"}
CASES = ("sarcasm", "negation", "quote", "news", "hotline", "opinion")
PII_PLACEHOLDERS = {
    "iban": "iban",
    "card": "payment_card",
    "email": "email",
    "phone": "phone",
    "address": "postal_address",
    "customer_no": "customer_number",
    "contract_no": "contract_number",
    "order_no": "order_number",
    "tracking_no": "tracking_number",
    "dob": "date_of_birth",
}


@dataclass(frozen=True)
class Brand:
    name: str
    corporate: str
    support: str
    hotline: str
    country: str  # "de" | "uk" | "us": formats of the personal data its customers post
    contacts: tuple[str, ...] = ()


BRANDS = {
    "nordbahn": Brand("Nordbahn", "@Nordbahn", "@Nordbahn_Hilfe", "030 23125 000", "de"),
    "telvia": Brand("Telvia", "@Telvia", "@TelviaHilft", "0221 4710 100", "de", ("service@telvia.example",)),
    "paketfix": Brand("Paketfix", "@Paketfix", "@Paketfix_Service", "069 90009 200", "de"),
    "brightwave": Brand("Brightwave Mobile", "@BrightwaveMob", "@BrightwaveHelp", "0113 496 0000", "uk"),
    "quickcart": Brand("Quickcart", "@Quickcart", "@QuickcartHelp", "(206) 555-0100", "us"),
    "skylark": Brand("SkyLark Air", "@SkyLarkAir", "@SkyLarkCares", "(312) 555-0142", "us"),
}


@dataclass
class Draft:
    """One hand-written line, before ids, authors and times are assigned."""

    brand_key: str
    lang: str
    kind: str
    flags: set[str]
    cases: list[str]
    handle: str | None
    label: str | None
    reply_ref: str | None  # label, or "" for the line above
    template: str
    origin: str  # file:line, for error messages
    pinned: bool = False  # the line names its author
    index: int = 0
    parent: Draft | None = None
    at: int = 0
    text: str = ""
    pii: list[str] = field(default_factory=list)
    author_id: str = ""
    post_id: str = ""


# ---------------------------------------------------------------- reading the lines


def read_drafts(directory: Path) -> list[Draft]:
    """All lines of all brand files, in file order, with replies linked to their parents."""
    drafts: list[Draft] = []
    for path in sorted(directory.glob("*.txt")):
        drafts.extend(_read_file(path))
    _link_replies(drafts)
    for index, draft in enumerate(drafts):
        draft.index = index
    return drafts


def _read_file(path: Path) -> Iterable[Draft]:
    brand_key, lang = path.stem, ""
    if brand_key not in BRANDS:
        raise SystemExit(f"{path}: no brand {brand_key!r} in BRANDS")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if re.fullmatch(r"\[(de|en)\]", line):
            lang = line[1:-1]
            continue
        if not lang:
            raise SystemExit(f"{path}:{number}: a line before any [de]/[en] section")
        yield _parse_line(line, f"{path.name}:{number}", brand_key, lang)


def _parse_line(line: str, origin: str, brand_key: str, lang: str) -> Draft:
    tokens, sep, text = line.partition(" | ")
    if not sep or not text.strip():
        raise SystemExit(f"{origin}: expected '<tokens> | <text>'")
    kinds, flags, cases = [], set(), []
    handle = label = reply_ref = None
    for token in tokens.split():
        if token in TOPICS or token in NON_COMPLAINTS:
            kinds.append(token)
        elif token in FLAGS:
            flags.add(token)
        elif token.startswith("~") and token[1:] in CASES:
            cases.append(token[1:])
        elif token.startswith("@"):
            handle = token
        elif token.startswith("="):
            label = token[1:]
        elif token.startswith("^"):
            reply_ref = token[1:]
        else:
            raise SystemExit(f"{origin}: unknown token {token!r}")
    if len(kinds) != 1:
        raise SystemExit(f"{origin}: expected exactly one kind, got {kinds}")
    return Draft(
        brand_key,
        lang,
        kinds[0],
        flags,
        cases,
        handle,
        label,
        reply_ref,
        text.strip(),
        origin,
        handle is not None,
    )


def _link_replies(drafts: list[Draft]) -> None:
    labelled: dict[str, Draft] = {}
    for previous, draft in zip([None, *drafts], drafts, strict=False):
        if draft.reply_ref is not None:
            parent = labelled.get(draft.reply_ref) if draft.reply_ref else previous
            if parent is None:
                raise SystemExit(f"{draft.origin}: reply to unknown post {draft.reply_ref!r}")
            draft.parent = parent
        if draft.label:
            if draft.label in labelled:
                raise SystemExit(f"{draft.origin}: label {draft.label!r} used twice")
            labelled[draft.label] = draft


# ---------------------------------------------------------------- authors


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_DE = _words(
    "lena jonas mia leon hannah paul emma finn sophie lukas marie felix anna max laura tim julia niklas lea "
    "tobias sarah jan katrin sven birgit uwe heike dirk sabine thomas petra andreas claudia stefan nicole "
    "markus sandra frank jens anja kerstin holger moritz greta carla emil ida matthias svenja yasemin "
    "mehmet aylin dominik ramona kai fabian nele jannik merle"
)
LAST_DE = _words(
    "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch richter klein wolf "
    "neumann schwarz zimmermann braun krueger hartmann lange werner krause lehmann koehler maier jung hahn "
    "vogel friedrich keller peters brandt haas yilmaz kaya nowak jansen petersen"
)
EXTRA_DE = _words(
    "kaffeejunkie_hh pendlerin_ms bahnfrust_ol nordlicht84 gamer_tobi dieMarie oma_erna_online "
    "schrebergarten_fan techniknerd_ka fussballpapa73 radlerin_hb kuestenkind92 homeoffice_held "
    "mama_von_drei stadtkind_koeln leipzig_lotta ruhrpottjunge frau_dr_s kaesekuchen_queen "
    "bergsteiger_m zugpendler_hh regenjacke99 katzenmama_do brotback_bernd ersti_muenster "
    "rentner_rudi feierabendbier serienjunkie_b hafenkind_ki kochloeffel_k"
)
FIRST_EN = _words(
    "jess dave sarah mike emily chris laura tom rachel ben olivia james sophie dan hannah matt amy ryan "
    "kate josh megan luke chloe adam ellie sam grace nick zoe jake priya raj aisha tyler brianna marcus "
    "keisha diego maria liam noah ava mason"
)
LAST_EN = _words(
    "smith jones brown taylor wilson davies evans thomas johnson roberts walker wright robinson thompson "
    "white hughes edwards green hall wood harris clarke patel khan garcia miller martinez lee nguyen "
    "anderson jackson"
)
EXTRA_EN = _words(
    "the_real_dave coffee_and_code mumof3_leeds brianwrites sarahjane92 techdad_tx nightowl_nyc "
    "gym_rat_gary plantmom_sea dogdad_phx vinyl_vince kayak_kim bookworm_beth retired_ron "
    "grad_student_al sneakerhead_j bakes_with_bea rainy_day_rob northern_lass_k cyclist_cal "
    "just_ellie_x mancunian_mo sunday_gardener big_mike_atl brum_born_raj"
)


class AuthorPool:
    """Hands out authors: fresh ones mostly, now and then someone who posted before."""

    def __init__(self, rng: random.Random, pinned: set[str]) -> None:
        self.rng = rng
        self.fresh = {
            "de": [h for h in self._handles(FIRST_DE, LAST_DE, EXTRA_DE) if h not in pinned],
            "en": [h for h in self._handles(FIRST_EN, LAST_EN, EXTRA_EN) if h not in pinned],
        }
        self.used: dict[str, list[str]] = {"de": [], "en": []}

    def _handles(self, first: tuple[str, ...], last: tuple[str, ...], extra: tuple[str, ...]) -> list[str]:
        styles: list[Callable[[str, str], str]] = [
            lambda f, s: f"{f}_{s[0]}",
            lambda f, s: f"{f}{s}{self.rng.randint(70, 99)}",
            lambda f, s: f"{f}_{s}",
            lambda f, s: f"{f[0]}{s}",
            lambda f, s: f"{f}.{s}".replace(".", "_") + str(self.rng.randint(1, 9)),
        ]
        handles = {
            f"@{self.rng.choice(styles)(self.rng.choice(first), self.rng.choice(last))}" for _ in range(260)
        }
        handles.update(f"@{name}" for name in extra)
        ordered = sorted(handles)
        self.rng.shuffle(ordered)
        return ordered

    def pick(self, lang: str) -> str:
        used = self.used[lang]
        if used and self.rng.random() < 0.14:
            return self.rng.choice(used)
        handle = self.fresh[lang].pop()
        used.append(handle)
        return handle


def assign_authors(drafts: list[Draft], rng: random.Random) -> None:
    pool = AuthorPool(rng, pinned={d.handle for d in drafts if d.handle})
    for draft in drafts:
        if draft.kind == "brand":
            draft.handle = BRANDS[draft.brand_key].support
        elif draft.handle is None:
            draft.handle = pool.pick(draft.lang)


# ---------------------------------------------------------------- story times


def assign_times(drafts: list[Draft], rng: random.Random) -> None:
    """Spread posts over the first story hours; replies, and a pinned author's later lines, come after."""
    followed = _followed(drafts)
    last_by_author: dict[str, Draft] = {}
    for draft in drafts:
        previous = last_by_author.get(draft.handle or "") if draft.pinned else None
        before = [d for d in (draft.parent, previous) if d is not None]
        if before:
            lower = max(d.at for d in before) + rng.randint(90, 600)
            draft.at = min(rng.randint(lower, lower + 1500), max(lower, STORY_POSTS_END))
        else:
            draft.at = rng.randint(0, STORY_POSTS_END - 2400 if id(draft) in followed else STORY_POSTS_END)
        if draft.pinned:
            last_by_author[draft.handle or ""] = draft
    _squeeze(drafts, STORY_POSTS_END)


def _squeeze(drafts: list[Draft], end: int) -> None:
    """Scale all times into [0, end] when a long reply chain ran past it; the order is kept."""
    latest = max(d.at for d in drafts)
    if latest > end:
        for draft in drafts:
            draft.at = draft.at * end // latest


def _followed(drafts: list[Draft]) -> set[int]:
    """Drafts that another draft must come after (parents, and a pinned author's earlier lines)."""
    followed = {id(d.parent) for d in drafts if d.parent is not None}
    seen: dict[str, Draft] = {}
    for draft in drafts:
        if draft.pinned:
            if draft.handle in seen:
                followed.add(id(seen[draft.handle or ""]))
            seen[draft.handle or ""] = draft
    return followed


# ---------------------------------------------------------------- personal data


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _group(text: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(text[i : i + size] for i in range(0, len(text), size))


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 check digits that make ``country + check + bban`` pass mod-97."""
    rearranged = bban + country + "00"
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def fake_iban(brand: Brand, rng: random.Random) -> str:
    if brand.country == "uk":
        bban = rng.choice(["NWBK", "BUKB", "LOYD", "MIDL"]) + _digits(rng, 14)
        iban = "GB" + iban_check_digits("GB", bban) + bban
    else:
        bban = rng.choice(["37040044", "50010517", "20041133", "76026000", "43060967"]) + _digits(rng, 10)
        iban = "DE" + iban_check_digits("DE", bban) + bban
    return _group(iban) if rng.random() < 0.7 else iban


def fake_card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "4", "51", "53", "55"])
    partial = prefix + _digits(rng, 15 - len(prefix))
    number = partial + luhn_check_digit(partial)
    return rng.choice([_group(number), _group(number, sep="-"), number])


def fake_phone(brand: Brand, rng: random.Random) -> str:
    tail = rng.randint(300, 999)
    if brand.country == "de":
        return rng.choice(
            [
                f"030 23125 {tail}",
                f"+49 30 23125{tail}",
                f"040/66969-{tail}",
                f"0221 4710{tail}",
                f"089 99998 {tail}",
                "0152 28817386",
                f"+49 (0)69 90009 {tail}",
            ]
        )
    if brand.country == "uk":
        return rng.choice(
            [f"020 7946 0{tail}", f"+44 20 7946 0{tail}", f"0161 496 0{tail}", f"0113 496 0{tail}"]
        )
    return rng.choice(
        [f"(415) 555-01{tail % 100:02d}", f"512-555-01{tail % 100:02d}", f"+1 646 555 01{tail % 100:02d}"]
    )


def fake_email(brand: Brand, rng: random.Random) -> str:
    first, last = (
        (rng.choice(FIRST_DE), rng.choice(LAST_DE))
        if brand.country == "de"
        else (rng.choice(FIRST_EN), rng.choice(LAST_EN))
    )
    local = rng.choice([f"{first}.{last}", f"{first}{last[0]}{rng.randint(1, 99)}", f"{first[0]}.{last}"])
    domain = (
        rng.choice(["web.example", "gmx.example", "posteo.example", "mailbox.example"])
        if (brand.country == "de")
        else rng.choice(["gmail.example", "outlook.example", "icloud.example", "yahoo.example"])
    )
    return f"{local}@{domain}"


STREETS_DE = (
    "Lindenstraße",
    "Goethestr.",
    "Kastanienallee",
    "Am Mühlbach",
    "Wiesenweg",
    "Rosenstraße",
    "Birkenweg",
    "Schillerplatz",
    "Hafenstraße",
    "Talstr.",
)
CITIES_DE = (
    ("50667", "Köln"),
    ("20357", "Hamburg"),
    ("10437", "Berlin"),
    ("04277", "Leipzig"),
    ("28203", "Bremen"),
    ("44137", "Dortmund"),
    ("30159", "Hannover"),
    ("48143", "Münster"),
)
STREETS_EN = (
    "Hawthorn Road",
    "Maple Ave",
    "Elm Street",
    "Station Road",
    "Oak Lane",
    "Victoria Terrace",
    "Pine St",
)
CITIES_UK = ("Leeds LS6 2QT", "Bristol BS3 4HJ", "Manchester M14 5RB", "Glasgow G12 8QQ")
CITIES_US = ("Austin, TX 78704", "Seattle, WA 98103", "Columbus, OH 43201", "Denver, CO 80205")


def fake_address(brand: Brand, rng: random.Random) -> str:
    number = rng.randint(2, 148)
    if brand.country == "de":
        plz, city = rng.choice(CITIES_DE)
        return f"{rng.choice(STREETS_DE)} {number}, {plz} {city}"
    if brand.country == "uk":
        return f"{number} {rng.choice(STREETS_EN)}, {rng.choice(CITIES_UK)}"
    apartment = rng.choice(["", f", Apt {rng.randint(1, 12)}{rng.choice('ABC')}"])
    return f"{number * 11} {rng.choice(STREETS_EN)}{apartment}, {rng.choice(CITIES_US)}"


def fake_dob(brand: Brand, rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1951, 2003)
    if brand.country == "de":
        return f"{day:02d}.{month:02d}.{year}"
    if brand.country == "uk":
        return f"{day:02d}/{month:02d}/{year}"
    return f"{month:02d}/{day:02d}/{year}"


REFERENCE_FORMATS = {
    "customer_no": {
        "nordbahn": "NB-{4}-{6}",
        "telvia": "KD-{8}",
        "paketfix": "PF-K-{7}",
        "brightwave": "BW{8}",
        "quickcart": "QC{9}",
        "skylark": "LP{9}",
    },
    "contract_no": {
        "nordbahn": "ABO-{6}",
        "telvia": "VTR-2023-{6}",
        "paketfix": "PFP-{6}",
        "brightwave": "BWC-{8}",
        "quickcart": "QCP-{4}-{4}",
        "skylark": "CLUB-{6}",
    },
    "order_no": {
        "nordbahn": "NB{8}",
        "telvia": "TV-{7}",
        "paketfix": "PF-2024-{6}",
        "brightwave": "BW-ORD-{7}",
        "quickcart": "112-{7}-{7}",
        "skylark": "{pnr}",
    },
    "tracking_no": {
        "nordbahn": "NB{12}",
        "telvia": "00340434{12}",
        "paketfix": "PFX{10}DE",
        "brightwave": "RM{s10}GB",
        "quickcart": "1Z9{5}AA{8}",
        "skylark": "ORDSL{5}",
    },
}


def s10_check_digit(serial: str) -> str:
    """The UPU S10 check digit of an 8-digit item serial (as on Royal Mail tracking numbers)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11
    return {10: "0", 11: "5"}.get(remainder, str(remainder))


def fake_reference(kind: str, brand_key: str, rng: random.Random) -> str:
    """A customer, contract, order or tracking number in the brand's own format."""

    def part(match: re.Match[str]) -> str:
        if match[1] == "pnr":
            return "".join(rng.choice(string.ascii_uppercase + "23456789") for _ in range(6))
        if match[1] == "s10":
            serial = _digits(rng, 8)
            return serial + s10_check_digit(serial)
        return _digits(rng, int(match[1]))

    return re.sub(r"\{(\d+|pnr|s10)\}", part, REFERENCE_FORMATS[kind][brand_key])


def fill_text(draft: Draft, rng: random.Random) -> None:
    """Replace the placeholders with fresh fictional values and record which personal data it holds."""
    brand = BRANDS[draft.brand_key]

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name == "hotline":
            return brand.hotline
        if name == "parent":
            assert draft.parent is not None, draft.origin
            return draft.parent.handle or ""
        if name not in PII_PLACEHOLDERS:
            raise SystemExit(f"{draft.origin}: unknown placeholder {{{name}}}")
        if PII_PLACEHOLDERS[name] not in draft.pii:
            draft.pii.append(PII_PLACEHOLDERS[name])
        return _fake(name, brand, draft.brand_key, rng)

    draft.text = re.sub(r"\{(\w+)\}", replace, draft.template)


def _fake(name: str, brand: Brand, brand_key: str, rng: random.Random) -> str:
    makers: dict[str, Callable[[], str]] = {
        "iban": lambda: fake_iban(brand, rng),
        "card": lambda: fake_card(rng),
        "email": lambda: fake_email(brand, rng),
        "phone": lambda: fake_phone(brand, rng),
        "address": lambda: fake_address(brand, rng),
        "dob": lambda: fake_dob(brand, rng),
    }
    return makers[name]() if name in makers else fake_reference(name, brand_key, rng)


# ---------------------------------------------------------------- identities


def assign_ids(drafts: list[Draft]) -> list[Draft]:
    """Number posts in story order (rp-0001 ...) and authors in order of their first post (u-001 ...)."""
    ordered = sorted(drafts, key=lambda d: (d.at, d.index))
    author_ids: dict[str, str] = {}
    for number, draft in enumerate(ordered, start=1):
        draft.post_id = f"rp-{number:04d}"
        handle = draft.handle or ""
        draft.author_id = author_ids.setdefault(handle, f"u-{len(author_ids) + 1:03d}")
    return ordered


# ---------------------------------------------------------------- the moderation timeline

#: Hand-written story arcs. Target ``post:<label>`` (minutes counted from the post),
#: ``author:<handle>`` or ``author_of:<label>`` (minutes counted from the author's last post).
#: Each step waits its minutes after the step before it.
ARCS: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = (
    # Telvia: a data leak report hidden, an outage complaint hidden then restored, its author going private
    ("post:tv_iban", (("deleted_by_author", 14),)),
    ("post:tv_bnetza", (("removed_by_moderator", 25), ("restored", 60))),
    ("author:@mia_ko", (("protected", 75), ("active", 60))),
    ("post:tv_betrug", (("removed_by_platform", 30),)),
    ("post:tv_inkasso", (("deleted_by_author", 40),)),
    ("author_of:tv_kuend", (("suspended", 45), ("active", 100))),
    ("post:tv_leak", (("removed_by_moderator", 20),)),
    ("post:tv_phone", (("deleted_by_author", 15),)),
    # Nordbahn: an arbitration case's author suspended, a lawsuit announcement removed and restored
    ("author:@paula_mtr", (("suspended", 35), ("active", 120))),
    ("post:nb_insult", (("removed_by_moderator", 15),)),
    ("author:@kai_rbg", (("suspended", 25),)),
    ("post:nb_klage", (("removed_by_moderator", 45), ("restored", 60))),
    ("post:nb_iban", (("deleted_by_author", 12),)),
    ("author:@ole_hh", (("protected", 90), ("active", 60))),
    # Paketfix: a theft accusation removed, a lawsuit announcement and exposed data deleted
    ("post:pf_klauen", (("removed_by_platform", 25),)),
    ("post:pf_klage", (("deleted_by_author", 60),)),
    ("post:pf_track", (("deleted_by_author", 18),)),
    ("post:pf_address", (("deleted_by_author", 11),)),
    ("post:pf_phone", (("deleted_by_author", 33),)),
    # Brightwave: the ombudsman complainer suspended, the SIM-swap victim's post removed then restored
    ("author:@jamie_rh", (("suspended", 30), ("active", 110))),
    ("post:bw_simswap", (("removed_by_moderator", 35), ("restored", 85))),
    ("post:bw_stole", (("removed_by_platform", 20),)),
    ("author_of:bw_stole", (("deactivated", 90),)),
    ("post:bw_lawyer", (("deleted_by_author", 50),)),
    ("post:bw_card", (("deleted_by_author", 12),)),
    ("post:bw_email", (("deleted_by_author", 26),)),
    ("post:bw_phone", (("deleted_by_author", 19),)),
    # Quickcart: the BBB complainer's post removed and the author locked out for good
    ("post:qc_bbb", (("removed_by_moderator", 20),)),
    ("author:@dee_travels", (("suspended", 60),)),
    ("post:qc_cfpb", (("removed_by_platform", 40), ("restored", 100))),
    ("post:qc_stole", (("removed_by_platform", 15),)),
    ("author_of:qc_lawsuit", (("deactivated", 70),)),
    ("post:qc_card", (("deleted_by_author", 10),)),
    ("post:qc_address", (("deleted_by_author", 24),)),
    ("post:qc_phone", (("deleted_by_author", 37),)),
    # SkyLark: the DOT complaint removed, its author going private, the lawyer letter's author suspended
    ("post:sl_dot", (("removed_by_moderator", 30),)),
    ("author:@marcus_bt", (("protected", 90), ("active", 70))),
    ("post:sl_unsafe", (("removed_by_platform", 20),)),
    ("post:sl_bag", (("deleted_by_author", 120),)),
    ("author_of:sl_lawyer", (("suspended", 45), ("active", 85))),
    ("post:sl_card", (("deleted_by_author", 13),)),
    ("post:sl_phone", (("deleted_by_author", 22),)),
    # Recurring complainers who escalated and then went quiet
    ("post:qc_lou3", (("removed_by_moderator", 20),)),
    ("author:@lou_rants", (("deactivated", 60),)),
    ("author:@ana_vdb", (("protected", 40),)),
    ("author:@nat_osei", (("deactivated", 120),)),
)

#: Extra events on posts and authors not in any arc: (status, how many, which posts qualify).
FILL_POSTS: tuple[tuple[str, int, Callable[[Draft], bool]], ...] = (
    ("deleted_by_author", 6, lambda d: bool(d.pii) and d.kind in TOPICS),
    ("deleted_by_author", 5, lambda d: d.kind in TOPICS),
    ("removed_by_moderator", 6, lambda d: bool(d.flags & {"legal", "reg", "insult"})),
    ("removed_by_platform", 3, lambda d: bool(d.flags & {"defam", "insult"})),
)
FILL_AUTHORS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("deactivated",), 3),
    (("suspended",), 2),
    (("protected",), 1),
    (("suspended", "active"), 1),
)


class Timeline:
    """Collects events and keeps the spacing rules that let a recheck cadence observe each state."""

    def __init__(self, posts: list[Draft]) -> None:
        self.posts = posts
        self.by_author: dict[str, list[Draft]] = {}
        for post in posts:
            self.by_author.setdefault(post.author_id, []).append(post)
        self.post_times: dict[str, list[int]] = {p.post_id: [] for p in posts}
        self.author_times: dict[str, list[int]] = {a: [] for a in self.by_author}
        self.events: list[dict[str, object]] = []

    def touched(self, post: Draft) -> bool:
        return bool(self.post_times[post.post_id] or self.author_times[post.author_id])

    def add_post_event(self, post: Draft, status: str, at: int) -> int:
        at = self._first_free(at, post.at, [post])
        self.post_times[post.post_id].append(at)
        self.events.append({"at": at, "post_id": post.post_id, "status": status})
        return at

    def add_author_event(self, author_id: str, status: str, at: int) -> int:
        posts = self.by_author[author_id]
        at = self._first_free(at, max(p.at for p in posts), posts)
        self.author_times[author_id].append(at)
        self.events.append({"at": at, "author_id": author_id, "author_status": status})
        return at

    def _first_free(self, at: int, not_before: int, posts: list[Draft]) -> int:
        taken = {t for p in posts for t in self.post_times[p.post_id] + self.author_times[p.author_id]}
        at = max(at, not_before + MIN_GAP)
        while any(abs(at - t) < MIN_GAP for t in taken):
            at += 60
        if at > STORY_EVENTS_END:
            raise OverflowError(f"no free story time for an event on {posts[0].post_id}")
        return at


def build_events(posts: list[Draft], rng: random.Random) -> list[dict[str, object]]:
    """The arcs, then the fill-up events, in story order."""
    timeline = Timeline(posts)
    by_label = {p.label: p for p in posts if p.label}
    by_handle = {p.handle: p.author_id for p in posts}
    for target, steps in ARCS:
        _play_arc(timeline, target, steps, by_label, by_handle)
    _fill(timeline, rng)
    return sorted(timeline.events, key=lambda e: int(str(e["at"])))


def _play_arc(
    timeline: Timeline,
    target: str,
    steps: tuple[tuple[str, int], ...],
    by_label: dict[str, Draft],
    by_handle: dict[str | None, str],
) -> None:
    kind, _, name = target.partition(":")
    if kind == "post":
        post = by_label[name]
        at = post.at
        for status, minutes in steps:
            at = timeline.add_post_event(post, status, at + minutes * 60)
        return
    author_id = by_handle[name] if kind == "author" else by_label[name].author_id
    at = max(p.at for p in timeline.by_author[author_id])
    for status, minutes in steps:
        at = timeline.add_author_event(author_id, status, at + minutes * 60)


def _fill(timeline: Timeline, rng: random.Random) -> None:
    for status, count, qualifies in FILL_POSTS:
        candidates = [
            p for p in timeline.posts if qualifies(p) and not timeline.touched(p) and p.kind != "brand"
        ]
        for post in rng.sample(candidates, count):
            timeline.add_post_event(post, status, post.at + rng.randint(10, 150) * 60)
    complainers = sorted(
        {p.author_id for p in timeline.posts if p.kind in TOPICS and not p.pinned}
        - {a for a, times in timeline.author_times.items() if times}
        - {p.author_id for p in timeline.posts if timeline.post_times[p.post_id]}
    )
    for statuses, count in FILL_AUTHORS:
        for author_id in rng.sample(complainers, count):
            complainers.remove(author_id)
            at = max(p.at for p in timeline.by_author[author_id])
            for status in statuses:
                at = timeline.add_author_event(author_id, status, at + rng.randint(15, 120) * 60)


# ---------------------------------------------------------------- output


def post_record(draft: Draft) -> dict[str, object]:
    """The stored form of one post, with the author's annotation under ``expect``."""
    complaint = draft.kind in TOPICS
    expect: dict[str, object] = {"complaint": complaint, "topic": draft.kind if complaint else None}
    expect.update({name: token in draft.flags for token, name in FLAGS.items()})
    expect["pii"] = list(draft.pii)
    return {
        "id": draft.post_id,
        "brand": BRANDS[draft.brand_key].name,
        "author_id": draft.author_id,
        "author_handle": draft.handle,
        "lang": draft.lang,
        "at": draft.at,
        "text": draft.text,
        "reply_to": draft.parent.post_id if draft.parent else None,
        "expect": expect,
        "hard_cases": draft.cases,
    }


def brand_records(posts: list[Draft]) -> list[dict[str, object]]:
    """Per brand: what to search for and its own public contacts (not personal data)."""
    records: list[dict[str, object]] = []
    for key, brand in BRANDS.items():
        langs = sorted({p.lang for p in posts if p.brand_key == key})
        records.append(
            {
                "brand": brand.name,
                "terms": [brand.name],
                "handles": [brand.corporate, brand.support],
                "contacts": [brand.hotline, *brand.contacts],
                "languages": langs,
            }
        )
    return records


def write_jsonl(path: Path, records: Iterable[dict[str, object]]) -> None:
    lines = (json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) for record in records)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def write_stream(out_dir: Path, lines_dir: Path = HERE / "lines") -> tuple[int, int]:
    """Build the stream from ``lines_dir`` into ``out_dir``; returns (posts, events) written."""
    drafts = read_drafts(lines_dir)
    assign_authors(drafts, random.Random(SEED))
    assign_times(drafts, random.Random(SEED + 1))
    fill_rng = random.Random(SEED + 2)
    for draft in drafts:
        fill_text(draft, fill_rng)
    posts = assign_ids(drafts)
    events = build_events(posts, random.Random(SEED + 3))
    write_jsonl(out_dir / "posts.jsonl", (post_record(p) for p in posts))
    write_jsonl(out_dir / "events.jsonl", events)
    brands = json.dumps(brand_records(posts), ensure_ascii=False, indent=2)
    (out_dir / "brands.json").write_text(brands + "\n", encoding="utf-8")
    return len(posts), len(events)


def main() -> None:
    posts, events = write_stream(HERE)
    print(f"{posts} posts, {events} events -> {HERE}")


if __name__ == "__main__":
    main()
