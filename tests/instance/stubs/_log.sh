# Sourced by every stub: append "name<TAB>arg<TAB>arg..." to $STUB_LOG; helpers for the stubs.
stub_log() {
  local line
  line=$(basename "$1")
  shift
  local arg
  for arg in "$@"; do line+=$'\t'"$arg"; done
  printf '%s\n' "$line" >>"$STUB_LOG"
}
# A token handed over in the environment shows as the variable's name, never its value.
stub_log "$0" "$@" ${CI_SERVER_TOKEN:+env:CI_SERVER_TOKEN} ${REGISTRATION_TOKEN:+env:REGISTRATION_TOKEN}

arg_after() {  # arg_after FLAG ARGS...: the value after FLAG (or of FLAG=value)
  local flag=$1
  shift
  while (($#)); do
    [[ $1 == "$flag" ]] && { printf '%s' "$2"; return 0; }
    [[ $1 == "$flag="* ]] && { printf '%s' "${1#*=}"; return 0; }
    shift
  done
}
