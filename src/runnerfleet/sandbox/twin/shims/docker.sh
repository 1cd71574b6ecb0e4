#!/bin/bash
# docker on a sandbox twin instance: no daemon; CI jobs are simulated by the runner agent.
case ${1:-} in
  version | --version) echo "Docker version 25.0.0 (sandbox twin shim)" ;;
  info) echo "Server: sandbox twin shim (no containers run here)" ;;
  *) echo "docker ${1:-}: the sandbox twin runs no containers" >&2 ;;
esac
