# --- boot timing (runnerfleet bootlib.sh): image kind, step durations, launch to InService ---
# Needs from the script: ENVIRONMENT, METRIC_NAMESPACE, BOOT_METRIC, STEP_METRIC,
# IMAGE_MANIFEST_PATH, ROOT, REGION, and lib.sh (log, step, IMDS_URL, IMDS_TOKEN).
IMAGE_KIND=cold
BOOT_STEPS=()
STEP_STARTED_US=""

now_us() {  # microseconds since the epoch, whatever the locale's decimal mark
  printf '%s' "${EPOCHREALTIME//[!0-9]/}"
}

# detect_image: IMAGE_KIND=baked when the image carries runnerfleet's manifest.
detect_image() {
  local manifest="$ROOT$IMAGE_MANIFEST_PATH" line
  [[ -f $manifest ]] || return 0
  while IFS= read -r line; do
    case $line in
      IMAGE_KIND=baked) IMAGE_KIND=baked ;;
      IMAGE_NAME=* | IMAGE_BUILT=* | RUNNER_VERSION=*) log "image: ${line}" ;;
    esac
  done <"$manifest"
}

# begin NAME: end the running step's timer, then start NAME's.
begin() {
  end_step
  STEP_STARTED_US=$(now_us)
  step "$1"
}

end_step() {
  [[ -n $STEP_STARTED_US ]] || return 0
  local now
  now=$(now_us)
  BOOT_STEPS+=("$STEP $(((now - STEP_STARTED_US) / 1000))")
  STEP_STARTED_US=""
}

# launch_ms: when EC2 put this instance in pending (launch, or start from a stopped warm pool),
# from the instance identity document; the kernel's boot time when that is unknown or older.
launch_ms() {
  local doc pending=0 uptime booted_ms
  doc=$(curl -fsS --connect-timeout 2 --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" \
    "$IMDS_URL/latest/dynamic/instance-identity/document" 2>/dev/null) || doc=""
  pending=$(sed -n 's/.*"pendingTime"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$doc")
  pending=$(date -u -d "${pending:-@0}" +%s 2>/dev/null) || pending=0
  uptime=$(cut -d' ' -f1 "${RUNNERFLEET_UPTIME_FILE:-/proc/uptime}")
  booted_ms=$(($(now_us) / 1000 - ${uptime%.*} * 1000))
  # A pending time from before this boot's kernel is the first launch of a restarted instance.
  if ((pending * 1000 >= booted_ms - 300000)); then
    printf '%s' "$((pending * 1000))"
  else
    printf '%s' "$booted_ms"
  fi
}

seconds_of() {  # seconds_of MS: "12.345"
  printf '%d.%03d' "$(($1 / 1000))" "$(($1 % 1000))"
}

_metric() {  # _metric NAME MS EXTRA_DIMENSIONS
  local dims="{\"Name\":\"Environment\",\"Value\":\"$ENVIRONMENT\"},{\"Name\":\"ImageKind\",\"Value\":\"$IMAGE_KIND\"},{\"Name\":\"WarmStart\",\"Value\":\"$WARM_START\"}$3"
  printf '{"MetricName":"%s","Unit":"Seconds","Value":%s,"Dimensions":[%s]}' "$1" "$(seconds_of "$2")" "$dims"
}

# publish_boot_metrics [TOTAL_MS]: every recorded step, and the total when given; never fails.
publish_boot_metrics() {
  [[ -n $METRIC_NAMESPACE ]] || return 0
  local entry data="" sep=""
  for entry in "${BOOT_STEPS[@]}"; do
    data+="$sep$(_metric "$STEP_METRIC" "${entry#* }" ",{\"Name\":\"Step\",\"Value\":\"${entry% *}\"}")"
    sep=","
  done
  if [[ -n ${1:-} ]]; then
    data+="$sep$(_metric "$BOOT_METRIC" "$1" "")"
    log "boot: $(seconds_of "$1") s from launch to in service ($IMAGE_KIND image, warm start $WARM_START)"
  fi
  [[ -n $data ]] || return 0
  aws cloudwatch put-metric-data --region "$REGION" --namespace "$METRIC_NAMESPACE" \
    --metric-data "[$data]" || log "WARNING: boot metrics not published (cloudwatch:PutMetricData)"
}
# --- end of boot timing ---
