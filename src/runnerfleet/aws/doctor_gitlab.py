"""Doctor checks about GitLab: reachable, the access token valid, runner tokens valid.

Token values are read, used and dropped: never printed, never part of a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from runnerfleet.aws.doctor import Check, DoctorContext, Finding, fail, ok, warn
from runnerfleet.errors import RunnerfleetError


def gitlab_reachable(ctx: DoctorContext) -> Iterator[Finding]:
    from runnerfleet.gitlab.client import connect, gitlab_call, resolve_access_token

    url = ctx.spec.runner.gitlab_url
    try:
        token = resolve_access_token(ctx.spec.runner.gitlab_token, ctx.clients.client("ssm"))
    except RunnerfleetError as exc:
        yield warn(
            "gitlab",
            f"no GitLab access token to check with: {exc.message}",
            exc.hint or "set runner.gitlab_token",
        )
        return
    gl = connect(url, token)
    try:
        with gitlab_call("read the GitLab version", url):
            version = gl.http_get("/version")
    except RunnerfleetError as exc:
        yield fail("gitlab", exc.message, exc.hint or "")
        return
    number = version.get("version", "?") if isinstance(version, dict) else "?"
    yield ok("gitlab", f"GitLab {number} at {url} accepts the access token")


def runner_tokens(ctx: DoctorContext) -> Iterator[Finding]:
    from runnerfleet.gitlab.client import connect, gitlab_call, read_secure_parameter

    url, ssm = ctx.spec.runner.gitlab_url, ctx.clients.client("ssm")
    for reg in ctx.spec.registrations:
        check_id, parameter = f"runner {reg.name}", ctx.spec.token_parameter(reg)
        try:
            token = read_secure_parameter(ssm, parameter, what=f"runner {reg.name}")
            with gitlab_call(f"verify runner {reg.name}", url):
                connect(url, "").http_post("/runners/verify", post_data={"token": token})
        except RunnerfleetError as exc:
            yield fail(
                check_id,
                exc.message,
                "create it with `runnerfleet runners create ENVFILE`"
                if "SSM" in exc.message
                else (exc.hint or ""),
            )
            continue
        yield ok(check_id, f"token in {parameter} is valid")


CHECKS: list[tuple[str, Check]] = [("gitlab", gitlab_reachable), ("runner-tokens", runner_tokens)]
