#!/usr/bin/env bash
# Release check: build the jsii packages for every language and check the artifacts.
# Slow (minutes, downloads from Maven Central and the Go proxy): NOT part of .ci/run.
#
#   bash scripts/package-check.sh          # compile, then `npx projen package-all` (stops at the first failure)
#   bash scripts/package-check.sh --each   # compile, then each package:<target> on its own, go on after a
#                                          # failure, and print a table (which targets work, how long each takes)
#
#   PACKAGE_CHECK_NO_COMPILE=1   package the lib/ and .jsii as they are (default: pre-compile + compile first)
#   PACKAGE_CHECK_M2=DIR         the Maven local repository (default ~/.cache/cdk-kms-secrets/m2, kept between
#                                runs so the aws-cdk-lib jars are downloaded once)
#
# Artifacts checked: dist/js/*.tgz, dist/python/*.whl, dist/java/**/*.jar, dist/go/**/go.mod
# (and dist/dotnet/**/*.nupkg when `dotnet` exists). dist/ is removed first, so nothing stale passes.
#
# Java: jsii-pacmak writes `[3.0.2,4.0.0)` for cdk-nag into the pom, which Maven resolves from
# io/github/cdklabs/cdknag/maven-metadata.xml. Where that metadata lists no 3.x version (as the Maven
# Central seen from the project's machines did: it listed 2.x only, although cdknag-3.0.2.jar is there),
# the range can't resolve. So the pinned cdk-nag version (devDependencies) is installed into the local
# repository first, which makes the range resolve; the published pom is unchanged. The script warns
# when the remote metadata lacks a 3.x version, since Maven users of the package would hit the same.
#
# Go: `go mod tidy` needs every module of go.mod from the Go proxy. The proxy seen from the project's
# machines served no github.com/cdklabs/cdk-nag-go/cdknag/v3 at all, and of
# github.com/cdklabs/cloud-assembly-schema-go/awscdkcloudassemblyschema/v53 only v53.25.0 (go.mod
# asks for v53.28.0, the npm version in node_modules), so package:go fails there; a failure
# names the modules the proxy did not serve.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODE=all
case "${1:-}" in
  "") ;;
  --each) MODE=each ;;
  *) echo "usage: $0 [--each]" >&2; exit 2 ;;
esac

now() { local us=${EPOCHREALTIME//[^0-9]/}; echo $((us / 1000)); } # milliseconds
secs() { local ms=$(($(now) - $1)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
say() { echo "package-check: $*"; }
die() { echo "package-check: ERROR: $*" >&2; exit 1; }

T0=$(now)
LOG=$(mktemp "${TMPDIR:-/tmp}/package-check.XXXXXX.log")
say "full log: $LOG"

# --- the targets package-all runs, in its order (from .projen/tasks.json) ---
mapfile -t TARGETS < <(node -e '
  const steps = require("./.projen/tasks.json").tasks["package-all"].steps;
  for (const s of steps) {
    const t = s.spawn.replace(/^package:/, "");
    if (t === "dotnet" && s.condition) {
      try { require("child_process").execSync(s.condition, { stdio: "ignore" }); } catch { continue; }
    }
    console.log(t);
  }')
say "targets: ${TARGETS[*]}"

for tool in java mvn go python3; do
  command -v "$tool" >/dev/null || die "\`$tool\` is not installed (needed by jsii-pacmak)"
done

dev_version() { node -p "require('./package.json').devDependencies['$1'].replace(/^[\\^~]/, '')"; }

# --- compile (pacmak packages lib/ and .jsii as they are) ---
if [[ ${PACKAGE_CHECK_NO_COMPILE:-} != 1 ]]; then
  t=$(now)
  { npx projen pre-compile && npx projen compile; } >>"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "compile failed"; }
  say "compile: $(secs "$t") s"
fi
[[ -f .jsii ]] || die ".jsii is missing: run \`npx projen compile\` first"

# --- Maven local repository, with the pinned cdk-nag installed into it ---
M2=${PACKAGE_CHECK_M2:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk-kms-secrets/m2}
NAG_VERSION=$(dev_version cdk-nag)
NAG_DIR=$M2/io/github/cdklabs/cdknag
if [[ " ${TARGETS[*]} " == *" java "* ]] && ! grep -qs "<version>$NAG_VERSION</version>" "$NAG_DIR/maven-metadata-local.xml"; then
  t=$(now)
  fetch=$(mktemp -d)
  for kind in pom jar; do
    mvn -B -q dependency:get -Dartifact="io.github.cdklabs:cdknag:$NAG_VERSION:$kind" -Dtransitive=false \
      -Dmaven.repo.local="$fetch" >>"$LOG" 2>&1 || die "cannot download io.github.cdklabs:cdknag:$NAG_VERSION ($kind); see $LOG"
  done
  mvn -B -q install:install-file -Dmaven.repo.local="$M2" \
    -Dfile="$fetch/io/github/cdklabs/cdknag/$NAG_VERSION/cdknag-$NAG_VERSION.jar" \
    -DpomFile="$fetch/io/github/cdklabs/cdknag/$NAG_VERSION/cdknag-$NAG_VERSION.pom" >>"$LOG" 2>&1 \
    || die "cannot install cdknag $NAG_VERSION into $M2; see $LOG"
  rm -rf "$fetch"
  say "maven: installed io.github.cdklabs:cdknag:$NAG_VERSION into $M2: $(secs "$t") s"
fi
export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$M2"

# --- package ---
rm -rf dist
# .npmignore does not exclude these: `npm pack` (and so every jsii target, which embeds its
# tarball) would ship them. Both are throwaway outputs of other scripts.
for junk in .venv-smoke cdk.out; do
  if [[ -e $junk ]]; then
    say "removing $junk/ first (npm pack would include it)"
    rm -rf "$junk"
  fi
done
declare -A RESULT SECONDS_OF
failed=()

run_task() { # task name -> 0/1; output to the log
  local task=$1 t rc=0
  t=$(now)
  say "npx projen $task ..."
  echo "===== npx projen $task =====" >>"$LOG"
  npx projen "$task" >>"$LOG" 2>&1 || rc=$?
  SECONDS_OF[$task]=$(secs "$t")
  say "$task: $( ((rc == 0)) && echo OK || echo "FAILED (exit $rc)") in ${SECONDS_OF[$task]} s"
  return "$rc"
}

if [[ $MODE == all ]]; then
  if run_task package-all; then
    for t in "${TARGETS[@]}"; do RESULT[$t]=OK; done
  else
    failed+=(package-all)
    # package-all stops at the first failure: the targets before the last one started are OK.
    mapfile -t started < <(grep -oE '^👾 (package-all » )?package:[a-z]+ \|' "$LOG" | sed -E 's/.*package:([a-z]+) \|$/\1/')
    for ((i = 0; i + 1 < ${#started[@]}; i++)); do RESULT[${started[i]}]=OK; done
    ((${#started[@]})) && RESULT[${started[-1]}]=FAILED
  fi
else
  for t in "${TARGETS[@]}"; do
    if run_task "package:$t"; then RESULT[$t]=OK; else RESULT[$t]=FAILED; failed+=("package:$t"); fi
  done
fi

# --- artifacts (only for targets that reported success: a failed go build still leaves go.mod) ---
declare -A PATTERN=(
  [js]='dist/js/*.tgz'
  [python]='dist/python/*.whl'
  [java]='dist/java/**/*.jar'
  [go]='dist/go/**/go.mod'
  [dotnet]='dist/dotnet/**/*.nupkg'
)
shopt -s globstar nullglob
for t in "${TARGETS[@]}"; do
  [[ ${RESULT[$t]:-} == OK ]] || continue
  # shellcheck disable=SC2206 # the pattern is meant to glob
  files=(${PATTERN[$t]})
  if ((${#files[@]} == 0)); then
    RESULT[$t]="NO ARTIFACT"
    failed+=("$t: no ${PATTERN[$t]}")
  else
    for f in "${files[@]}"; do say "  $t: $f ($(du -h "$f" | cut -f1))"; done
  fi
done
shopt -u globstar nullglob

# --- what the npm tarball holds (every other package embeds it) ---
shopt -s nullglob
for tgz in dist/js/*.tgz; do
  entries=$(tar tzf "$tgz" | awk -F/ '{print $2}' | sort -u | paste -sd ' ')
  say "  npm tarball top level: $entries"
  bad=$(tr ' ' '\n' <<<"$entries" | grep -xE 'cdk\.out|\.venv.*|\.services|node_modules|coverage|test-reports|\.cache|src|test' || true)
  if [[ -n $bad ]]; then
    failed+=("npm tarball holds: $(echo $bad)")
  fi
done
shopt -u nullglob

# --- diagnostics for the failures seen on the project's machines ---
if grep -q 'No versions available for io.github.cdklabs:cdknag' "$LOG"; then
  say "DIAGNOSIS java: Maven found no cdknag version in the pom's range, even with $NAG_VERSION installed in $M2"
fi
metadata=$NAG_DIR/maven-metadata-central.xml
if [[ -f $metadata ]] && ! grep -q '<version>3\.' "$metadata"; then
  say "WARNING java: Maven Central's io/github/cdklabs/cdknag/maven-metadata.xml lists no 3.x version" \
    "($(grep -o '<latest>[^<]*' "$metadata" | cut -c9-) is its latest): Maven users resolving from that registry could not" \
    "resolve its cdk-nag range either; the Java build here used the locally installed $NAG_VERSION"
fi
if grep -q 'proxy.golang.org.*403\|This module version is not available' "$LOG"; then
  say "DIAGNOSIS go: the Go proxy did not serve these modules (go.mod comes from the npm versions in node_modules):"
  grep -o 'go: [^ ]*@v[^:]*: reading' "$LOG" | sed 's/^go: //; s/: reading$//' | sort -u | sed 's/^/package-check:   /'
fi

# --- summary ---
echo "package-check: ----------------------------------------"
for t in "${TARGETS[@]}"; do
  if [[ $MODE == each ]]; then
    printf 'package-check: %-8s %-12s %6s s\n' "$t" "${RESULT[$t]:-FAILED}" "${SECONDS_OF[package:$t]}"
  else
    printf 'package-check: %-8s %s\n' "$t" "${RESULT[$t]:-not run}"
  fi
done
[[ $MODE == all ]] && say "package-all: ${SECONDS_OF[package-all]} s"
say "total: $(secs "$T0") s"
if ((${#failed[@]})); then
  say "FAILED: ${failed[*]} (log: $LOG)"
  exit 1
fi
say "OK"
