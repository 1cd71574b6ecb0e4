# --- shared helpers (runnerfleet lib.sh) ---
STEP=start
FAIL_REASON=""
MAIN_PID=$$

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$LOG_TAG" "$*" >&2
}

# fail REASON: record why, then return non-zero so that the ERR trap reports REASON.
fail() {
  FAIL_REASON=$1
  return 1
}

step() {
  STEP=$1
  log "step: $STEP"
}

# Inside a command substitution the ERR trap only passes the status up: the main shell reports.
in_subshell() {
  [[ $BASHPID != "$MAIN_PID" ]]
}

# --- IMDSv2: every read carries a session token (PUT /latest/api/token first) ---
IMDS_URL="${RUNNERFLEET_IMDS_URL:-http://169.254.169.254}"
IMDS_TOKEN=""

imds_token() {
  IMDS_TOKEN=$(curl -fsS --connect-timeout 2 --max-time 5 --retry 5 --retry-connrefused \
    -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$IMDS_URL/latest/api/token")
}

# imds PATH: print a metadata value; non-zero on any error.
imds() {
  [[ -n $IMDS_TOKEN ]] || imds_token
  curl -fsS --connect-timeout 2 --max-time 5 --retry 5 --retry-connrefused \
    -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_URL/latest/meta-data/$1"
}

# imds_optional PATH: print the value, or nothing when IMDS has no such item (404).
imds_optional() {
  local body code attempt
  body=$(mktemp)
  for attempt in 1 2; do
    [[ -n $IMDS_TOKEN ]] || imds_token
    code=$(curl -sS --connect-timeout 2 --max-time 5 -o "$body" -w '%{http_code}' \
      -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_URL/latest/meta-data/$1") || code=000
    if [[ $code == 401 && $attempt == 1 ]]; then
      IMDS_TOKEN=""  # expired session token: take a new one once
      continue
    fi
    break
  done
  case $code in
    200) cat "$body" ;;
    404) ;;
    *) rm -f "$body"; return 1 ;;
  esac
  rm -f "$body"
}
# --- end of shared helpers ---
