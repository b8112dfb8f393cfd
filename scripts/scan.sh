#!/usr/bin/env bash
# Optional: run independent IaC scanners on the example's templates (cdk.out,
# written by `npm run example`) and print what they say about the rotation
# function (its security group, its environment's key, its ec2:Vpc condition)
# and everything else. Not part of `npm test` or CI: the scanners are large
# and not needed to build; this is for a reviewer who wants a second opinion.
#
#   npm run example && bash scripts/scan.sh
#
# Scanners, each used when installed, skipped with a hint when not:
#   checkov     pip install checkov                    (Bridgecrew/Prisma, Apache-2.0)
#   cfn-guard   cargo install cfn-guard                (AWS CloudFormation Guard, Apache-2.0)
#               with the rules of the AWS Guard Rules Registry in $GUARD_RULES_DIR
#               (a checkout of github.com/aws-cloudformation/aws-guard-rules-registry;
#               its rules/ folder; not on any package registry)
# Exit status: 0 (findings are reported, never fatal: see README "Independent scanners").
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${1:-$ROOT/cdk.out}
shopt -s nullglob
templates=("$OUT"/*.template.json)
if ((${#templates[@]} == 0)); then
  echo "[scan] no templates in $OUT: run \`npm run example\` first" >&2
  exit 2
fi

if command -v checkov >/dev/null; then
  echo "===== checkov ====="
  for t in "${templates[@]}"; do
    # --compact: no code blocks; failed checks only.
    checkov -f "$t" --framework cloudformation --compact --quiet 2>/dev/null || true
  done
else
  echo "[scan] checkov not installed (pip install checkov): skipped"
fi

if command -v cfn-guard >/dev/null && [[ -n ${GUARD_RULES_DIR:-} && -d $GUARD_RULES_DIR ]]; then
  echo "===== cfn-guard (AWS Guard Rules Registry: $GUARD_RULES_DIR) ====="
  for t in "${templates[@]}"; do
    # Every rule file on its own: one rule that does not parse must not hide the others.
    find "$GUARD_RULES_DIR" -name '*.guard' -print0 | sort -z | while IFS= read -r -d '' rule; do
      cfn-guard validate --rules "$rule" --data "$t" --show-summary none --output-format single-line-summary 2>/dev/null \
        | grep -E 'FAIL|Error' | sed "s|^|$(basename "$rule" .guard): |" || true
    done
  done
else
  echo "[scan] cfn-guard or GUARD_RULES_DIR missing (cargo install cfn-guard; GUARD_RULES_DIR=<registry checkout>/rules): skipped"
fi
exit 0
