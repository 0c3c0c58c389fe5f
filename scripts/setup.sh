# Shared by the quickstart, the test command and CI: make sure the Debian packages and the built
# project are there. Sourced, not run.

# Debian packages berth runs on (and its tests and benchmark compare against).
BERTH_PACKAGES=(
  busybox-static            # the test and example images are built from it
  docker-registry           # the local OCI distribution registry
  golang-github-opencontainers-image-spec-dev  # OCI image-spec JSON schemas
  golang-github-opencontainers-specs-dev       # OCI runtime-spec JSON schemas
  apache2-utils             # htpasswd, for the registry's basic-auth tests
  openssl                   # the token server's signing certificate in tests
  zstd                      # zstd-compressed layers
  skopeo umoci containerd   # the peers the benchmark measures against
  runc                      # the OCI runtime
  conmon                    # the per-container monitor
  containernetworking-plugins iptables  # container networking (bridge, host-local, portmap)
  nftables                  # the service proxy (ClusterIP and NodePort rules)
  iperf3                    # the network benchmark (npm run bench -- --suite network)
  etcd-server               # the controller's distributed store; the store tests start their own
  procps                    # pkill, for the quickstart's cleanup
  python3 make g++          # node-gyp builds the native addon; python3's pty module drives the -it tests
  tar bzip2 xz-utils        # berth cp, and ADD's archives (gzip in process; bzip2 and xz through these)
  util-linux iproute2 ca-certificates curl
)

berth_missing_packages() {
  local missing=()
  for p in "${BERTH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]}"
}

berth_install_packages() {
  local missing
  missing=$(berth_missing_packages)
  if ! command -v node >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
  if [ -n "$missing" ]; then
    echo "berth: installing Debian packages:$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    echo "berth: Node.js 20 or newer is needed (found $(node --version))" >&2
    return 1
  fi
}

# npm ci when node_modules is missing or older than the lock file; the build runs as its prepare step.
berth_build() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund
  else
    npm run build --silent
  fi
  [ -f agent/native/build/Release/berth_fs.node ] || npm run install --silent
}
