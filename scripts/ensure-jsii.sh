#!/usr/bin/env bash
# Compile (jsii) when .jsii is missing or older than a source file, README.md or package.json, so the
# checks that read the assembly (rosetta, test/api) never judge a stale one. A no-op right after a build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -f .jsii ]]; then
  newer=$({ find src -name '*.ts' -not -path '*/runtime/*' -newer .jsii; find README.md package.json -newer .jsii; } 2>/dev/null | head -1 || true)
  [[ -z $newer ]] && exit 0
  echo "ensure-jsii: $newer is newer than .jsii: compiling"
else
  echo "ensure-jsii: .jsii is missing: compiling"
fi
npx projen compile
