#!/bin/bash
# useradd on a sandbox twin instance: the user is recorded under the instance root only (the
# host's /etc/passwd is never touched); services run as the sandbox's own user.
set -euo pipefail
root=${RUNNERFLEET_ROOT:?only a sandbox twin instance runs this shim}
home="" shell=/bin/bash name=""
while (($#)); do
  case $1 in
    -d | --home-dir) home=$2; shift 2 ;;
    -s | --shell) shell=$2; shift 2 ;;
    -*) shift ;;
    *) name=$1; shift ;;
  esac
done
mkdir -p "$root/etc"
printf '%s:x:990:990::%s:%s\n' "$name" "$home" "$shell" >>"$root/etc/passwd"
[[ -z $home ]] || mkdir -p "$root/$home"
