# Sourced by the scenario stubs: the virtual time since the drain began, the observable steps,
# and the scripted results of calls that can fail.
source "$STUB_DIR/_log.sh"
T=$(($(cat "$STUB_DIR/clock") - STUB_T0))

# scenario_step NAME OK: record "T NAME" (with "!" when the call failed).
scenario_step() {
  local mark=""
  [[ $2 == ok ]] || mark="!"
  printf '%s %s%s\n' "$T" "$1" "$mark" >>"$STUB_DIR/steps"
}

# next_result NAME LIST: the result of this call of NAME (ok | fail) from the space-separated
# LIST, one per call in order; ok once the list is used up.
next_result() {
  local counter="$STUB_DIR/count-$1" n=0
  [[ -f $counter ]] && n=$(cat "$counter")
  echo $((n + 1)) >"$counter"
  local -a results
  read -r -a results <<<"$2"
  printf '%s' "${results[n]:-ok}"
}
