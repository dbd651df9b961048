#!/usr/bin/env bash
# deploy/docker/Dockerfile: passes dockerfile-utils lint (npm, offline); builds on debian:12 and
# runs on debian:12-slim as a non-root user; and its runtime packages (with their Depends) cover
# every shared library of the service binaries built here, as ldd and dpkg see them on this
# Debian 12 machine. The images themselves are not built: no registry is reachable.
#   dockerfile_test.sh REPO_ROOT BINARY...
source "$(dirname "$0")/lib.sh"
root=$1
shift
need_npm_tools "$root"
dockerfile="$root/deploy/docker/Dockerfile"

lint=$("$root/deploy/tools/node_modules/.bin/dockerfile-utils" lint "$dockerfile") ||
  fail "dockerfile-utils lint: $lint"
[ -z "$lint" ] || fail "dockerfile-utils lint warns: $lint"
echo "dockerfile-utils lint: clean"

grep -qE '^FROM debian:12 AS build$' "$dockerfile" || fail "the build stage is not debian:12"
grep -qE '^FROM debian:12-slim AS runtime$' "$dockerfile" || fail "the runtime is not debian:12-slim"
grep -q 'scripts/install-deps.sh' "$dockerfile" && grep -q 'scripts/build.sh' "$dockerfile" ||
  fail "the build stage does not use scripts/install-deps.sh and scripts/build.sh"
user=$(awk '/^FROM debian:12-slim AS runtime/{r=1} r && /^USER /{print $2}' "$dockerfile")
[ -n "$user" ] && [ "${user%%:*}" != "0" ] && [ "${user%%:*}" != "root" ] ||
  fail "the runtime stage sets no non-root USER (got '$user')"
for target in intake adjudication payout; do
  grep -qE "^FROM runtime AS $target$" "$dockerfile" || fail "no image target $target"
done

# The runtime packages: the continuation lines of the apt-get install in the runtime stage.
mapfile -t listed < <(awk '/^FROM debian:12-slim AS runtime/{r=1} /^FROM runtime/{r=0}
  r && /apt-get install/{i=1; next} i && /^ *&&/{i=0} i {gsub(/[ \\]/, ""); if ($0 != "") print}' \
  "$dockerfile")
[ ${#listed[@]} -ge 5 ] || fail "cannot read the runtime package list (${listed[*]})"
echo "runtime packages: ${listed[*]}"

[ -f /etc/debian_version ] && [ "$(cut -d. -f1 /etc/debian_version)" = 12 ] ||
  skip "not a Debian 12 machine: cannot map libraries to debian:12-slim packages"
need ldd dpkg-query apt-cache
apt-cache show "${listed[@]}" >/dev/null 2>&1 ||
  skip "apt lists do not know every one of: ${listed[*]} (run apt-get update)"
# What debian:12-slim ships (Essential and required packages) plus the listed packages' Depends.
{
  dpkg-query -W -f='${Package} ${Essential} ${Priority}\n' | awk '$2 == "yes" || $3 == "required" {print $1}'
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${listed[@]}" | grep -v '^ ' | sed 's/:.*//'
} | sort -u >"$scratch/available"

[ $# -ge 1 ] || fail "no binaries given"
for binary in "$@"; do
  [ -x "$binary" ] || fail "$binary is not built"
  ldd "$binary" | awk -v b="$(basename "$binary")" '/=> \//{print b, $3} /^\t\/lib/{print b, $1}'
done >"$scratch/libs"
# One dpkg-query for every library under each name usrmerge gives it (/lib, /usr/lib, resolved).
while read -r _ lib; do
  real=$(readlink -f "$lib")
  printf '%s\n' "$lib" "/usr$lib" "$real" "${real#/usr}" "/usr${real#/usr}"
done <"$scratch/libs" | sort -u >"$scratch/paths"
xargs -a "$scratch/paths" dpkg-query -S 2>/dev/null | sed 's/^\([^:]*\)[^ ]* \(.*\)$/\2 \1/' \
  >"$scratch/owners" || true
while read -r binary lib; do
  real=$(readlink -f "$lib")
  owner=$(awk -v a="$lib" -v b="/usr$lib" -v c="$real" -v d="${real#/usr}" \
    '$1 == a || $1 == b || $1 == c || $1 == d {print $2; exit}' "$scratch/owners")
  if [ -z "$owner" ]; then
    echo "$binary: $lib belongs to no package"
  elif ! grep -qx "$owner" "$scratch/available"; then
    echo "$binary: $lib is in $owner, which the runtime image lacks"
  fi
done <"$scratch/libs" >"$scratch/missing"
[ ! -s "$scratch/missing" ] || fail "$(cat "$scratch/missing")"
echo "$(cut -d' ' -f1 "$scratch/libs" | sort -u | tr '\n' ' ')- every shared library is in the runtime image"
