"""Run the GitLab stand-in as a process of its own (the sandbox keeps it running).

    python -m runnerfleet.sandbox.standin --port 0 --ready-file /tmp/gitlab.url

Loopback only. It accepts the sandbox access token (``glpat-runnerfleet-sandbox``), creates
projects and groups on first use unless ``--strict``, fails the jobs of runners that went
silent (``--lost-after-s``), writes its URL to ``--ready-file`` once
listening, and exits on SIGTERM/SIGINT or after ``--lifetime-s``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from runnerfleet.sandbox.standin.model import StandInState
from runnerfleet.sandbox.standin.seed import seed_sandbox
from runnerfleet.sandbox.standin.server import GitLabStandIn


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runnerfleet.sandbox.standin")
    parser.add_argument("--host", default="127.0.0.1", help="a 127.0.0.0/8 address")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help="write the URL here once listening")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="unknown projects and groups are 404 (default: created on use)",
    )
    parser.add_argument(
        "--lost-after-s",
        type=float,
        default=30.0,
        help="a running job whose runner sent no update or trace this long fails as a runner "
        "system failure (default 30; 0 never)",
    )
    parser.add_argument(
        "--lifetime-s",
        type=float,
        default=24 * 3600.0,
        help="stop by itself after this long (default one day)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    lost_after = args.lost_after_s if args.lost_after_s > 0 else None
    state = StandInState(auto_targets=not args.strict, lost_after_s=lost_after)
    seed_sandbox(state)
    server = GitLabStandIn(state, host=args.host, port=args.port).start()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.ready_file:
        args.ready_file.write_text(server.url + "\n", encoding="utf-8")
    print(server.url, flush=True)
    stop.wait(args.lifetime_s)
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
