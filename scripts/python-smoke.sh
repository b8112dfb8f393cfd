#!/usr/bin/env bash
# Python smoke test of the jsii-built wheel (run after `npx projen package:python`):
#
#   1. a fresh venv in .venv-smoke/ (gitignored),
#   2. pip install dist/python/*.whl plus aws-cdk-lib, constructs (and cdk-nag when the
#      wheel requires it) at the versions package.json develops against,
#   3. run scripts/smoke/app.py with that python, CDK_OUTDIR in a temp dir: it runs the README's
#      short example translated to Python by jsii-rosetta (scripts/smoke/readme_example.py) and checks it.
#
# Fails loudly on any error; prints a timing line per step.
#   PYTHON=python3.12 bash scripts/python-smoke.sh   # choose the interpreter (default python3)
#   PYTHON_SMOKE_KEEP_VENV=1 bash scripts/python-smoke.sh   # keep .venv-smoke/ afterwards (to debug)
#
# The venv is removed afterwards by default: .npmignore does not exclude it, so a
# later `npm pack` (package:js, and every jsii-pacmak target, which embed that
# tarball) would ship its ~400 MB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON=${PYTHON:-python3}
VENV="$ROOT/.venv-smoke"

die() { echo "python-smoke: ERROR: $*" >&2; exit 1; }
now() { local us=${EPOCHREALTIME//[^0-9]/}; echo $((us / 1000)); } # milliseconds
took() { local ms=$(($(now) - $2)); printf 'python-smoke: %-32s %4d.%d s\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)); }

t_all=$(now)

OUTDIR=$(mktemp -d "${TMPDIR:-/tmp}/python-smoke.XXXXXX") # CDK_OUTDIR
cleanup() {
  local rc=$?
  rm -rf "$OUTDIR"
  if [[ ${PYTHON_SMOKE_KEEP_VENV:-} == 1 ]]; then
    echo "python-smoke: kept $VENV (remove it before packaging: npm pack would include it)"
  else
    rm -rf "$VENV"
  fi
  ((rc == 0)) || echo "python-smoke: FAILED (exit $rc)" >&2
}
trap cleanup EXIT

shopt -s nullglob
wheels=(dist/python/*.whl)
shopt -u nullglob
((${#wheels[@]} == 1)) || die "expected exactly one wheel in dist/python/, found ${#wheels[@]} (run \`npx projen package:python\` first)"
wheel=${wheels[0]}
echo "python-smoke: wheel $wheel"

# Versions the library is developed and snapshotted against (devDependencies, exact pins).
dev_version() { node -p "require('./package.json').devDependencies['$1'].replace(/^[\\^~]/, '')"; }
CDK_VERSION=$(dev_version aws-cdk-lib)
CONSTRUCTS_VERSION=$(dev_version constructs)
NAG_VERSION=$(dev_version cdk-nag)

# What the wheel itself requires (Requires-Dist of its METADATA).
requires=$("$PYTHON" - "$wheel" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    for line in z.read(meta).decode().splitlines():
        if line.startswith("Requires-Dist:"):
            print(line.split(":", 1)[1].strip())
PY
) || die "cannot read the metadata of $wheel"
echo "python-smoke: the wheel requires: $(echo "$requires" | paste -sd ';' | sed 's/;/; /g')"

pkgs=("$wheel" "aws-cdk-lib==$CDK_VERSION" "constructs==$CONSTRUCTS_VERSION")
if grep -qi '^cdk-nag' <<<"$requires"; then
  pkgs+=("cdk-nag==$NAG_VERSION")
fi

t=$(now)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || die "cannot create a venv with $PYTHON (on Debian: apt-get install python3-venv)"
took "venv ($("$VENV/bin/python" --version))" "$t"

t=$(now)
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}" \
  || die "pip install ${pkgs[*]} failed"
took "pip install" "$t"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
  | grep -iE '^(cdk-kms-secrets|aws-cdk-lib|constructs|cdk-nag|jsii) ' | sed 's/^/python-smoke:   /'

t=$(now)
CDK_OUTDIR="$OUTDIR" "$VENV/bin/python" scripts/smoke/app.py || die "scripts/smoke/app.py failed"
took "synth + checks" "$t"
took "total" "$t_all"
