#!/usr/bin/env bash
# The alert rules (deploy/monitoring) pass `promtool check rules` and their unit tests.
#   promtool_rules_test.sh REPO_ROOT
source "$(dirname "$0")/lib.sh"
root=$1
need promtool
cd "$root/deploy/monitoring"
promtool check rules alerts.yaml
promtool test rules alerts_test.yaml
