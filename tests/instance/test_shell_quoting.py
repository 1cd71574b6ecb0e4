"""Every value the renderers put into a script reaches bash unchanged: no injection, no mangling."""

from __future__ import annotations

import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from runnerfleet.stack.shell import array, assign

# Single-line text, as the settings checks allow (no NUL or other control characters).
TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)


def _bash(script: str) -> bytes:
    # Encode as the instance reads user data (UTF-8); a str argument would be encoded with the
    # locale's codec, which cannot carry non-ASCII text under a C/POSIX locale.
    argv = [b"bash", b"-c", script.encode("utf-8")]
    return subprocess.run(argv, capture_output=True, check=True).stdout


@settings(max_examples=30, deadline=None)
@given(value=TEXT)
def test_assign_round_trips(value: str) -> None:
    assert _bash(f"set -eu\n{assign('V', value)}\nprintf '%s' \"$V\"").decode("utf-8") == value


@settings(max_examples=20, deadline=None)
@given(values=st.lists(TEXT, max_size=5))
def test_array_round_trips(values: list[str]) -> None:
    script = f'set -eu\n{array("A", values)}\nfor x in "${{A[@]}}"; do printf "%s\\0" "$x"; done'
    assert _bash(script).decode("utf-8").split("\0")[:-1] == values
