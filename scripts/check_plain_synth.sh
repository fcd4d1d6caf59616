#!/usr/bin/env bash
# Proves the pipeline's plain path, without make: in a fresh clone of HEAD,
# `pip install -r requirements.txt` into a new virtualenv (the "active Python"),
# the pinned CDK CLI from package-lock.json, then
# `npx cdk synth --context environmentSuffix=pr123` must succeed (the lean profile, a pr<N> suffix's
# default; the unit suite synthesizes the production profile).
# Prints how long each step took.
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { local t=$SECONDS; "$@"; echo "  $(( SECONDS - t )) s: $*" >&2; }

step git clone --quiet --no-hardlinks "$repo" "$work/clone"
cd "$work/clone"
step python3 -m venv "$work/venv"
# The active environment, as a pipeline would have it: its python3 first on PATH,
# and no trace of the repository's own .venv.
export PATH="$work/venv/bin:$(tr ':' '\n' <<<"$PATH" | grep -v '/\.venv/bin$' | paste -sd: -)"
export VIRTUAL_ENV="$work/venv"
step python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
step npm ci --no-audit --no-fund --loglevel=error
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
step npx --no-install cdk synth --quiet --context environmentSuffix=pr123
test -s cdk.out/TapStackpr123.template.json
echo "plain path OK: npx cdk synth --context environmentSuffix=pr123 in a fresh clone with pip install -r requirements.txt"
