"""The line scan agrees with prometheus_client's parser on generated exposition texts.

The oracle parses the whole page with prometheus_client and sums the samples itself; the page
mixes our three families (written the way gitlab-runner writes them, or in any other form the
text format allows, or broken) with the Go and process families and counters that are not ours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from runnerfleet.gitlab import metrics
from runnerfleet.gitlab.metrics import MetricsParseError, parse_metrics

Outcome = tuple[int, int, tuple[int, ...]] | str
OURS = re.compile(r"(?<![\w:])gitlab_runner_(jobs|concurrent|limit)(?![\w:])")

# label values with the characters that need escaping, and some that look like syntax
VALUE_TEXT = st.text(alphabet=st.sampled_from('ab-_.,={} "\\\nrunning'), max_size=12)
LABEL_NAMES = st.sampled_from(["runner", "runner_name", "system_id", "stage", "executor_stage"])
NUMBER = st.one_of(
    st.integers(0, 40).map(float), st.floats(0, 40, allow_nan=False, allow_infinity=False)
)


def oracle(text: str) -> Outcome:
    try:
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    except (ValueError, TypeError, IndexError, KeyError):
        return "error"
    running = [
        s.value
        for s in samples
        if s.name == "gitlab_runner_jobs" and s.labels.get("state") == "running"
    ]
    concurrent = [s.value for s in samples if s.name == "gitlab_runner_concurrent"]
    limits = [s.value for s in samples if s.name == "gitlab_runner_limit"]
    used = [*running, *concurrent, *limits]
    if not concurrent or not all(math.isfinite(v) for v in used):
        return "error"
    return int(sum(running)), int(concurrent[-1]), tuple(int(v) for v in limits)


def scanned(text: str) -> Outcome:
    try:
        metrics = parse_metrics(text)
    except MetricsParseError:
        return "error"
    return metrics.running_jobs, metrics.concurrent, metrics.limits


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(draw: st.DrawFn) -> str:
    """A value the way Go's strconv writes it, or another form Python's float() accepts."""
    value = draw(NUMBER)
    form = draw(st.sampled_from(["repr", "int", "exp", "plus"]))
    if form == "int" and value.is_integer():
        return str(int(value))
    if form == "exp":
        return f"{value:e}"
    return f"+{value!r}" if form == "plus" else repr(value)


@st.composite
def sample_line(draw: st.DrawFn, name: str, labels: dict[str, str]) -> str:
    pairs = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
    body = "{" + pairs + "}" if pairs or draw(st.booleans()) else ""
    line = f"{name}{body} {number(draw)}"
    if draw(st.integers(0, 4)) == 0:
        line += f" {draw(st.integers(0, 2**41))}"  # a timestamp in milliseconds
    return line


@st.composite
def family(draw: st.DrawFn, name: str, labelled: bool) -> list[str]:
    lines = []
    if draw(st.booleans()):
        lines.append(f"# HELP {name} {escape(draw(VALUE_TEXT))}")
    if draw(st.integers(0, 3)):
        lines.append(f"# TYPE {name} gauge")
    for _ in range(draw(st.integers(1 if name.endswith("concurrent") else 0, 4))):
        labels = {}
        if labelled:
            labels = draw(st.dictionaries(LABEL_NAMES, VALUE_TEXT, max_size=3))
            if name.endswith("jobs"):
                labels["state"] = draw(st.sampled_from(["running", "idle", "pending"]))
        lines.append(draw(sample_line(name, labels)))
    return lines


def others(mention: str = "fleet-0", comment: str = "# a comment") -> list[list[str]]:
    """Families that are not ours (one of them may name one of ours in a value or comment)."""
    return [
        [
            "# HELP gitlab_runner_jobs_total Total number of handled jobs",
            "# TYPE gitlab_runner_jobs_total counter",
            f'gitlab_runner_jobs_total{{runner="a",runner_name="{mention}"}} 17',
            "gitlab_runner_limits 3",
            'my_gitlab_runner_jobs{state="running"} 5',
        ],
        [
            "# TYPE go_gc_duration_seconds summary",
            'go_gc_duration_seconds{quantile="0.5"} 4e-05',
            "go_gc_duration_seconds_sum 0.01",
            "go_gc_duration_seconds_count 3",
        ],
        [comment, "process_open_fds 9", ""],
    ]


@st.composite
def page_lines(draw: st.DrawFn, other: list[list[str]] | None = None) -> list[str]:
    """A page as gitlab-runner writes it: our three families among some that are not ours."""
    blocks = [
        draw(family("gitlab_runner_concurrent", labelled=False)),
        draw(family("gitlab_runner_jobs", labelled=True)),
        draw(family("gitlab_runner_limit", labelled=True)),
        *(others() if other is None else other),
    ]
    return [line for block in draw(st.permutations(blocks)) for line in block]


def page(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


# Forms the text format allows that gitlab-runner does not write, and damage of every kind:
# (what, applies to comment lines, change)
Variant = tuple[str, bool, Callable[[str], str]]
SAMPLE_VARIANTS: list[Variant] = [
    ("indent", False, lambda line: "  " + line),
    ("carriage return", False, lambda line: line + "\r"),
    ("tab", False, lambda line: re.sub(r" (?=\S+$)", "\t", line)),
    ("spaces around =", False, lambda line: line.replace('="', ' = "')),
    ("trailing comma", False, lambda line: line.replace("}", ",}")),
    ("repeated label", False, lambda line: line.replace("{", '{state="x",state="y",')),
    ("reserved label", False, lambda line: line.replace("{", '{__x="1",')),
    ("name as label", False, lambda line: re.sub(r"^(\w+)\{?", r'{__name__="\1",', line)),
    ("lost quote", False, lambda line: line.replace('"', "", 1)),
    ("unknown escape", False, lambda line: line.replace('="', '="\\t')),
    ("two timestamps", False, lambda line: line + " 1 2"),
    ("junk", False, lambda line: line + " junk"),
    ("cut", False, lambda line: line[: max(len(line) - 3, name_end(line))]),
    *[
        (f"value {odd}", False, lambda line, odd=odd: re.sub(r" \S+$", f" {odd}", line))
        for odd in ("NaN", "+Inf", "-Inf", "nan", "inf", "1_0", "0x1", ".5", "5.", "1e400")
    ],
]
COMMENT_VARIANTS: list[Variant] = [
    *[
        (
            f"type {kind}",
            True,
            lambda line, kind=kind: re.sub(TYPE_OR_HELP, rf"# TYPE \2 {kind}", line),
        )
        for kind in ("counter", "summary", "histogram", "untyped", "gauge", "x", "")
    ],
    ("hash only", True, lambda line: line.replace("# ", "#", 1)),
    ("quoted name", True, lambda line: re.sub(r"(gitlab_runner_\w+)", r'"\1"', line, count=1)),
    ("indent", True, lambda line: "  " + line),
]
TYPE_OR_HELP = r"^# (HELP|TYPE) (\w+).*$"


def name_end(line: str) -> int:
    named = OURS.search(line)
    return 0 if named is None else named.end()


@settings(max_examples=150, deadline=None)
@given(page_lines())
def test_pages_as_gitlab_runner_writes_them_are_scanned_alike(lines: list[str]) -> None:
    text = page(lines)
    assert metrics._scan(text) is not None, "a page in gitlab-runner's own form fell back"
    assert scanned(text) == oracle(text)


@settings(max_examples=400, deadline=None)
@given(page_lines(), st.sampled_from(SAMPLE_VARIANTS + COMMENT_VARIANTS), st.data())
def test_any_other_form_of_a_line_of_ours_means_what_prometheus_client_says(
    lines: list[str], variant: Variant, data: st.DataObject
) -> None:
    _what, comment, change = variant
    ours = [
        n
        for n, line in enumerate(lines)
        if OURS.search(line) and line.startswith("#") == comment and change(line) != line
    ]
    assume(ours)
    at = data.draw(st.sampled_from(ours))
    lines[at] = change(lines[at])
    assert scanned(page(lines)) == oracle(page(lines))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_our_names_elsewhere_change_nothing(data: st.DataObject) -> None:
    other = others(mention="gitlab_runner_jobs", comment="# see gitlab_runner_limit")
    lines = data.draw(page_lines(other))
    assert scanned(page(lines)) == oracle(page(lines))


def test_pages_written_by_gitlab_runner_take_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(_text: str) -> object:
        raise AssertionError("fell back to the full parser")

    monkeypatch.setattr(metrics, "_parsed_by_prometheus_client", refuse)
    text = (
        "# HELP gitlab_runner_jobs The current number of running builds.\n"
        "# TYPE gitlab_runner_jobs gauge\n"
        'gitlab_runner_jobs{runner="x\\"y",stage="s",state="running"} 2 1700000000000\n'
        "gitlab_runner_concurrent 4\n"
        'gitlab_runner_limit{runner="x"} 0\n'
        'gitlab_runner_jobs_total{runner="x"} 3\n'
    )
    assert parse_metrics(text) == metrics.RunnerMetrics(2, 4, (0,))


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf"])
def test_non_finite_values_are_errors_not_numbers(value: str) -> None:
    page = f'gitlab_runner_concurrent 4\ngitlab_runner_jobs{{state="running"}} {value}\n'
    with pytest.raises(MetricsParseError, match="finite"):
        parse_metrics(page)
