"""Trigger words and context rules of the legal-risk cues, German and English.

Triggers are lower-case regex fragments matched at a word start against the lower-cased post; groups
marked ``case_sensitive`` (acronyms such as ``FTC``, ``söp``) are matched against the post as written.
Each trigger group carries a prior score: what a bare mention is worth in a complaint post. Context
rules then cap (negation, reported speech, news, opinion, questions) or raise (first-person intent,
escalation verbs) that score; the first rule that matches decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from classify.cue_context import obfuscation_tolerant

TAGS = ("legal_threat", "regulator", "defamation_risk", "insult")


@dataclass(frozen=True)
class TriggerGroup:
    """Trigger patterns of one language sharing one prior score."""

    lang: str
    prior: float
    patterns: tuple[str, ...]
    case_sensitive: bool = False


@dataclass(frozen=True)
class ContextRule:
    """If ``pattern`` is found in ``scope`` around a trigger, cap or raise the trigger's score to ``value``.

    Scopes: ``left`` (the few words before the trigger, same clause), ``left2`` (the two words before),
    ``right`` (the characters after it), ``sentence``, ``post``, ``quoted`` (trigger inside quotation
    marks; no pattern), ``question`` (its sentence ends in "?"; the pattern, if any, must also be in it).
    """

    name: str
    effect: str  # "cap" or "raise"
    value: float
    scope: str
    pattern: str = ""


def _insults(prior: float, lang: str, entries: tuple[tuple[str, str], ...]) -> TriggerGroup:
    """Insult triggers: the stem tolerates masking (``Id!oten``), the inflection suffix is a plain regex."""
    return TriggerGroup(lang, prior, tuple(obfuscation_tolerant(stem) + suffix for stem, suffix in entries))


NEGATION_DE = r"\b(?:kein\w*|nicht|ohne|nie|niemals|niemand\w*)\b"
NEGATION_EN = r"\b(?:no|not|never|without|don'?t|won'?t|doesn'?t|didn'?t|isn'?t|nobody|no\sone)\b"
NEGATION = NEGATION_DE + "|" + NEGATION_EN
DISMISSAL = r"^\W{0,5}(?:\S+\s+){0,3}?(?:nein,?\sdanke|no,?\sthanks|whatever|egal)\b"
REPORTED_SPEECH = r"\b(?:sagt\w*|meinte\w*|told\sme|said|says)\b"
NEWS = (
    r"\b(?:laut|berichte\w*|bericht|zeitung|radio|tagesschau|interview\w*|deutschlandfunk|news|reuters"
    r"|according\sto|article|headline|ver[öo]ffentlich\w*|publish\w*|werbung|\bad\b|advert\w*|plakat)\b"
)
QUESTION_ABOUT_RULING = r"\b(?:urteil\w*|entschied\w*|entschieden|rule[ds]?|ruling|verdict|decided)\b"

TRIGGERS: dict[str, tuple[TriggerGroup, ...]] = {
    "legal_threat": (
        TriggerGroup(
            "de",
            0.8,
            (
                r"(?:rechts)?anw[äa]lt(?:in|innen|e|en|s|es)?",
                r"anwaltlich\w*",
                r"verbraucheranw[äa]lt\w*",
                r"verklag\w*",
                r"einklag\w*",
                r"klage(?:n|st|t)?",
                r"(?:sammel|unterlassungs|muster\w*)klage\w*",
                r"abmahnung\w*",
                r"abmahn\w*",
                r"mahnbescheid\w*",
                r"unterlassungserkl[äa]rung\w*",
                r"vor\sgericht",
                r"(?:zum|ans|beim|vors|über\sdas)\sgericht",
                r"gerichtlich\w*",
                r"(?:amts|land)gericht\w*",
                r"gerichtsverfahren\w*",
                r"strafanzeige\w*",
                r"anzeige\s(?:erstatten|erstatte|erstattet|folgt|ist\sraus|gestellt|stellen)",
                r"zeige\s(?:euch|dich|sie|ihn)\s(?:\w+\s)?an",
                r"rechtliche\w*\sschritte",
                r"juristische\w*\sschritte",
                r"rechtsweg\w*",
                r"rechtsschutz\w*",
            ),
        ),
        TriggerGroup("de", 0.55, (r"schadens?ersatz\w*",)),
        TriggerGroup(
            "de",
            0.4,
            (
                r"r[üu]cktritt\w*",
                r"zur[üu]cktreten",
                r"(?:trete|treten)\s(?:\w+\s){0,4}zur[üu]ck",
                r"widerruf\w*",
            ),
        ),
        TriggerGroup(
            "en",
            0.8,
            (
                r"lawyer(?:s|ed)?",
                r"attorneys?(?!\sgeneral)",
                r"solicitors?",
                r"legal\scounsel",
                r"lawsuits?",
                r"su(?:e|es|ing)",
                r"file\w*\ssuit",
                r"class\saction\w*",
                r"small\sclaims?",
                r"(?:to|in|into)\scourt",
                r"court\s(?:case|date|order|hearing)",
                r"judge",
                r"cease\s(?:and|&)\sdesist",
                r"legal\saction",
                r"legal\ssteps",
                r"letter\sbefore\saction",
                r"demand\sletter",
                r"press(?:ing)?\scharges",
                r"police\sreport",
                r"report\w*\s(?:\w+\s){0,3}to\sthe\spolice",
            ),
        ),
        TriggerGroup("en", 0.6, (r"sued", r"formal\snotice")),
    ),
    "regulator": (
        TriggerGroup(
            "de",
            0.6,
            (
                r"verbraucherzentrale\w*",
                r"bundesnetzagentur\w*",
                r"bnetza",
                r"bafin",
                r"schlichtungsstelle\w*",
                r"schlichtung\w*",
                r"ombuds\w*",
                r"datenschutzbeh[öo]rde\w*",
                r"(?:landes|bundes)?datenschutzbeauftragte\w*",
                r"bfdi",
                r"aufsichtsbeh[öo]rde\w*",
                r"eisenbahn-?bundesamt\w*",
                r"luftfahrt-?bundesamt\w*",
                r"bundeskartellamt\w*",
                r"bundesamt\sf[üu]r\sjustiz",
                r"landesmedienanstalt\w*",
                r"gewerbeaufsicht\w*",
                r"dsgvo-?beschwerde\w*",
            ),
        ),
        TriggerGroup("de", 0.6, (r"s[öo]p", r"LBA", r"EBA"), case_sensitive=True),
        TriggerGroup("de", 0.45, (r"verbraucherschutz\w*",)),
        TriggerGroup(
            "en",
            0.6,
            (
                r"better\sbusiness\sbureau",
                r"federal\s(?:trade|communications)\scommission",
                r"consumer\sfinancial\sprotection\sbureau",
                r"attorney\sgeneral\w*",
                r"(?:state\s)?ag'?s\soffice",
                r"ombudsman\w*",
                r"ofcom",
                r"ofgem",
                r"ofwat",
                r"information\scommissioner\w*",
                r"trading\sstandards",
                r"department\sof\stransportation",
                r"public\sutilit(?:y|ies)\scommission",
                r"citizens\sadvice",
                r"insurance\scommissioner",
            ),
        ),
        TriggerGroup(
            "en",
            0.6,
            (
                r"FTC",
                r"CFPB",
                r"FCC",
                r"BBB",
                r"ICO",
                r"FCA",
                r"OCC",
                r"CMA",
                r"CAA",
                r"ORR",
                r"PUC",
                r"DOT\scomplaint",
            ),
            case_sensitive=True,
        ),
        TriggerGroup("en", 0.45, (r"which\?", r"consumer\sprotection")),
    ),
    "defamation_risk": (
        TriggerGroup(
            "de",
            0.8,
            (
                r"betrug",
                r"betr[üu]ger\w*",
                r"betr[üu]gerisch\w*",
                r"betr[üu]g(?:t|en|st)",
                r"betrogen",
                r"dieb(?:e|en|in|stahl\w*|isch\w*)?",
                r"klau(?:t|en|st)",
                r"geklaut",
                r"stiehlt",
                r"stehl(?:en|t)",
                r"gestohlen",
                r"kriminell\w*",
                r"verbrecher\w*",
                r"urkundenf[äa]lschung\w*",
                r"gef[äa]lscht\w*",
                r"f[äa]lsch(?:en|t)",
                r"unterschlag\w*",
                r"unterschlagen",
                r"veruntreu\w*",
                r"l[üu]gner\w*",
                r"l[üu]g(?:t|en|st)",
                r"gelogen",
                r"angelogen",
                r"belogen",
                r"bel[üu]g\w*",
                r"mafia\w*",
                r"geldw[äa]sche\w*",
            ),
        ),
        TriggerGroup("de", 0.7, (r"abzocker\w*", r"erpress\w*")),
        TriggerGroup("de", 0.6, (r"abzock(?:en|t)", r"abgezockt", r"abzocke")),
        TriggerGroup(
            "en",
            0.8,
            (
                r"scam(?:s|mers?|ming|med)?",
                r"fraud(?:s|ulent\w*|sters?)?",
                r"thie(?:f|ves|very)",
                r"theft",
                r"st(?:eal|eals|ealing|ole|olen)",
                r"liars?",
                r"lying",
                r"lied\s(?:to|about)",
                r"(?:that's|it's|what)\sa\s(?:blatant\s)?lie",
                r"criminals?",
                r"crook(?:s|ed)?",
                r"con\s?artists?",
                r"forg(?:ed|ery|ing)",
                r"embezzl\w*",
                r"launder\w*",
                r"extort\w*",
                r"should\sbe\sin\s(?:jail|prison)",
                r"robbed",
                r"robbing",
            ),
        ),
        TriggerGroup("en", 0.65, (r"ripp(?:ed|ing)\s(?:\w+\s)?off", r"robbery")),
        TriggerGroup("en", 0.4, (r"rip-?offs?",)),
    ),
    "insult": (
        _insults(
            0.8,
            "de",
            (
                ("idiot", r"(?:en|in|innen)?"),
                ("vollidiot", r"(?:en|in)?"),
                ("vollpfosten", ""),
                ("depp", r"(?:en)?"),
                ("trottel", r"n?"),
                ("schwachk", r"[oö]pf(?:e|en)?"),
                ("schwachmat", r"(?:en)?"),
                ("arschl", r"(?:och|öcher|oecher)"),
                ("wichser", ""),
                ("hurens", r"[oö]hne?"),
                ("spast", r"(?:i|is|en)?"),
                ("missgeburt", r"(?:en)?"),
                ("hohlbirne", r"n?"),
                ("vollhonk", r"s?"),
                ("kackbratze", r"n?"),
                ("drecks", r"(?:ack|äcke|pack)"),
                ("hirnamputiert", r"\w*"),
                ("spacken", ""),
                ("penner", ""),
                ("fick dich", ""),
                ("fickt euch", ""),
                ("verpiss", r"t?\s(?:dich|euch)"),
                ("halt", r"(?:et)?\s(?:die|eure)\sfresse"),
                ("leck", r"t?\smich"),
                ("schwachsinnig", r"\w*"),
            ),
        ),
        _insults(
            0.65,
            "de",
            (
                ("versager", r"n?"),
                ("nichtsnutz", r"e?"),
                ("clown", r"(?:s|sverein|struppe)?"),
                ("lappen", ""),
                ("ihr pfeifen", ""),
                ("ihr affen", ""),
                ("affenbande", ""),
                ("spinner", ""),
                ("ihr genies", ""),
                ("dummk", r"[oö]pfe?"),
                ("du opfer", ""),
                ("ihr opfer", ""),
                ("dumme", r"\s(?:leute|menschen|mitarbeiter\w*)"),
            ),
        ),
        _insults(
            0.8,
            "en",
            (
                ("idiot", r"s?"),
                ("moron", r"(?:s|ic)?"),
                ("imbecile", r"s?"),
                ("cretin", r"s?"),
                ("dumbass", r"(?:es)?"),
                ("dipshit", r"s?"),
                ("jackass", r"(?:es)?"),
                ("asshole", r"s?"),
                ("arsehole", r"s?"),
                ("bastard", r"s?"),
                ("bitch", r"(?:es)?"),
                ("dickhead", r"s?"),
                ("prick", r"s?"),
                ("twat", r"s?"),
                ("wanker", r"s?"),
                ("tosser", r"s?"),
                ("retard", r"(?:s|ed)?"),
                ("scumbag", r"s?"),
                ("piece", r"s?\sof\sshit"),
                ("fuck", r"\s(?:you|off|yoursel(?:f|ves))"),
                ("screw you", ""),
                ("halfwit", r"s?"),
                ("nitwit", r"s?"),
                ("knobhead", r"s?"),
            ),
        ),
        _insults(
            0.65,
            "en",
            (
                ("clown", r"s?"),
                ("muppet", r"s?"),
                ("numpt", r"(?:y|ies)"),
                ("loser", r"s?"),
                ("brain", r"-?dead"),
                ("you geniuses", ""),
                ("stupid", r"\s(?:people|staff|agents|employees)"),
            ),
        ),
    ),
}

# Intent: the poster speaks of themself, or sets a deadline / an "or else".
_INTENT = (
    r"\b(?:ich|wir|mein\w*|unser\w*|i|i'?m|i'?ll|i'?ve|we|we'?ll|my|our|me|hab|habe)\b"
    r"|\b(?:sonst|andernfalls|danach|otherwise|or\selse|frist\w*|deadline|until)\b|\bor\s(?:i|we)\b"
    r"|\bwithin\s[0-9]{1,3}\sdays\b|\bbis\s(?:zum|sp[äa]testens|morgen|freitag|montag|ende)\b"
    r"|\bby\s(?:friday|monday|tomorrow|the\s[0-9]{1,2})"
)
_OWN_COUNSEL = (
    r"\b(?:mein\w*|unser\w*|my|our)\s(?:\w+\s)?"
    r"(?:rechts)?(?:anw[äa]lt\w*|lawyer|attorney|solicitor|legal\steam)"
)
# A reluctant threat is still a threat: "I'd rather not involve lawyers, but you leave me no choice".
_NO_CHOICE = r"\b(?:no\s(?:other\s)?choice|keine\s(?:andere\s)?wahl)\b"
_ESCALATION = (
    r"\b(?:meld\w*|beschwer\w*|einschalt\w*|eingeschaltet|informier\w*|wende\w*|einreich\w*|eingereicht"
    r"|anrufen|angerufen|geht\s(?:an|zur|zum)|gehe?\s(?:damit\s)?(?:zu|zur|zum|an)|landet\sbei"
    r"|bekommt\svon\smir|schreib\w*|file[ds]?|filing|complain\w*|report(?:ed|ing)?\s(?:\S+\s){0,3}to"
    r"|reporting|contact\w*|escalat\w*|taking\sthis\sto|going\s(?:straight\s)?to|lodged|submitted|sent"
    r"|cc'?d|hear\sabout\sthis|gets\smy\sfile|case\snumber)\b"
)
_REGULATOR_NEWS = (
    NEWS + r"|\b(?:verh[äa]ngt|bu(?:ß|ss)geld|fined|fines|report\s(?:says|shows|finds)|guidance|price\scap"
    r"|survey|rating|announc\w*|warnt|warns|arbeitet\s(?:bei|f[üu]r)|works\s(?:at|for))\b"
)
_HYPOTHETICAL = r"\b(?:frag\w*\smich|wonder\w*|step\sin|eingreifen|m[üu]sste)\b"
_IMPERSONATION = (
    r"\b(?:im\snamen\svon|geben\ssich\s(?:\w+\s){0,3}aus|phishing\w*|fake-?(?:sms|mails?|anruf\w*|texts?"
    r"|accounts?|shops?)|fake\s(?:\S+\s){0,3}(?:texts?|e-?mails?|calls?)|impersonat\w*|pretend\w*\sto\sbe"
    r"|betrugsverdacht|fraud\s(?:attempt|alert)|flagged)\b"
)
_THIRD_PARTY_THEFT = (
    r"\b(?:vorsicht|achtung|heads\sup|warning|beware|wurde\w*\s(?:\w+\s){0,5}(?:gestohlen|geklaut)"
    r"|was\sstolen|got\sstolen|someone\sstole|jemand\s(?:\w+\s){0,4}(?:gestohlen|geklaut)|haust[üu]r|porch"
    r"|doorstep|documentary|doku\w*|tatort|movie|series|serie)\b"
)
_DISTANCING = (
    r"\b(?:ich\ssehe\sdas\snicht\sso|i\sdon'?t\sagree|hat\sjemand\s(?:\S+\s){0,6}geschrieben|in\sthe\sreplies"
    r"|someone\s(?:\S+\s){0,4}called\syou)\b"
)
_OPINION = (
    r"\b(?:ich\sfinde|finde\sich|meiner\smeinung|m\.\s?e\.|gef[üu]hlt|f[üu]hl\w*\s(?:sich|mich)"
    r"|k[oa]mm\w*\smir\s(?:\w+\s)?vor|grenzt\san|wirkt\swie|fast\sschon|quasi|irgendwie|ein\sbisschen"
    r"|i\sfeel|feels?\slike|seems?\slike|in\smy\sopinion|imo|imho|borderline|kind\sof|sort\sof|a\sbit\sof"
    r"|basically|almost|daylight\srobbery)\b"
)
_SELF = r"\b(?:ich|i'?m|i\sam|bin|such\san?|like\san?|am\san?)\b"
_INSULT_REPORTED = (
    r"\b(?:nannte|nennt|bezeichnet\w*|beschimpft\w*|called|calls|calling)\s(?:mich|me|uns|us)\b"
    r"|\b(?:mich|uns)\s(?:\S+\s){0,4}(?:als|einen?)\s"
)
_ADDRESSED = (
    r"\b(?:ihr|euch|euer\w*|eure\w*|du|dich|dein\w*|you|your|ya|u|what\sa|bunch\sof|was\sf[üu]r"
    r"|alle\smiteinander)\b|@\w"
)

RULES: dict[str, tuple[ContextRule, ...]] = {
    "legal_threat": (
        ContextRule("no_choice", "raise", 0.9, "sentence", _NO_CHOICE),
        ContextRule("negated", "cap", 0.1, "left", NEGATION),
        ContextRule("dismissed", "cap", 0.1, "right", DISMISSAL),
        ContextRule("own_counsel", "raise", 0.95, "sentence", _OWN_COUNSEL),
        ContextRule("quoted", "cap", 0.15, "quoted"),
        ContextRule(
            "reported",
            "cap",
            0.15,
            "sentence",
            NEWS
            + "|"
            + REPORTED_SPEECH
            + (
                r"|\b(?:sued\sby|wurde\s(?:\S+\s){0,6}verklagt|my\s(?:brother|sister|friend|neighbou?r|cousin|dad"
                r"|mom|mum)|mein(?:e|em|en)?\s(?:nachbar\w*|bruder|schwester|freund\w*|kolleg\w*|vater|mutter)"
                r"|die\sleute|andere\skunden|other\s(?:customers|people)|people|everyone)\b"
            ),
        ),
        ContextRule("question_about_ruling", "cap", 0.2, "question", QUESTION_ABOUT_RULING),
        ContextRule("question", "cap", 0.35, "question"),
        ContextRule("intent", "raise", 0.9, "sentence", _INTENT),
    ),
    "regulator": (
        ContextRule("negated", "cap", 0.1, "left", NEGATION),
        ContextRule("dismissed", "cap", 0.1, "right", DISMISSAL),
        ContextRule("news", "cap", 0.15, "sentence", _REGULATOR_NEWS),
        ContextRule("hypothetical", "cap", 0.3, "sentence", _HYPOTHETICAL),
        ContextRule("escalation", "raise", 0.9, "sentence", _ESCALATION),
        ContextRule("reported", "cap", 0.2, "sentence", REPORTED_SPEECH),
        ContextRule("quoted", "cap", 0.3, "quoted"),
    ),
    "defamation_risk": (
        ContextRule("impersonation", "cap", 0.1, "post", _IMPERSONATION),
        ContextRule("negated", "cap", 0.1, "left", NEGATION),
        ContextRule("third_party", "cap", 0.15, "sentence", _THIRD_PARTY_THEFT),
        ContextRule("distanced", "cap", 0.15, "post", _DISTANCING),
        ContextRule("quoted", "cap", 0.15, "quoted"),
        ContextRule("opinion", "cap", 0.25, "sentence", _OPINION),
        ContextRule("question", "cap", 0.3, "question"),
    ),
    "insult": (
        ContextRule("negated", "cap", 0.1, "left", NEGATION),
        ContextRule("self_directed", "cap", 0.1, "left2", _SELF),
        ContextRule("reported", "cap", 0.15, "sentence", _INSULT_REPORTED),
        ContextRule("quoted", "cap", 0.15, "quoted"),
        ContextRule("literal", "cap", 0.2, "sentence", r"\b(?:circus|zirkus|zoo)\b"),
        ContextRule("addressed", "raise", 0.9, "sentence", _ADDRESSED),
    ),
}
