"""The documented shims of a twin instance: only where this machine cannot do the real thing.

Each instance gets a ``bin`` directory first on its PATH with ``systemctl`` (services as
recorded background processes), ``dnf``/``yum`` (no downloads; packages provide shims),
``useradd`` (users under the instance root), ``cfn-signal`` (CloudFormation's SignalResource
through the twin) and ``aws`` (the real AWS CLI v2 with the twin's endpoint). ``gitlab-runner``
is not put there: the bootstrap downloads it, from the URL the sandbox's spec rewrite gives
(``runner_release``), and checks its SHA-256 as it checks the real release.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

SHIMS_DIR = Path(__file__).resolve().parent
RELEASE = SHIMS_DIR / "gitlab-runner.sh"
INSTANCE_COMMANDS = {
    "systemctl": "systemctl.sh",
    "dnf": "dnf.sh",
    "yum": "dnf.sh",
    "useradd": "useradd.sh",
    "cfn-signal": "cfn-signal.sh",
    "aws": "aws.sh",
}


def install(bin_dir: Path) -> None:
    """Put the instance's shims into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for command, source in INSTANCE_COMMANDS.items():
        target = bin_dir / command
        shutil.copyfile(SHIMS_DIR / source, target)
        target.chmod(0o755)


def runner_release() -> tuple[str, str]:
    """(download URL, SHA-256) of the sandbox's gitlab-runner: the agent's launcher script."""
    digest = hashlib.sha256(RELEASE.read_bytes()).hexdigest()
    return RELEASE.as_uri(), digest
