#!/usr/bin/env bash
# Render docs/architecture.dot into docs/architecture.png and docs/architecture.svg.
# Needs Graphviz `dot` (Debian/Ubuntu: apt-get install -y graphviz; macOS: brew install graphviz).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source_file="$root/docs/architecture.dot"

if ! command -v dot >/dev/null 2>&1; then
  echo "error: Graphviz 'dot' not found; install it (apt-get install -y graphviz, or brew install graphviz)" >&2
  exit 2
fi

dot -Tpng -Gdpi=110 "$source_file" -o "$root/docs/architecture.png"
dot -Tsvg "$source_file" -o "$root/docs/architecture.svg"
echo "Wrote docs/architecture.png and docs/architecture.svg from docs/architecture.dot"
