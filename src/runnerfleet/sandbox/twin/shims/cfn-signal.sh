#!/bin/bash
# cfn-signal on a sandbox twin instance: sends what the real helper sends, CloudFormation's
# SignalResource call, through the twin's endpoint (the rolling update waits for it there).
set -euo pipefail
exit_code=0 stack="" resource="" region="" unique_id="" success=""
while (($#)); do
  case $1 in
    -e | --exit-code) exit_code=$2; shift 2 ;;
    -s | --success) success=$2; shift 2 ;;
    --stack) stack=$2; shift 2 ;;
    -r | --resource) resource=$2; shift 2 ;;
    --region) region=$2; shift 2 ;;
    -i | --id) unique_id=$2; shift 2 ;;
    --reason | --role | -d | --data | --url | --https-proxy) shift 2 ;;
    *) shift ;;
  esac
done
if [[ -z $stack || -z $resource ]]; then
  echo "cfn-signal: --stack and --resource are required (wait-condition URLs are not emulated)" >&2
  exit 1
fi
status=SUCCESS
if [[ $exit_code != 0 || $success == false ]]; then status=FAILURE; fi
exec aws cloudformation signal-resource --stack-name "$stack" --logical-resource-id "$resource" \
  --unique-id "${unique_id:-${RUNNERFLEET_TWIN_INSTANCE:?}}" --status "$status" \
  ${region:+--region "$region"}
