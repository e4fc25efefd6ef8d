#!/usr/bin/env bash
# Installs the benchmark anchor (OpenMined psi.js) into bench/anchor/node_modules.
# Kept out of the project's default install: psi.js depends on protoc-gen-js, whose
# post-install step downloads protoc from the internet and fails offline. psi.js ships
# its WASM inside the package, so it works with --ignore-scripts.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
want="$(node -p "require('$here/package.json').dependencies['@openmined/psi.js']")"
installed_pkg="$here/node_modules/@openmined/psi.js/package.json"
if [[ -f "$installed_pkg" ]] && [[ "$(node -p "require('$installed_pkg').version")" == "$want" ]]; then
  echo "@openmined/psi.js@$want already installed in $here/node_modules"
  exit 0
fi
# package-lock.json pins the whole tree; --ignore-scripts skips protoc-gen-js's download.
npm install --prefix "$here" --ignore-scripts --no-audit --no-fund
echo "installed @openmined/psi.js@$want in $here/node_modules"
