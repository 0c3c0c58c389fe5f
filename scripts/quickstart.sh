#!/usr/bin/env bash
# berth's main job on an embedded default: a local cluster on this machine. A local registry
# holds an example image built here from busybox-static; a controller (embedded SQLite store,
# serving mutual TLS) and one agent (this host as a node, joined with a token) run; the CLI uses
# the admin kubeconfig the controller wrote; `berth apply -f manifests/examples/ --wait` applies the
# example manifests (a web server, a worker, and a multi-tier shop: web tier, cache, database
# StatefulSet on local-path volumes, a ConfigMap and a Secret) and streams their status until
# everything runs; then a look around (pods, claims, requests through Services, a scale-up
# watched to the end) and everything is deleted, stopped and removed again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
berth_install_packages
build_log=$(mktemp)
berth_build >"$build_log" 2>&1 || { cat "$build_log"; exit 1; }
rm -f "$build_log"
# berth as a command on the PATH from now on (the package's bin; `npm link` does the same).
chmod +x dist/cli/main.js
if [ ! -e /usr/local/bin/berth ] || [ -L /usr/local/bin/berth ]; then ln -sf "$PWD/dist/cli/main.js" /usr/local/bin/berth; fi

work=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
tag=$(printf '%04x' $((RANDOM % 65536)))
bridge=bq$tag
cgroup_parent=/berth-quickstart-$tag
pids=()
cleanup() {
  set +e
  # The pods first (their containers outlive the agent by design), then the processes.
  if [ -n "${BERTH_CONFIG:-}" ]; then
    node dist/cli/main.js delete -f manifests/examples/ --ignore-not-found >/dev/null 2>&1
    for _ in $(seq 100); do
      [ -z "$(node dist/cli/main.js --agent "$work/agent.sock" ps -aq 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  # Whatever a failure left: runc containers, monitors, mounts, the bridge and its two rules (NAT, loopback guard), the service proxy's table, cgroups.
  for c in $(runc --root "$work/run/runc" list -q 2>/dev/null); do runc --root "$work/run/runc" delete -f "$c" >/dev/null 2>&1; done
  pkill -KILL -f "conmon.*$work" 2>/dev/null
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -ru | while read -r m; do umount -l "$m" 2>/dev/null; done
  ip link del "$bridge" 2>/dev/null
  nft delete table ip "berth-$bridge" 2>/dev/null
  nft delete table ip "berth-np-$bridge" 2>/dev/null
  iptables -t nat -S POSTROUTING 2>/dev/null | grep -F -- "berth $bridge " | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -t nat $rule"; done
  iptables -S INPUT 2>/dev/null | grep -F -- "berth $bridge " | sed 's/^-A /-D /' | while read -r rule; do eval "iptables $rule"; done
  for dir in /sys/fs/cgroup/*"$cgroup_parent"; do
    [ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
berth() { node dist/cli/main.js "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the example image, from local files: busybox-static as one layer, an OCI image layout ---
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/www" "$work/layout/blobs/sha256"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in sh ls cat echo env id sleep true false uname date httpd wget hostname; do ln -s busybox "$work/rootfs/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
printf '<h1>hello from berth</h1>\n' >"$work/rootfs/www/index.html"
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
{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"2026-01-01T00:00:00Z","created_by":"COPY busybox-static /bin/busybox"}]}
JSON
read -r config_digest config_size < <(blob "$work/config.json")
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_digest","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
cat >"$work/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_digest","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"1","io.containerd.image.name":"docker.io/berth/hello:1"}}]}
JSON
tar -C "$work/layout" -cf "$work/hello.tar" .

# --- a local registry on loopback, known to the node as registry.berth.local ---
registry=127.0.0.1:$(free_port)
cat >"$work/registry.yml" <<YAML
version: 0.1
log: { level: error }
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: $registry }
YAML
setpriv --pdeathsig KILL -- docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
cat >"$work/registries.yaml" <<YAML
mirrors:
  registry.berth.local:
    endpoint: ["http://$registry"]
YAML

# --- the controller (embedded SQLite in its data root) and this host's agent ---
controller=127.0.0.1:$(free_port)
setpriv --pdeathsig KILL -- node dist/cli/main.js controller --data-root "$work/controller" --listen "$controller" >"$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q 'listening on' "$work/controller.log" && break; sleep 0.1; done
# The controller wrote an admin kubeconfig (its CA, its address, a client certificate): the CLI
# uses it for this run (copy it to ~/.berth/config to keep it), and makes the agent's join token.
export BERTH_CONFIG="$work/controller/admin.kubeconfig"
token=$(berth token create --ttl 10m --description quickstart)
# The agent serves the cluster's Ingresses on this port of the host (80 where it is free to take).
ingress_port=$(free_port)
setpriv --pdeathsig KILL -- node dist/cli/main.js agent --data-root "$work/agent" --socket "$work/agent.sock" --run-dir "$work/run" \
  --cgroup-parent "$cgroup_parent" --bridge "$bridge" --registries-config "$work/registries.yaml" \
  --controller "$controller" --token "$token" --ingress-http-port "$ingress_port" >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://$registry/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# The example image into the registry, through the agent's own load and push.
berth --agent "$work/agent.sock" load -i "$work/hello.tar" >/dev/null
berth --agent "$work/agent.sock" tag berth/hello:1 "$registry/berth/hello:1"
berth --agent "$work/agent.sock" push "$registry/berth/hello:1" >/dev/null
berth --agent "$work/agent.sock" rmi berth/hello:1 "$registry/berth/hello:1" >/dev/null

step "berth config get-contexts   # the admin kubeconfig the controller wrote (mutual TLS)"
berth config get-contexts
step "berth version"
berth --agent "$work/agent.sock" version
step "berth get nodes   # the agent joined with a one-time token: berth token create"
for _ in $(seq 50); do berth get nodes 2>/dev/null | grep -q ' Ready' && break; sleep 0.1; done
berth get nodes
step "berth apply -f manifests/examples/ --wait"
berth apply -f manifests/examples/ --wait=2m
step "berth get deployments"
berth get deployments
step "berth get pods -o wide"
berth get pods -o wide
pod_ip=$(berth get pods -l app=hello -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print((d.get("items") or [d])[0]["status"]["podIP"])')
step "curl http://$pod_ip:8080/"
curl -sf "http://$pod_ip:8080/"
step "berth get statefulsets,pvc   # the shop's database: two replicas, each with a claim bound to a directory on its node"
berth get statefulsets,pvc
step "berth get svc,endpointslices   # the Services' virtual IPs and node port, and their ready pods"
berth get svc,endpointslices
cluster_ip=$(berth get svc hello -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')
node_port=$(berth get svc hello -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["ports"][0]["nodePort"])')
node_ip=$(berth get nodes -o json | python3 -c 'import json,sys; n=json.load(sys.stdin)["items"][0]; print([a["address"] for a in n["status"]["addresses"] if a["type"]=="InternalIP"][0])')
dns=$(berth get nodes -o json | python3 -c 'import json,sys; c=json.load(sys.stdin)["items"][0]["spec"]["podCIDR"]; print(c.rsplit(".",1)[0]+".1")')
step "curl http://$cluster_ip/   # the cluster IP, through the agent's nftables rules, to a ready pod"
curl -sf --max-time 5 "http://$cluster_ip/"
step "curl http://$node_ip:$node_port/   # the node port"
curl -sf --max-time 5 "http://$node_ip:$node_port/"
svc_ip() { berth get svc "$1" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])'; }
step "curl http://$(svc_ip frontend)/   # the shop's web tier: a page from its ConfigMap"
curl -sf --max-time 5 "http://$(svc_ip frontend)/"
step "curl -H 'Host: shop.berth.local' http://$node_ip:$ingress_port/   # the shop from outside, through its Ingress"
berth get ingress shop
curl -sf --max-time 5 -H 'Host: shop.berth.local' "http://$node_ip:$ingress_port/"
step "curl http://$(svc_ip cache)/records   # its cache: what a sidecar copied from db-0.db's volume"
curl -sf --max-time 5 "http://$(svc_ip cache)/records"
step "nslookup hello.default.svc.cluster.local $dns   # the node's cluster DNS, the pods' nameserver"
busybox nslookup hello.default.svc.cluster.local "$dns" | grep -A1 '^Name:'
step "berth scale deployment/hello --replicas=5 && berth rollout status deployment/hello"
berth scale deployment/hello --replicas=5
berth rollout status deployment/hello --timeout 2m
step "berth logs deployment/worker --tail 2   # through the controller, from the agent running it"
berth logs deployment/worker --tail 2
step "berth --agent agent.sock ps   # the node's own view: one container per pod"
berth --agent "$work/agent.sock" ps
step "berth describe deployment hello"
berth describe deployment hello
step "berth delete -f manifests/examples/"
berth delete -f manifests/examples/
echo
echo "The examples converged on a one-node cluster (controller + agent) and were removed again."
