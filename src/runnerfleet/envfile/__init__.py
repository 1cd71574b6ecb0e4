"""Environment files: frozen models, loading with inheritance, guardrails, seed import."""

from runnerfleet.envfile.loader import load_environment, load_environments, merge
from runnerfleet.envfile.models import FleetSpec, RegistrationSection, SecretRef

__all__ = [
    "FleetSpec",
    "RegistrationSection",
    "SecretRef",
    "load_environment",
    "load_environments",
    "merge",
]
