#!/usr/bin/env bash
# yamllint (config: .yamllint at the repository root) passes on deploy/ and the buf config.
#   yamllint_test.sh REPO_ROOT
source "$(dirname "$0")/lib.sh"
root=$1
need yamllint
cd "$root"
yamllint --strict deploy proto/buf.yaml .yamllint tests/deploy/testdata
echo "yamllint: clean"
