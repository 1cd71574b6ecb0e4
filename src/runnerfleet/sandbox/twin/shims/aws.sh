#!/bin/bash
# The real AWS CLI v2, pointed at the sandbox twin's endpoint. Versions before 2.13 (Debian 12
# ships 2.9) ignore AWS_ENDPOINT_URL, so the endpoint is passed as --endpoint-url.
exec "${RUNNERFLEET_AWS_CLI:?only a sandbox twin instance runs this shim}" \
  --endpoint-url "${AWS_ENDPOINT_URL:?the twin sets AWS_ENDPOINT_URL}" "$@"
