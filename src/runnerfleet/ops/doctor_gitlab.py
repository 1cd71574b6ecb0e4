"""Doctor checks about GitLab: reachable, the access token valid, runner tokens valid.

The GitLab asked is the target's (in the sandbox: its stand-in), never another.

Token values are read, used and dropped: never printed, never part of a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from runnerfleet.errors import RunnerfleetError
from runnerfleet.ops.doctor import Check, DoctorContext, Finding, fail, ok, warn


def gitlab_reachable(ctx: DoctorContext) -> Iterator[Finding]:
    from runnerfleet.gitlab.client import connect, gitlab_call

    url = ctx.gitlab.url
    if not ctx.gitlab.reachable:
        yield warn(
            "gitlab",
            f"GitLab not checked: {ctx.gitlab.unavailable}",
            "run doctor where the GitLab of the target is reachable",
        )
        return
    try:
        token = ctx.gitlab.token(ctx.clients.client("ssm"))
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

    url, ssm = ctx.gitlab.url, ctx.clients.client("ssm")
    if not ctx.gitlab.reachable:
        return  # the gitlab check says why
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
