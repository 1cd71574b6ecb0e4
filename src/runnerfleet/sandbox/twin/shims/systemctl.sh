#!/bin/bash
# systemctl on a sandbox twin instance: runnerfleet.sandbox.twin.shims.systemctl (docs/sandbox.md).
exec "${RUNNERFLEET_TWIN_PYTHON:?only a sandbox twin instance runs this shim}" \
  -m runnerfleet.sandbox.twin.shims.systemctl "$@"
