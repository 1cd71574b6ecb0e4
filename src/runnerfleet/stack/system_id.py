"""The runner system_id convention: one per instance, derived from the EC2 instance id.

Instances cloned from one image share ``/etc/machine-id`` and so would share the runner's
machine-derived ``s_`` system_id. The bootstrap writes ``.runner_system_id`` itself instead:
``r_`` followed by the last 12 hex digits of the instance id. GitLab lists a runner's managers
by system_id, so ``runners list`` and ``runners prune`` can match a manager to its instance.
"""

from __future__ import annotations

import re

SYSTEM_ID_RE = re.compile(r"^[sr]_[0-9a-zA-Z]{12}$")
_INSTANCE_ID_RE = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_SUFFIX_LEN = 12


def system_id_for_instance(instance_id: str) -> str:
    """The system_id the bootstrap writes on ``instance_id`` (same rule as the shell)."""
    match = _INSTANCE_ID_RE.match(instance_id)
    if match is None:
        raise ValueError(f"not an EC2 instance id: {instance_id!r}")
    return "r_" + match.group(1)[-_SUFFIX_LEN:].rjust(_SUFFIX_LEN, "0")


def matches_instance(system_id: str, instance_id: str) -> bool:
    """True when ``system_id`` is the one our bootstrap gives ``instance_id``."""
    try:
        return system_id == system_id_for_instance(instance_id)
    except ValueError:
        return False
