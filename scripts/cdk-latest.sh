#!/usr/bin/env bash
# The supported aws-cdk-lib range, as tested: the construct tests and the example app (synthesized,
# then the four cdk-nag packs, ours and cfn-lint) against the NEWEST aws-cdk-lib, while `npm test` and
# `npm run example` run them against the oldest supported one (2.257.0, the devDependency).
#
#   bash scripts/cdk-latest.sh                 # aws-cdk-lib 2.276.0 (CDK_LATEST_VERSION to change)
#   CDK_LATEST_SKIP_TESTS=1 bash scripts/cdk-latest.sh   # only the example
#
# aws-cdk-lib goes into .cdk-latest/ (gitignored, not packaged), never into node_modules/ or the
# lockfile: jest maps it in (test/cdk-latest.jest.config.js), and node loads it through
# scripts/cdk-latest-hook.js. constructs and cdk-nag stay the project's. The real-database runtime
# tests (test/rotation/runtime/) do not depend on aws-cdk-lib and are not run a second time; the integ
# snapshots stay on 2.257 (integ-runner reads cloud assembly schema 53 only).
# Needs the build (lib/, assets/) and cfn-lint; needs the npm registry once per version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERSION=${CDK_LATEST_VERSION:-2.276.0}
DIR=.cdk-latest
now() { local us=${EPOCHREALTIME//[^0-9]/}; echo $((us / 1000)); }
took() { local ms=$(($(now) - $2)); printf 'cdk-latest: %-40s %4d.%d s\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)); }

t=$(now)
have=$(node -p "try { require('./$DIR/node_modules/aws-cdk-lib/package.json').version } catch { '' }")
if [[ $have != "$VERSION" ]]; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  echo '{ "name": "cdk-kms-secrets-cdk-latest", "private": true }' >"$DIR/package.json"
  # --legacy-peer-deps: aws-cdk-lib's peer constructs is the project's (the hook and the jest mapper use it).
  npm install --prefix "$DIR" --no-audit --no-fund --no-package-lock --legacy-peer-deps --loglevel=error "aws-cdk-lib@$VERSION" >/dev/null
fi
took "aws-cdk-lib $VERSION in $DIR/" "$t"

export KMSSEC_SKIP_SERVICES=1
if [[ ${CDK_LATEST_SKIP_TESTS:-} != 1 ]]; then
  t=$(now)
  npx jest --ci --config test/cdk-latest.jest.config.js
  took "construct tests (aws-cdk-lib $VERSION)" "$t"
fi

t=$(now)
EXAMPLE_OUTDIR=cdk.out.latest node -r ./scripts/cdk-latest-hook.js node_modules/.bin/ts-node --project test/tsconfig.json scripts/example.ts
took "example: synth, packs, cfn-lint (aws-cdk-lib $VERSION)" "$t"
