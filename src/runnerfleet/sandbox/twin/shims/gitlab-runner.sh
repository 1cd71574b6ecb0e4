#!/bin/bash
# gitlab-runner in the sandbox twin: runnerfleet's runner agent, which implements the subset of
# gitlab-runner's CLI and behaviour the instance scripts use (docs/sandbox.md). The bootstrap
# downloads this file and checks its SHA-256 exactly as it does the real release.
export RUNNERFLEET_AGENT_ARGV0="$0"
exec "${RUNNERFLEET_TWIN_PYTHON:?only a sandbox twin instance runs this shim}" \
  -m runnerfleet.sandbox.agent_cli "$@"
