# Sourced by every stub: append "name<TAB>arg<TAB>arg..." to $STUB_LOG.
stub_log() {
  local line
  line=$(basename "$1")
  shift
  local arg
  for arg in "$@"; do line+=$'\t'"$arg"; done
  printf '%s\n' "$line" >>"$STUB_LOG"
}
stub_log "$0" "$@"
