"""Bad input through the real entry point: each row is a command line and the files it reads,
with the exit code, a fragment of the message and a bound on the time it may take.

Every row must end in a clear message: no traceback, no secret echoed, no hang.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runnerfleet.cli.main import main
from tests.conftest import EXAMPLES

SHA = "a" * 64
ENV = f"""\
name: t1
aws: {{account_id: "123456789012", region: us-east-1}}
network: {{vpc_id: vpc-0a1b2c3d, subnet_ids: [subnet-0a1b2c3d]}}
runner:
  gitlab_url: https://gitlab.example.com
  sha256: "{SHA}"
  docker: {{image: alpine:3.20}}
registrations:
  - {{name: app, type: project, project_id: 7, tags: [docker]}}
artifacts: {{bucket: my-bucket}}
"""
TOKEN = "glrt-t1_xW3kq9Zr1abcdEFGHij"
PAT = "glpat-Zq8xW3kq9Zr1abcdEFGH"
BOMB = "\n".join(
    ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    + [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
)
TRACE = "arrival_ts,duration_s\n0,10\n5,20\n"
ACCESS = EXAMPLES / "access"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]  # "{d}" is the temp folder holding ``files``
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2
    fragment: str = ""
    max_s: float = 2.0
    secret: str | None = None  # must not appear in the output


def env_with(extra: str = "", **replace: str) -> str:
    text = ENV
    for old, new in replace.items():
        text = text.replace(old, new)
    return text + extra


CASES = [
    Case("alias-bomb", ["validate", "{d}/env.yaml"], {"env.yaml": BOMB},
         fragment="expands the file past 50,000 values; fix: "),
    Case("deep-yaml", ["validate", "{d}/env.yaml"], {"env.yaml": "a: " + "[" * 800 + "]" * 800},
         fragment="nested more than 32 levels deep; fix: "),
    Case("duplicate-key", ["validate", "{d}/env.yaml"],
         {"env.yaml": env_with("capacity: {max: 4}\ncapacity: {max: 999}\n")},
         fragment="env.yaml:12: capacity: duplicate key (first at line 11)"),
    Case("bad-cron", ["validate", "{d}/env.yaml"],
         {"env.yaml": env_with('scaling:\n  schedule:\n    - {cron: "99 99 * * xyz", min: 1}\n')},
         fragment="'99 99 * * xyz' is not a valid cron expression"),
    Case("bad-cron-synth", ["synth", "{d}/env.yaml"],
         {"env.yaml": env_with('scaling:\n  schedule:\n    - {cron: "99 99 * * xyz", min: 1}\n')},
         fragment="is not a valid cron expression"),
    Case("bad-time-zone", ["validate", "{d}/env.yaml"],
         {"env.yaml": env_with('scaling:\n  schedule:\n    - {cron: "* * * * *", timezone: X}\n')},
         fragment="unknown time zone 'X'"),
    Case("region-typo", ["validate", "{d}/env.yaml"],
         {"env.yaml": env_with(**{"us-east-1": "us-est-1"})},
         fragment="unknown AWS region 'us-est-1'; fix: did you mean 'us-east-1'"),
    Case("max-true", ["validate", "{d}/env.yaml"], {"env.yaml": env_with("capacity: {max: yes}\n")},
         fragment="capacity.max: true is a yes/no value, not a number"),
    Case("token-in-ssm-parameter", ["validate", "{d}/env.yaml"],
         {"env.yaml": env_with(**{"[docker]}": f"[docker], token: {{ssm_parameter: {TOKEN}}}}}"})},
         fragment="looks like a GitLab runner authentication token (not shown)", secret=TOKEN),
    Case("not-utf8-env", ["validate", "{d}/env.yaml"], {"env.yaml": b"name: t1\nx: \xff\n"},
         fragment="env.yaml:2: (file): not UTF-8 text"),
    Case("missing-parent", ["validate", "{d}/env.yaml"], {"env.yaml": "extends: nope.yaml\n" + ENV},
         fragment="env.yaml:1: extends: the parent file"),
    Case("extends-cycle", ["validate", "{d}/a.yaml"],
         {"a.yaml": "extends: b.yaml\n", "b.yaml": "extends: a.yaml\n"},
         fragment="extends forms a cycle"),
    Case("yaml-syntax", ["validate", "{d}/env.yaml"], {"env.yaml": "name: t1\naws: {x: [\n"},
         fragment="env.yaml:3: (file): not valid YAML at column 1"),
    Case("device-not-file", ["validate", "/dev/zero"], fragment="not a regular file"),
    Case("directory", ["validate", "{d}"], fragment="not a regular file"),
    Case("policy-bomb", ["validate", "{d}/env.yaml", "--policy", "{d}/policy.yaml"],
         {"env.yaml": ENV, "policy.yaml": BOMB}, fragment="policy.yaml:"),
    Case("policy-bool", ["validate", "{d}/env.yaml", "--policy", "{d}/policy.yaml"],
         {"env.yaml": ENV, "policy.yaml": "defaults: {max_fleet_size: true}\n"},
         fragment="policy.yaml:1: defaults.max_fleet_size: true is a yes/no value"),
    Case("properties-empty", ["import-properties", "{d}/p.properties", "--account-id",
         "123456789012", "--region", "us-east-1"], {"p.properties": ""},
         fragment="no KEY=value line in the file"),
    Case("properties-target", ["import-properties", "{d}/p.properties", "--account-id", "12",
         "--region", "mars-1"], {"p.properties": "VpcID=vpc-1\n"},
         fragment="--account-id: '12' is not an AWS account id"),
    Case("properties-not-utf8", ["import-properties", "{d}/p.properties", "--account-id",
         "123456789012", "--region", "us-east-1"], {"p.properties": b"VpcID=vpc-\xe9\n"},
         fragment="p.properties:1: (file): not UTF-8 text"),
    Case("properties-url-token", ["import-properties", "{d}/p.properties", "--account-id",
         "123456789012", "--region", "us-east-1", "-o", "{d}/out.yaml"],
         {"p.properties": f"GitlabServerURL=https://oauth2:{PAT}@gitlab.example.com\n"},
         fragment="GitlabServerURL: the value holds a GitLab personal", secret=PAT),
    Case("synth-unwritable", ["synth", "{d}/env.yaml", "-o", "{d}/missing/dir/t.json"],
         {"env.yaml": ENV}, fragment="cannot write"),
    Case("simulate-price", ["simulate", "--trace", "{d}/t.csv", "--price", "-1"],
         {"t.csv": TRACE}, fragment="Invalid value for '--price'"),
    Case("simulate-spot-inf", ["simulate", "--trace", "{d}/t.csv", "--spot-rate", "inf"],
         {"t.csv": TRACE}, fragment="inf is not a finite number"),
    Case("simulate-boot-nan", ["simulate", "--trace", "{d}/t.csv", "--boot", "nan"],
         {"t.csv": TRACE}, fragment="nan is not a finite number"),
    Case("simulate-plots-file", ["simulate", "--trace", "{d}/t.csv", "--plots", "{d}/t.csv"],
         {"t.csv": TRACE}, fragment="is a file; give a folder"),
    Case("csv-huge-field", ["simulate", "--trace", "{d}/t.csv"],
         {"t.csv": 'arrival_ts,duration_s\n0,"' + "x" * 140_000 + '"\n'},
         fragment="field larger than field limit"),
    Case("trace-synth-unwritable", ["trace", "synth", "{d}/missing/t.csv", "--days", "0.01"],
         fragment="cannot write"),
    Case("tune-target", ["tune", "--trace", "{d}/t.csv", "--target-p95", "-5"], {"t.csv": TRACE},
         fragment="Invalid value for '--target-p95'"),
    Case("group-noequals", ["access", "check-assertion", str(ACCESS / "sample-response.b64"),
         "--metadata", str(ACCESS / "vpn-client-metadata.xml"), "--group", "noequals"],
         fragment="--group 'noequals' is not NAME=ID"),
    Case("group-bad-id", ["access", "deploy", str(ACCESS / "access.yaml"), "--output",
         "{d}/a.json", "--group", "Runner Operators=12"],
         fragment="'12' is not an Identity Store group ID"),
    Case("access-duplicate", ["access", "deploy", "{d}/access.yaml", "--output", "{d}/a.json"],
         {"access.yaml": "access:\n  name: a\n  name: b\n"},
         fragment="access.yaml:3: access.name: duplicate key (first at line 2)"),
    Case("access-template-unwritable", ["access", "deploy", str(ACCESS / "access.yaml"),
         "--output", "{d}/missing/a.json", "--group",
         "Runner Operators=a1b2c3d4e5-11112222-3333-4444-5555-666677778888"],
         fragment="cannot write"),
    Case("access-cert-unwritable", ["access", "cert", "--domain", "vpn.example.internal",
         "--out", "{d}/f.txt/pki"], {"f.txt": "a file, not a directory\n"},
         fragment="cannot create directory"),
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _commands_registered() -> None:
    """The first call imports every command module; the bounds are on the refusal itself."""
    main(["--version"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_fast_and_clearly(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, content in case.files.items():
        target = tmp_path / name
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = [arg.replace("{d}", str(tmp_path)) for arg in case.argv]
    started = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - started
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == case.code, output
    assert case.fragment in " ".join(output.split()), output
    assert "Traceback" not in output
    assert elapsed < case.max_s
    if case.secret:
        assert case.secret not in output
        assert not list(tmp_path.glob("out.yaml"))
