#!/usr/bin/env bash
# Verifies every integ test (integ/integ.*.ts) offline: integ-runner synthesizes
# each one and compares it with its committed snapshot. It never deploys: with
# no snapshot change there is nothing to deploy, and a changed snapshot fails
# here (deploying would need an AWS account; see `npx projen integ:deploy`).
set -euo pipefail
cd "$(dirname "$0")/.."

# No AWS account here: make sure nothing waits on instance metadata.
export AWS_EC2_METADATA_DISABLED=true
# jest and jsii type-check the code already; synthesizing without type checks
# gives identical templates in a quarter of the time.
export TS_NODE_TRANSPILE_ONLY=1

out=$(mktemp)
trap 'rm -f "$out"' EXIT
tests=$(ls integ/integ.*.ts | wc -l)
set +e
npx integ-runner --directory integ --language typescript \
  --app "npx ts-node --project test/tsconfig.json {filePath}" \
  --parallel-regions us-east-1 --max-workers 2 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
unchanged=$(grep -c 'UNCHANGED' "$out" || true)
if [ "$status" -ne 0 ] || [ "$unchanged" -ne "$tests" ]; then
  echo "integ:verify: $unchanged of $tests integ snapshots match. A changed snapshot means the synthesized template changed:" >&2
  echo "  review the change, then refresh the snapshot with: npx projen integ:snapshot (offline) or npx projen integ:deploy (real account)" >&2
  exit 1
fi
echo "integ:verify: $unchanged passed, 0 failed"
