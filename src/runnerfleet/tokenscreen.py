"""Recognising secrets in text, so that none is stored in a file, echoed in an error or logged.

One screen for every place that must not let a token through: environment files, the
properties import, the deploy preview, error messages and log redaction.

The GitLab prefixes are GitLab's own table ("Token prefixes" in GitLab's token overview,
doc/security/tokens/index.md: https://docs.gitlab.com/ee/security/tokens/#token-prefixes),
plus ``GR1348941``, the prefix of legacy runner registration tokens (deprecated since 15.6).
Only the personal access token prefix can be changed by an administrator; a custom one is
not recognised here. Credentials in a URL's userinfo (``https://user:secret@host``) are
flagged whatever they look like.
"""

from __future__ import annotations

import re

GITLAB_TOKEN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("glpat-", "GitLab personal, project or group access token"),
    ("gloas-", "GitLab OAuth application secret"),
    ("gldt-", "GitLab deploy token"),
    ("glrt-", "GitLab runner authentication token"),
    ("glcbt-", "GitLab CI/CD job token"),
    ("glptt-", "GitLab pipeline trigger token"),
    ("glft-", "GitLab feed token"),
    ("glimt-", "GitLab incoming mail token"),
    ("glagent-", "GitLab agent for Kubernetes token"),
    ("glsoat-", "GitLab SCIM token"),
    ("glffct-", "GitLab feature flags client token"),
    ("_gitlab_session=", "GitLab session cookie"),
    ("GR1348941", "GitLab runner registration token (legacy)"),
)

_PREFIXES = "|".join(re.escape(prefix) for prefix, _ in GITLAB_TOKEN_PREFIXES)
# Token bodies are URL-safe base64-ish; routable tokens also carry dots. Eight characters keep
# prose such as "a glrt- token" out of the net.
TOKEN_PATTERN = re.compile(rf"(?<![A-Za-z0-9])({_PREFIXES})[A-Za-z0-9_.\-]{{8,}}")
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s/:@]*):([^\s/@]+)@")
REDACTED = "[redacted]"


def token_kind(text: str) -> str | None:
    """What the first token-shaped part of ``text`` is, or None when there is none."""
    match = TOKEN_PATTERN.search(text)
    if match is None:
        return None
    return next(kind for prefix, kind in GITLAB_TOKEN_PREFIXES if prefix == match.group(1))


def secret_kind(text: str) -> str | None:
    """A GitLab token, or credentials in a URL: what ``text`` holds that must stay out."""
    kind = token_kind(text)
    if kind is not None:
        return kind
    if URL_CREDENTIALS.search(text):
        return "password in a URL"
    return None


def redact(text: str) -> str:
    """``text`` with every token and every URL password replaced by ``[redacted]``."""
    text = TOKEN_PATTERN.sub(REDACTED, text)
    return URL_CREDENTIALS.sub(rf"\1:{REDACTED}@", text)
