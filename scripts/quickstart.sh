#!/usr/bin/env bash
# berth's main job on an embedded default: a local registry and two agents on this machine.
# Agent "builder" loads a small image built here from busybox-static and pushes it to the
# registry; agent "node" starts empty, pulls it back layer by layer, lists it and runs it.
# Everything runs under one temporary directory and is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
berth_install_packages
build_log=$(mktemp)
berth_build >"$build_log" 2>&1 || { cat "$build_log"; exit 1; }
rm -f "$build_log"

work=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
pids=()
cgroup_parent=/berth-quickstart-$$
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for dir in /sys/fs/cgroup/*"$cgroup_parent"; do rmdir "$dir" 2>/dev/null || true; done
  # The agents' network-namespace directories are mounts of their own.
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -ru | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
berth() { node dist/cli/main.js "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# --- an image from local files: busybox-static as one layer, written as an OCI image layout ---
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/layout/blobs/sha256"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in sh ls cat echo env id sleep true false uname; do ln -s busybox "$work/rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
chmod 1777 "$work/rootfs/tmp"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
blob() { # file -> prints "digest size" after storing it in the layout
  local d; d=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$work/layout/blobs/sha256/$d"
  echo "$d $(stat -c %s "$1")"
}
read -r layer_digest layer_size < <(blob "$work/layer.tar.gz")
cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh","-c","echo hello from berth"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"2026-01-01T00:00:00Z","created_by":"COPY busybox-static /bin/busybox"}]}
JSON
read -r config_digest config_size < <(blob "$work/config.json")
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
cat >"$work/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"latest","io.containerd.image.name":"docker.io/library/hello:latest"}}]}
JSON
tar -C "$work/layout" -cf "$work/hello.tar" .

# --- a local registry on loopback ---
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<YAML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
registry=127.0.0.1:$port

# --- two agents, each with its own data root and socket ---
for node in builder node; do
  node dist/cli/main.js agent --data-root "$work/$node" --socket "$work/$node.sock" --run-dir "$work/run-$node" \
    --cgroup-parent "$cgroup_parent" >"$work/$node.log" 2>&1 &
  pids+=($!)
done
for sock in "$work/builder.sock" "$work/node.sock"; do
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
done
for _ in $(seq 100); do curl -sf "http://$registry/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

step "berth --agent builder.sock load -i hello.tar"
berth --agent "$work/builder.sock" load -i "$work/hello.tar"
step "berth --agent builder.sock tag hello $registry/hello:1.0"
berth --agent "$work/builder.sock" tag hello "$registry/hello:1.0"
step "berth --agent builder.sock push $registry/hello:1.0"
berth --agent "$work/builder.sock" push "$registry/hello:1.0"
step "berth --agent node.sock pull $registry/hello:1.0"
berth --agent "$work/node.sock" pull "$registry/hello:1.0"
step "berth --agent node.sock images"
berth --agent "$work/node.sock" images
step "berth --agent node.sock image history $registry/hello:1.0"
berth --agent "$work/node.sock" image history "$registry/hello:1.0"
step "berth --agent node.sock run --rm --network none $registry/hello:1.0"
berth --agent "$work/node.sock" run --rm --network none "$registry/hello:1.0"
step "berth --agent node.sock run -d --name greeter --network none $registry/hello:1.0 sh -c 'echo hi > /greeting; sleep 60'"
berth --agent "$work/node.sock" run -d --name greeter --network none "$registry/hello:1.0" sh -c 'echo hi > /greeting; sleep 60' >/dev/null
sleep 0.5
step "berth --agent node.sock ps -s"
berth --agent "$work/node.sock" ps -s
step "berth --agent node.sock diff greeter"
berth --agent "$work/node.sock" diff greeter
step "berth --agent node.sock rm -f greeter"
berth --agent "$work/node.sock" rm -f greeter
echo
echo "The image went builder -> registry -> node layer by layer; both agents hold it under ID sha256:${config_digest:0:12}."
