// Container networking: the vocabulary of the agent's network subsystem and its lifecycle.
//
// Each container that is not in host mode gets its own network namespace, a bind-mounted file
// under `<runDir>/netns/<id>` that outlives the processes in it (and the agent), so runc joins it
// by path. In bridge mode the CNI plugins put a veth into it, plug the host end into one host
// bridge, lease it an address from host-local IPAM and publish its ports with portmap.
//
// Lifecycle: `attach` records what it is about to do in `<runDir>/state/<id>.json` before doing
// it, then creates the namespace and runs the CNI ADDs; a failure rolls back everything it made.
// `detach` runs the CNI DELs with the configuration and result recorded at ADD time (so it works
// after an agent restart or an options change), then removes the namespace, then the record.
// Both are idempotent and serialized per container id; different ids proceed in parallel.
// Opened by the composition root; imports native/ (namespaces) and proto/ only.

export type NetworkMode =
  /** Own namespace, a veth on the host bridge, an address from the bridge's subnet, published ports. */
  | 'bridge'
  /** Own namespace holding only loopback. */
  | 'none'
  /** The host's namespace: nothing to set up. */
  | 'host'
  /**
   * Join the namespace at this path, made and owned by someone else (a pod's, attached under the
   * pod's own id): nothing is set up or torn down for the container itself. Several containers
   * joining one namespace share its interfaces and address, as docker's `container:<id>` does.
   */
  | `netns:${string}`;

/** The namespace path a `netns:` mode joins; undefined for the other modes. */
export function joinedNetns(mode: NetworkMode): string | undefined {
  return mode.startsWith('netns:') ? mode.slice('netns:'.length) : undefined;
}

export interface PortMapping {
  /** Host address the port is published on; '' or '0.0.0.0' means every address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** Whether two published ports would take the same traffic: one protocol and port, addresses that meet ('' is every address). */
export function portsOverlap(a: PortMapping, b: PortMapping): boolean {
  const any = (ip: string) => ip === '' || ip === '0.0.0.0';
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (any(a.hostIp) || any(b.hostIp) || a.hostIp === b.hostIp);
}

/** A published port somebody has already. */
export interface PortInUse {
  port: PortMapping;
  /** Another attachment publishes it (its id), or a socket of the host is bound to it. */
  holder: { attachment: string } | 'host';
}

export interface AttachOptions {
  /**
   * Called with the namespace's path as soon as it exists, while the plugins connect it; attach
   * resolves only when both are done. A runtime creates its container in the namespace here
   * (the container's process does not run until it is started, after attach).
   */
  whileConnecting?: (netns: string) => Promise<void>;
}

export interface NetworkAttachment {
  /** Path of the container's network namespace (bind-mounted file), to put in the OCI spec. */
  netns: string;
  ip?: string;
  gateway?: string;
  mac?: string;
  prefixLength?: number;
  ports: PortMapping[];
}

export interface NetworkOptions {
  /** Runtime directory we own, e.g. `<agent run dir>/net`: namespaces and per-container records. */
  runDir: string;
  /** Persistent directory for host-local IPAM leases (its dataDir is `<stateDir>/ipam`). */
  stateDir: string;
  /** Host bridge name (Linux limit: 15 characters). Default 'berth0'. */
  bridge?: string;
  /** IPv4 subnet of the bridge, CIDR. Default DEFAULT_SUBNET. */
  subnet?: string;
  /**
   * The subnet comes later, from the cluster (the node's pod CIDR, usePodNetwork): bridge attaches
   * wait for it. `subnet` is then ignored.
   */
  subnetFromCluster?: boolean;
  /** Directories searched for CNI plugin binaries, ':'-separated. Default '/usr/lib/cni'. */
  cniPath?: string;
  /** Longest a single plugin invocation may take, ms. Default 60 s. */
  pluginTimeoutMs?: number;
}

/** NetworkOptions validated and defaulted once, at construction. */
export interface CompiledNetworkOptions {
  runDir: string;
  netnsDir: string;
  recordDir: string;
  ipamDir: string;
  bridge: string;
  /** Undefined until the cluster names it (subnetFromCluster). */
  subnet: string | undefined;
  cniPath: string[];
  pluginTimeoutMs: number;
}

export interface PodNetworkConfig {
  podCidr: string;
  clusterCidr: string;
  /** The pods' interface MTU; undefined: the host's default. */
  mtu?: number;
}

export interface ContainerNetwork {
  /**
   * mode 'host': returns undefined (no namespace). 'none': a fresh namespace with only loopback
   * up. 'bridge': + veth on the bridge with an IP from host-local, + port mappings (portmap).
   * Idempotent per id: a second attach returns the recorded attachment, whatever it is asked.
   */
  attach(id: string, mode: NetworkMode, ports: PortMapping[], options?: AttachOptions): Promise<NetworkAttachment | undefined>;
  /** CNI DEL for everything attach added, then the namespace removed. Idempotent; never fails because something is already gone. */
  detach(id: string): Promise<void>;
  /** Attachments that exist on disk (to re-adopt after an agent restart, and to clean leftovers). */
  list(): Promise<string[]>;
  /** Whether one attachment exists on disk (what list() would include), without listing them all. */
  has(id: string): Promise<boolean>;
  /**
   * Which of these ports are taken on the host already: published by another attachment (its
   * record; `except` is the asker's own), or held by a socket of the host, which portmap's DNAT
   * would silently take the traffic from. Asked before attaching; a moment later it may differ.
   */
  portsInUse(ports: PortMapping[], except?: string): Promise<PortInUse[]>;
  /**
   * The node's part of the cluster's pod network: the bridge's subnet becomes the node's pod CIDR
   * (attaches waiting for it go on), what leaves for the rest of the cluster CIDR is not
   * masqueraded, and pods get this MTU (less than the host's under VXLAN). Refused while
   * containers are attached on another subnet.
   */
  usePodNetwork(config: PodNetworkConfig): Promise<void>;
  /**
   * For shutdown and tests: removes the bridge, our netns directory's mount and the IPAM
   * bookkeeping. Refuses (failed-precondition) while attachments remain.
   */
  destroy(): Promise<void>;
}
