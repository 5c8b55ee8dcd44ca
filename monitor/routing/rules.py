"""Routing rules: which queue, priority, SLA, destination and template a flagged post gets.

Config rules (``[[routing.rules]]``) are tried first, in order; the first whose conditions all
hold wins. Unless ``use_default_rules = false``, the built-in rules below follow:

* ``privacy``: the post exposes personal data → queue ``privacy``, priority 1, a 15-minute SLA and a
  public reply asking not to share data (it never quotes the data);
* ``legal_review``: legal threat or defamation risk → queue ``legal_review``; replies need approval;
* ``regulator``: a complaint naming a regulator → ``support`` with priority 2;
* ``support``: every other complaint.

A built-in rule hands off to the destination named like its queue (``privacy``, ``legal_review``,
``support``) when the config declares one, so a team opts in by naming a destination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config import Config, ConfigError
from monitor.routing.templates import TEMPLATES
from monitor.settings import RoutingRuleSettings

#: Legal-risk tags a rule may ask for with ``tags = [...]``.
RISK_TAGS = ("legal_threat", "regulator", "defamation_risk", "insult")
#: Tags that must never lead to a public reply without a person's approval.
APPROVAL_ONLY_TAGS = frozenset({"legal_threat", "defamation_risk"})
CONDITIONS = ("brand", "platform", "lang", "topic", "tags", "pii", "complaint", "min_score")


@dataclass(frozen=True)
class Facts:
    """What a rule can look at: one mention and its current classification."""

    brand: str
    platform: str
    lang: str
    topic: str | None
    complaint: bool
    complaint_score: float
    tags: frozenset[str]  # the risk tags that are set
    pii: bool


@dataclass(frozen=True)
class Rule:
    """One compiled rule: conditions (all must hold) and the decision it makes."""

    name: str
    queue: str
    priority: int
    sla_minutes: int
    destination: str
    template: str
    public_reply: bool
    auto_send: bool
    conditions: Mapping[str, Any] = field(default_factory=dict)

    def matches(self, facts: Facts) -> bool:
        """True when every condition of this rule holds for ``facts``."""
        return all(_holds(key, wanted, facts) for key, wanted in self.conditions.items())


def _holds(key: str, wanted: Any, facts: Facts) -> bool:
    if key == "tags":
        return bool(facts.tags & set(wanted))  # any of the listed tags
    if key == "min_score":
        return facts.complaint_score >= wanted
    if key in ("pii", "complaint"):
        return bool(getattr(facts, key)) is wanted
    value = getattr(facts, key)
    return value in wanted  # brand, platform, lang, topic: one of the listed values


def compile_rules(config: Config) -> list[Rule]:
    """The rules in evaluation order; :class:`ConfigError` names a bad condition or template."""
    routing = config.settings.routing
    where = str(config.path or "<config>")
    rules = [_compile(spec, f"{where}: routing.rules[{i}]") for i, spec in enumerate(routing.rules)]
    if routing.use_default_rules:
        destinations = {d.name for d in config.settings.destinations}
        rules.extend(default_rules(destinations))
    return rules


def default_rules(destinations: Iterable[str] = ()) -> list[Rule]:
    """The built-in rules; each hands off to the destination named like its queue, if any."""
    names = set(destinations)

    def to(queue: str) -> str:
        return queue if queue in names else ""

    return [
        Rule("privacy", "privacy", 1, 15, to("privacy"), "privacy_notice", True, False, {"pii": True}),
        Rule(
            "legal_review",
            "legal_review",
            2,
            60,
            to("legal_review"),
            "legal_holding",
            True,
            False,
            {"tags": ("legal_threat", "defamation_risk")},
        ),
        Rule(
            "regulator",
            "support",
            2,
            120,
            to("support"),
            "support_dm",
            True,
            False,
            {"complaint": True, "tags": ("regulator",)},
        ),
        Rule("support", "support", 3, 240, to("support"), "support_dm", True, False, {"complaint": True}),
    ]


def first_match(rules: Sequence[Rule], facts: Facts) -> Rule | None:
    """The first rule whose conditions hold, or None (the post is not routed)."""
    return next((rule for rule in rules if rule.matches(facts)), None)


def _compile(spec: RoutingRuleSettings, where: str) -> Rule:
    if spec.template not in TEMPLATES:
        known = ", ".join(sorted(TEMPLATES))
        raise ConfigError(f"{where}.template: unknown template {spec.template!r} (known: {known})")
    if spec.priority > 5:
        raise ConfigError(f"{where}.priority: {spec.priority} is above the maximum 5")
    conditions = {key: _condition(key, value, f"{where}.when.{key}") for key, value in spec.when.items()}
    return Rule(
        name=spec.name,
        queue=spec.queue,
        priority=spec.priority,
        sla_minutes=spec.sla_minutes,
        destination=spec.destination,
        template=spec.template,
        public_reply=spec.public_reply,
        auto_send=spec.auto_send,
        conditions=conditions,
    )


def _condition(key: str, value: Any, where: str) -> Any:
    if key not in CONDITIONS:
        raise ConfigError(f"{where}: unknown condition (known: {', '.join(CONDITIONS)})")
    if key in ("pii", "complaint"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if key == "min_score":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"{where}: expected a number from 0 to 1, got {value!r}")
        return float(value)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: expected a string or a non-empty list of strings, got {value!r}")
    if key == "tags":
        unknown = [v for v in values if v not in RISK_TAGS]
        if unknown:
            raise ConfigError(f"{where}: unknown tag(s) {', '.join(unknown)} (known: {', '.join(RISK_TAGS)})")
    if key == "lang":
        values = [v.lower() for v in values]
    return tuple(values)
