"""What ``runnerfleet deploy`` calls: registrations reconciled around the stack update.

    sync = prepare_registrations(spec, factory, sandbox=sandbox)     # plan; changes nothing
    before_stack_update(sync)        # create/update runners, tokens into SSM
    ... deploy the stack; the launch template carries registrations_digest(...) ...
    ... rolling refresh: new instances register, old ones drain through the lifecycle hook ...
    after_instances_refreshed(sync)  # delete removed/replaced runners and their tokens

Creating first means a new instance always finds its token; deleting last means an old instance
never loses a runner while it still runs jobs for it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runnerfleet.errors import SandboxError
from runnerfleet.gitlab.apply import (
    ApplyReport,
    Registrar,
    apply_registration_plan,
    gather_existing,
)
from runnerfleet.gitlab.client import connect, resolve_access_token
from runnerfleet.gitlab.registry import RegistrationPlan, desired_from_spec, plan_registrations
from runnerfleet.gitlab.tokens import StoredToken, TokenStore


@dataclass
class RegistrationSync:
    registrar: Registrar
    plan: RegistrationPlan


def registrar_for(
    spec: Any,
    factory: Any,
    *,
    sandbox: bool = False,
    gitlab_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda message: None,
    progress: Callable[[str], None] = lambda message: None,
) -> Registrar:
    """A ``Registrar`` for ``spec``: GitLab URL and access token, SSM store under the stack path.

    In the sandbox the URL is the stand-in's (from the sandbox state) and the access token is
    the stand-in's fixed sandbox token.
    """
    env = dict(os.environ if environ is None else environ)
    ssm = factory.client("ssm")
    if sandbox:  # the stand-in's fixed token: a real one never goes to the sandbox
        from runnerfleet.sandbox.standin.seed import SANDBOX_ACCESS_TOKEN

        url, token = gitlab_url or _sandbox_gitlab_url(), SANDBOX_ACCESS_TOKEN
    else:
        url = gitlab_url or spec.runner.gitlab_url
        token = resolve_access_token(spec.runner.gitlab_token, ssm, env)
    return Registrar(
        gl=connect(url, token),
        url=url,
        store=TokenStore(ssm, spec.ssm_path, spec.kms_key_id),
        stack=spec.stack,
        environment=spec.name,
        environ=env,
        warn=warn,
        progress=progress,
    )


def _sandbox_gitlab_url() -> str:
    from runnerfleet.sandbox.state import require_running

    url = require_running().gitlab_url
    if not url:
        raise SandboxError(
            "the sandbox runs no GitLab stand-in",
            hint="restart it with `runnerfleet sandbox start`, or pass "
            "--gitlab-url http://127.0.0.1:PORT",
        )
    return url


def prepare_registrations(spec: Any, factory: Any, **kwargs: Any) -> RegistrationSync:
    """Plan only: reads SSM and GitLab, changes nothing. ``kwargs`` go to ``registrar_for``."""
    registrar = registrar_for(spec, factory, **kwargs)
    plan = plan_registrations(desired_from_spec(spec), gather_existing(registrar))
    return RegistrationSync(registrar, plan)


def before_stack_update(sync: RegistrationSync) -> ApplyReport:
    return apply_registration_plan(sync.plan, sync.registrar, phase="pre")


def after_instances_refreshed(sync: RegistrationSync) -> ApplyReport:
    return apply_registration_plan(sync.plan, sync.registrar, phase="post")


def registrations_digest(stored: list[StoredToken]) -> str:
    """A non-secret digest of which runner each registration uses (names and runner ids).

    Put it in the launch template (a tag or a user-data comment): when a runner is created,
    replaced or removed, the template changes and the rolling refresh replaces the instances.
    """
    lines = sorted(f"{s.name}={s.runner_id or s.fingerprint}" for s in stored)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
