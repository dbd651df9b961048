#!/usr/bin/env bash
# buf on proto/ (config proto/buf.yaml), with buf from deploy/tools (npm):
#   buf_test.sh REPO_ROOT lint       buf lint passes, and a rule outside the exceptions still
#                                    fires (a message named in snake_case)
#   buf_test.sh REPO_ROOT breaking   buf breaking against the last release tag (v*), else the
#                                    main branch, from the local git repository (no network);
#                                    and deleting a field is caught
source "$(dirname "$0")/lib.sh"
root=$1
mode=$2
need_npm_tools "$root"
buf="$root/deploy/tools/node_modules/.bin/buf"
export BUF_CACHE_DIR="$scratch/buf-cache"
cd "$root/proto"

# A copy of the module with one change, for the negative checks.
copy_module() {
  mkdir -p "$scratch/module"
  cp -r . "$scratch/module/"
}

case "$mode" in
  lint)
    "$buf" lint
    echo "buf lint: clean"
    copy_module
    printf 'syntax = "proto3";\npackage mutualaid.events.v1;\nmessage bad_name {}\n' \
      >"$scratch/module/mutualaid/events/v1/lint_probe.proto"
    if (cd "$scratch/module" && "$buf" lint >"$scratch/lint.out" 2>&1); then
      fail "buf lint accepted a snake_case message name: are the exceptions too wide?"
    fi
    grep -q "MESSAGE_PASCAL_CASE\|should be PascalCase" "$scratch/lint.out" ||
      fail "unexpected buf lint output: $(cat "$scratch/lint.out")"
    echo "buf lint: a snake_case message is refused"
    ;;
  breaking)
    need git
    git -C "$root" rev-parse --git-dir >/dev/null 2>&1 || skip "$root is not a git repository"
    git_dir=$(cd "$root" && cd "$(git rev-parse --git-dir)" && pwd)
    tag=$(git -C "$root" describe --tags --abbrev=0 --match 'v*' 2>/dev/null || true)
    if [ -n "$tag" ]; then
      against="$git_dir#tag=$tag,subdir=proto"
    elif git -C "$root" rev-parse -q --verify refs/heads/main >/dev/null; then
      against="$git_dir#branch=main,subdir=proto"
    else
      skip "no release tag (v*) and no local branch main to compare with"
    fi
    echo "buf breaking against $against"
    "$buf" breaking --against "$against"
    echo "buf breaking: compatible"
    # A field deleted without reserving its number must be caught.
    copy_module
    file="$scratch/module/mutualaid/events/v1/envelope.proto"
    grep -q '^  string event_id = 1;' "$file" || fail "envelope.proto changed: update this check"
    sed -i '/^  string event_id = 1;/d' "$file"
    if (cd "$scratch/module" && "$buf" breaking --against "$root/proto" >"$scratch/breaking.out" 2>&1); then
      fail "buf breaking accepted a deleted field"
    fi
    grep -q 'event_id' "$scratch/breaking.out" || fail "unexpected: $(cat "$scratch/breaking.out")"
    echo "buf breaking: a deleted field is refused"
    ;;
  *)
    echo "usage: buf_test.sh REPO_ROOT lint|breaking" >&2
    exit 2
    ;;
esac
