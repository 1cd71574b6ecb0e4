"""Authorisation rules as Client VPN evaluates them: longest prefix first, then the group.

For a destination, only the rules with the most specific matching CIDR count. A user in group A
allowed 10.0.0.0/16 is still refused 10.0.1.0/24 if the only /24 rule names group B.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runnerfleet.access.spec import AccessSpec


@dataclass(frozen=True)
class RuleView:
    """One rule with its group already resolved to an ID (or None when unresolved)."""

    cidr: str
    group_id: str | None
    authorize_all: bool
    label: str


def rule_views(spec: AccessSpec, resolved: Mapping[str, str]) -> list[RuleView]:
    """The spec's rules with display names swapped for IDs from ``resolved`` (name -> ID)."""
    views = []
    for rule in spec.rules:
        gid = rule.group_id or (resolved.get(rule.group) if rule.group else None)
        label = "everyone" if rule.authorize_all else (rule.group or rule.group_id or "?")
        views.append(RuleView(rule.cidr, gid, rule.authorize_all, label))
    return views


def evaluate_rules(groups: Sequence[str], rules: Sequence[RuleView]) -> list[tuple[str, bool, str]]:
    """For each rule destination: (cidr, allowed, why), by longest-prefix semantics."""
    member = set(groups)
    results = []
    destinations = sorted(
        {ipaddress.ip_network(r.cidr) for r in rules}, key=lambda n: (n.prefixlen, n)
    )
    for dest in destinations:
        candidates = [r for r in rules if ipaddress.ip_network(r.cidr) == dest]
        winner = next(
            (r for r in candidates if r.authorize_all or (r.group_id and r.group_id in member)),
            None,
        )
        if winner is not None:
            results.append((str(dest), True, f"rule for {winner.label}"))
            continue
        unresolved = [r.label for r in candidates if not r.authorize_all and not r.group_id]
        need = ", ".join(r.label for r in candidates)
        why = f"needs group {need}"
        if unresolved:
            why += " (name not resolved: pass --resolve or set group_id)"
        results.append((str(dest), False, why))
    return results
