"""Command-line flags of the runner agent, parsed the way gitlab-runner's CLI library does.

``--flag value`` and ``--flag=value``; boolean flags stand alone or take ``=true``/``=false``;
some flags repeat (``--docker-volumes``). A flag a command does not know is an error that
names it, as gitlab-runner's "flag provided but not defined".
"""

from __future__ import annotations

from dataclasses import dataclass, field

_BOOLEAN = {
    "register": {"non-interactive", "docker-privileged", "run-untagged", "locked", "paused"},
    "verify": {"delete"},
    "unregister": {"all-runners"},
    "install": set(),
    "run": set(),
}
_VALUED = {
    "register": {
        "config", "url", "name", "executor", "token", "registration-token", "docker-image",
        "docker-volumes", "docker-pull-policy", "docker-allowed-images", "docker-memory",
        "docker-cpus", "limit", "request-concurrency", "tag-list", "access-level",
        "maximum-timeout", "maintenance-note", "description",
    },
    "verify": {"config", "name"},
    "unregister": {"config", "name", "url", "token"},
    "install": {"config", "user", "working-directory", "service"},
    "run": {"config", "working-directory", "service", "user", "listen-address"},
}  # fmt: skip


class ArgError(ValueError):
    """A flag the command does not take, or one without its value."""


@dataclass
class Flags:
    values: dict[str, list[str]] = field(default_factory=dict)

    def given(self, name: str) -> bool:
        return name in self.values

    def one(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[-1] if found else None

    def many(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def boolean(self, name: str, default: bool) -> bool:
        value = self.one(name)
        return default if value is None else value.lower() in ("true", "1", "t", "yes")

    def integer(self, name: str, default: int) -> int:
        value = self.one(name)
        try:
            return default if value is None else int(value)
        except ValueError:
            raise ArgError(f"invalid value {value!r} for flag --{name}: an integer") from None


def parse_flags(command: str, args: list[str]) -> Flags:
    booleans, valued = _BOOLEAN[command], _VALUED[command]
    flags = Flags()
    queue = list(args)
    while queue:
        arg = queue.pop(0)
        name, has_value, value = arg.lstrip("-").partition("=")
        if not arg.startswith("-") or name not in booleans | valued:
            raise ArgError(f"flag provided but not defined: {arg} (gitlab-runner {command})")
        if name in booleans:
            value = value if has_value else "true"
        elif not has_value:
            if not queue:
                raise ArgError(f"flag needs an argument: --{name}")
            value = queue.pop(0)
        flags.values.setdefault(name, []).append(value)
    return flags
