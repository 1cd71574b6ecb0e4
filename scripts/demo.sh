#!/usr/bin/env bash
# The whole deploy workflow on the embedded AWS emulator (no AWS account, nothing billed):
# start the sandbox, preview a change set, deploy, update the instance type, status,
# destroy, stop. The emulator is stopped on every exit path, failures included.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rf="${RUNNERFLEET:-$here/.venv/bin/runnerfleet}"
examples="$here/examples"
work="$(mktemp -d)"
# A demo home of its own: a sandbox the user already runs is left alone.
export RUNNERFLEET_HOME="$work/home"

cleanup() {
    status=$?
    "$rf" sandbox stop || true
    rm -rf "$work"
    if [ "$status" -ne 0 ]; then
        echo "demo failed (exit $status); the sandbox was stopped" >&2
    fi
    exit "$status"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1/7 start the sandbox (moto on 127.0.0.1, seeded with a VPC, subnets and a bucket)"
"$rf" sandbox start

step "2/7 preview: the change set deploy would execute (deleted afterwards)"
"$rf" diff "$examples/dev.yaml" --sandbox

step "3/7 deploy examples/dev.yaml"
"$rf" deploy "$examples/dev.yaml" --sandbox --yes

step "4/7 deploy again: no changes, nothing is updated"
"$rf" deploy "$examples/dev.yaml" --sandbox --yes

step "5/7 update: the instance type changes to t3.large (a temporary copy of dev.yaml)"
larger="$work/dev-t3-large.yaml"
{
    echo "extends: $examples/dev.yaml"
    echo "instances:"
    echo "  types: [t3.large]"
} >"$larger"
"$rf" deploy "$larger" --sandbox --yes

step "6/7 status"
"$rf" status "$larger" --sandbox

step "7/7 destroy (--yes stands in for typing the stack name), then stop"
"$rf" destroy "$larger" --sandbox --yes

printf '\n\033[1mdemo complete: everything above ran against the EMULATED sandbox\033[0m\n'
