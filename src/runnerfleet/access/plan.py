"""From an access file to a checked template: the library side of ``runnerfleet access deploy``.

Order matters for the user: everything that can be checked locally (limits, both metadata
files) is checked and reported together before any AWS call; group names are resolved next;
only then is the template made, and compared with the deployed one for replacements.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runnerfleet.access.changes import Replacement, replacements
from runnerfleet.access.metadata import check_metadata, read_metadata_file
from runnerfleet.access.spec import GROUP_ID_RE, AccessSpec
from runnerfleet.access.template import CERT_PARAM, render, synthesize
from runnerfleet.errors import SpecError
from runnerfleet.findings import Finding

TEMPLATE_BODY_LIMIT = 51_200  # CreateChangeSet's TemplateBody limit


@dataclass(frozen=True)
class AccessPlan:
    spec: AccessSpec
    template: dict[str, Any]
    body: str
    group_ids: Mapping[str, str]
    warnings: tuple[str, ...] = ()
    replaced: tuple[Replacement, ...] = field(default=())

    @property
    def stack_name(self) -> str:
        return self.spec.name

    def parameters(self, certificate_arn: str) -> dict[str, str]:
        return {CERT_PARAM: certificate_arn}


def metadata_documents(spec: AccessSpec, now: dt.datetime) -> tuple[str, str, list[str]]:
    """Both metadata documents, after checking them; errors for both files raised together."""
    docs: list[str] = []
    errors: list[str] = []
    warnings: list[str] = []
    for key in ("vpn_metadata", "portal_metadata"):
        path = spec.resolve_path(getattr(spec.saml, key))
        try:
            md = read_metadata_file(path)
        except SpecError as exc:
            errors.append(f"saml.{key} ({path}): {exc.message} (fix: {exc.hint})")
            continue
        for problem in check_metadata(md, now):
            line = _line(key, str(path), problem)
            (errors if problem.is_error else warnings).append(line)
        docs.append(md.document)
    if errors:
        raise SpecError(
            f"{len(errors)} problem(s) in the SAML metadata files",
            problems=errors,
            hint="run `runnerfleet access check-metadata FILE` for details",
        )
    return docs[0], docs[1], warnings


def _line(key: str, path: str, problem: Finding) -> str:
    return f"saml.{key} ({path}): {problem.message} (fix: {problem.fix})"


def build_plan(
    spec: AccessSpec,
    now: dt.datetime,
    group_ids: Mapping[str, str],
    deployed: dict[str, Any] | None = None,
) -> AccessPlan:
    vpn, portal, warnings = metadata_documents(spec, now)
    template = synthesize(spec, vpn, portal, group_ids)
    size = len(json.dumps(template, sort_keys=True))  # as the engine sends it
    if size > TEMPLATE_BODY_LIMIT:
        raise SpecError(
            f"the access template is {size:,} bytes; CloudFormation takes at most 51,200 inline",
            hint="the metadata files are unusually large: download them again from Identity "
            "Center (one signing certificate each), without extra entities or signatures",
        )
    replaced = tuple(replacements(deployed, template)) if deployed else ()
    return AccessPlan(spec, template, render(template), group_ids, tuple(warnings), replaced)


def parse_instant(at: str | None) -> dt.datetime:
    """``--at``: an ISO 8601 instant, or now (read here, at the edge, never in the checks)."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SpecError(
            f"--at {at!r} is not an ISO 8601 time", hint="write it like 2026-06-01T12:00:00Z"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def group_pairs(items: list[str]) -> dict[str, str]:
    """``--group NAME=ID`` options as a mapping; every malformed one is reported at once."""
    pairs, problems = {}, []
    for item in items:
        name, sep, gid = (part.strip() for part in item.partition("="))
        if not sep or not name or not gid:
            problems.append(f"--group {item[:80]!r} is not NAME=ID")
        elif not GROUP_ID_RE.match(gid):
            problems.append(f"--group {name!r}: {gid[:60]!r} is not an Identity Store group ID")
        else:
            pairs[name] = gid
    if problems:
        raise SpecError(
            "invalid --group option(s)",
            problems=problems,
            hint="write --group 'Display Name=GROUP-ID', the ID as IAM Identity Center shows it "
            "(e.g. 90676b0c-0071-70fa-4d1b-0123456789ab)",
        )
    return pairs
