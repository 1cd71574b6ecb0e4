#!/bin/bash
# dnf/yum on a sandbox twin instance: nothing is downloaded. A package is recorded in
# $RUNNERFLEET_ROOT/var/lib/twin/packages and "installs" the shims of the commands it provides.
set -euo pipefail
root=${RUNNERFLEET_ROOT:?only a sandbox twin instance runs this shim}
bin=${RUNNERFLEET_TWIN_BIN:?}
shims=${RUNNERFLEET_TWIN_SHIMS:?}
action="" packages=()
for arg in "$@"; do
  case $arg in
    -*) ;;
    *) if [[ -z $action ]]; then action=$arg; else packages+=("$arg"); fi ;;
  esac
done
provide() {  # provide SHIM COMMAND
  install -m 0755 "$shims/$1.sh" "$bin/$2"
}
docker_unit() {
  mkdir -p "$root/usr/lib/systemd/system"
  printf '%s\n' '[Unit]' 'Description=Docker (sandbox twin: no daemon, jobs are simulated)' \
    '[Service]' 'Type=oneshot' 'RemainAfterExit=yes' 'ExecStart=/bin/true' \
    >"$root/usr/lib/systemd/system/docker.service"
}
case $action in
  install)
    mkdir -p "$root/var/lib/twin"
    for package in "${packages[@]}"; do
      case $package in
        docker) provide docker docker; docker_unit ;;
        amazon-cloudwatch-agent) provide amazon-cloudwatch-agent-ctl amazon-cloudwatch-agent-ctl ;;
      esac
      grep -qxF "$package" "$root/var/lib/twin/packages" 2>/dev/null ||
        printf '%s\n' "$package" >>"$root/var/lib/twin/packages"
    done
    ;;
  "" | makecache | clean | check-update | upgrade | update) ;;
  *) echo "$(basename "$0") $action: not emulated in the sandbox twin" >&2; exit 1 ;;
esac
