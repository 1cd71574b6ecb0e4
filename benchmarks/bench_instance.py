"""On-instance scripts: render cost, user-data size, and wall time on the pretend instance.

Run: .venv/bin/python -m benchmarks.bench_instance
Medians of repeated runs in one process. The pretend instance is the test harness (stub
commands, IMDSv2 stand-in on 127.0.0.1), so the run times measure our shell, not dnf or GitLab.
"""

from __future__ import annotations

import contextlib
import functools
import statistics
import tempfile
import time
from pathlib import Path

from tests.instance.harness import (
    FakeImds,
    machine_arch,
    make_instance,
    runner_download,
    serve_imds,
)

from benchmarks.timing import median_ms
from runnerfleet.stack.bootstrap import (
    USER_DATA_LIMIT,
    BootstrapSettings,
    DockerSettings,
    Registration,
    render_bootstrap,
    render_user_data,
)
from runnerfleet.stack.drain_document import (
    DrainSettings,
    render_drain_document,
    substitute_parameters,
)


def settings(url: str, digest: str, registrations: int) -> BootstrapSettings:
    return BootstrapSettings(
        stack_name="rf-bench",
        gitlab_url="https://gitlab.example.com",
        runner_version="17.11.1",
        runner_sha256=digest,
        runner_arch=machine_arch(),
        download_url=url,
        docker=DockerSettings(image="registry.gitlab.com/acme/job:2026.11"),
        registrations=tuple(
            Registration(name=f"ci-{i}", token_parameter=f"/runnerfleet/rf-bench/runners/ci-{i}")
            for i in range(registrations)
        ),
        asg_name="rf-bench-asg",
        bootstrap_log_group="/runnerfleet/rf-bench/bootstrap",
        runner_log_group="/runnerfleet/rf-bench/runner",
        launch_hook_name="runnerfleet-launch",
        signal_cloudformation=True,
        spot_watch=True,
        warm_pool=True,
        metric_namespace="Runnerfleet",
    )


def boot_times(imds: FakeImds, registrations: int, runs: int) -> tuple[float, float]:
    """Median ms of a first boot and of the re-run that follows it, each on a fresh root."""
    first: list[float] = []
    again: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            url, digest = runner_download(Path(tmp))
            inst = make_instance(Path(tmp) / "i", imds)
            for i in range(registrations):
                inst.put_ssm(f"/runnerfleet/rf-bench/runners/ci-{i}", f"glrt-bench{i:04d}secret")
            user_data = render_user_data(settings(url, digest, registrations))
            for bucket in (first, again):
                start = time.perf_counter()
                result = inst.run(user_data)
                bucket.append((time.perf_counter() - start) * 1000)
                assert result.returncode == 0, result.stderr
    return statistics.median(first), statistics.median(again)


def main() -> None:
    drain = DrainSettings(asg_name="rf-bench-asg", terminate_hook_name="runnerfleet-terminate")
    print("| measure | value |\n|---|---|")
    for count in (1, 10):
        s = settings("https://example.invalid/{version}/{arch}", "a" * 64, count)
        raw, packed = len(render_bootstrap(s).encode()), len(render_user_data(s).encode())
        print(f"| bootstrap bytes, {count} registration(s) | {raw} |")
        print(f"| user data bytes ({packed / USER_DATA_LIMIT:.0%} of 16 KB) | {packed} |")
        render_ms = median_ms(functools.partial(render_user_data, s), 50)
        print(f"| render_user_data median | {render_ms:.2f} ms |")
    doc_ms = median_ms(lambda: substitute_parameters(render_drain_document(drain), {}), 50)
    print(f"| render + fill drain document median | {doc_ms:.2f} ms |")
    with contextlib.contextmanager(serve_imds)() as imds:  # serve_imds is a fixture generator
        for count in (1, 10):
            first, again = boot_times(imds, count, 5)
            print(f"| first boot on the pretend instance, {count} reg. | {first:.0f} ms |")
            print(f"| re-run (idempotent), {count} reg. | {again:.0f} ms |")


if __name__ == "__main__":
    main()
