#!/bin/bash
# amazon-cloudwatch-agent-ctl on a sandbox twin instance: the agent is not emulated; the log
# files it would ship stay under the instance root ($RUNNERFLEET_ROOT/var/log).
echo "amazon-cloudwatch-agent (sandbox twin): configuration accepted, logs stay on the instance" >&2
