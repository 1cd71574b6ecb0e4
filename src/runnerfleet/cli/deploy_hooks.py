"""Where the deploy commands meet the other parts of runnerfleet: synthesis, GitLab, draining.

Kept apart from the commands so that each link is one small function, and tests can swap a
link (e.g. a small template instead of the full synthesis) without patching the commands.
"""

from __future__ import annotations

from runnerfleet.aws.artifacts import Artefact
from runnerfleet.aws.clients import ClientFactory
from runnerfleet.aws.deploy import RenderedStack, Reporter, Synthesizer
from runnerfleet.aws.destroy import DestroySteps
from runnerfleet.spec.models import FleetSpec


def synthesizer() -> Synthesizer:
    """FleetSpec + Lambda artefact -> template and parameters, from runnerfleet.stack."""
    from runnerfleet.stack import params
    from runnerfleet.stack.template import synthesize

    def synth(spec: FleetSpec, artefact: Artefact) -> RenderedStack:
        return RenderedStack(
            template=synthesize(spec), parameters=params.parameter_values(spec, artefact.key)
        )

    return synth


def reconcile_registrations(
    spec: FleetSpec, factory: ClientFactory, sandbox: bool, reporter: Reporter
) -> None:
    reporter.step(spec.name, "gitlab registrations: skipped (not available in this build)")


def destroy_steps(spec: FleetSpec, factory: ClientFactory, sandbox: bool) -> DestroySteps:
    return DestroySteps()
