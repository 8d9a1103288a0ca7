#!/usr/bin/env bash
# The GitHub Action's install step. Writes `bin=PATH` (the CLI's entry
# script) to GITHUB_OUTPUT.
#   INPUT_VERSION empty: the Ceiling this action was checked out at, built
#     in place (npm ci runs `prepare`, which bundles the CLI).
#   INPUT_VERSION set: ceiling-probe@VERSION from the npm registry, into a
#     folder of its own under RUNNER_TEMP, so the project's node_modules and
#     lockfile are left alone.
set -euo pipefail
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: this script runs inside a GitHub Actions step}"
node -e 'const [major, minor] = process.versions.node.split(".").map(Number); if (major < 20 || (major === 20 && minor < 18)) { console.error(`::error title=ceiling::Node ${process.versions.node} is too old: Ceiling needs 20.18 or later (add actions/setup-node before this action)`); process.exit(1); }'
version="${INPUT_VERSION:-}"
if [ -z "$version" ]; then
  action_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  (cd "$action_root" && npm ci --no-audit --no-fund --loglevel=error)
  bin="$action_root/dist/cli/main.js"
else
  prefix="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/ceiling-probe"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "ceiling-probe@$version"
  bin="$prefix/node_modules/ceiling-probe/dist/cli/main.js"
fi
node "$bin" --version
echo "bin=$bin" >> "$GITHUB_OUTPUT"
