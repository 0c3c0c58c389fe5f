// The cluster's resources as documents: Kubernetes' field names and shapes, so that real
// manifests carry over. These documents travel as JSON inside the cluster API's messages
// (proto/cluster.proto), as Kubernetes' own API carries them, and are stored as JSON. The JSON
// Schemas under manifests/schemas say what a user may write; these types say what the code
// reads (after defaulting, see defaults.ts beside this file).
//
// Every field is optional on the wire: a document from a manifest carries only what its author
// wrote. Quantities (cpu "500m", memory "128Mi") are strings, as Kubernetes prints them.

export interface ObjectMeta {
  name?: string;
  /** "default" when absent, for namespaced kinds; absent for Namespace and Node. */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  /** The store revision of the object's last write, as a decimal string. */
  resourceVersion?: string;
  /** Moves only when spec changes. */
  generation?: number;
  /** RFC 3339. */
  creationTimestamp?: string;
  /** Set when a delete is in progress (graceful: the agent is stopping the pod's containers). */
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

// --- v1 Namespace ---

export interface Namespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: ObjectMeta;
  spec?: Record<string, never>;
  status?: { phase?: 'Active' | 'Terminating' };
}

// --- v1 Pod ---

export interface EnvVar {
  name: string;
  /** May name earlier variables as $(NAME); $$ is a literal $. */
  value?: string;
  valueFrom?: EnvVarSource;
}

/** One key of a ConfigMap or Secret; optional: a missing one (or a missing object) is no error. */
export interface KeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

/** The downward API: a field of the pod (metadata.name, metadata.labels['k'], status.podIP...). */
export interface ObjectFieldSelector {
  fieldPath: string;
  apiVersion?: string;
}

/** A container's request or limit (limits.cpu, requests.memory...), in units of divisor (default 1). */
export interface ResourceFieldSelector {
  resource: string;
  containerName?: string;
  divisor?: string | number;
}

export interface EnvVarSource {
  configMapKeyRef?: KeySelector;
  secretKeyRef?: KeySelector;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
}

/** Every key of a ConfigMap or Secret as a variable, the prefix before each name. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface VolumeMount {
  /** A volume of the pod. */
  name: string;
  mountPath: string;
  readOnly?: boolean;
  /** A path inside the volume to mount instead of its root. */
  subPath?: string;
  /** subPath with $(VAR) expanded from the container's environment. */
  subPathExpr?: string;
  mountPropagation?: 'None' | 'HostToContainer' | 'Bidirectional';
  /** With readOnly: Enabled and IfPossible make the mounts below the volume's read-only too (Linux 5.12+). */
  recursiveReadOnly?: 'Disabled' | 'IfPossible' | 'Enabled';
}

/** One file of a configMap/secret/downwardAPI volume: a key (or field) to a path, with its mode. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  mode?: number;
}

export interface VolumeProjection {
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[] };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

/** A pod's volume: exactly one source. (A type, not an interface: Pod Security reads its source fields by name.) */
export type Volume = {
  name: string;
  /** Scratch space for the pod's life: on the node's disk, or tmpfs with medium Memory. */
  emptyDir?: { medium?: '' | 'Memory'; sizeLimit?: string };
  hostPath?: { path: string; type?: '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice' };
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[]; defaultMode?: number };
  projected?: { sources: VolumeProjection[]; defaultMode?: number };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  /**
   * A generic ephemeral volume: a claim made from the template for this pod (named
   * <pod>-<volume>, owned by it, deleted with it), then used as a persistentVolumeClaim.
   */
  ephemeral?: { volumeClaimTemplate: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PersistentVolumeClaimSpec }; readOnly?: boolean };
};

/** kubectl's annotation naming the container exec and logs use when none is named. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** Every container of a pod, init containers first. */
export const podContainers = (pod: Pod): Container[] => [...(pod.spec.initContainers ?? []), ...pod.spec.containers];

/** The container a command that names none means: the annotated one, else the first. */
export function defaultContainerOf(pod: Pod): string {
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const all = podContainers(pod).map((c) => c.name);
  return annotated && all.includes(annotated) ? annotated : pod.spec.containers[0]!.name;
}

/** The claim a volume uses: the one it names, or (ephemeral) the one made for the pod; undefined for other volumes. */
export function volumeClaimName(podName: string, volume: Volume): string | undefined {
  if (volume.persistentVolumeClaim) return volume.persistentVolumeClaim.claimName;
  if (volume.ephemeral) return `${podName}-${volume.name}`;
  return undefined;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  /** Publish on the node's address (docker's -p). */
  hostPort?: number;
  protocol?: 'TCP' | 'UDP';
}

/** cpu and memory, and extended resources by their names ("nvidia.com/gpu": "1"). */
export interface ResourceRequirements {
  requests?: { cpu?: string; memory?: string; [extended: string]: string | undefined };
  limits?: { cpu?: string; memory?: string; [extended: string]: string | undefined };
}

export interface ExecAction {
  command: string[];
}

export interface TCPSocketAction {
  /** A port number or the name of one of the container's ports. */
  port: number | string;
  host?: string;
}

export interface HTTPGetAction {
  path?: string;
  port: number | string;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: { name: string; value: string }[];
}

/** The gRPC health-checking protocol (grpc.health.v1.Health/Check) on the pod's port. */
export interface GRPCAction {
  port: number;
  /** The service name asked about ("" : the server as a whole). */
  service?: string;
}

/** What a lifecycle hook does: exactly one of these. */
export interface LifecycleHandler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  sleep?: { seconds: number };
}

export interface Lifecycle {
  /** Run right after the container starts; failing it kills the container. */
  postStart?: LifecycleHandler;
  /** Run before the container is stopped, within its grace period. */
  preStop?: LifecycleHandler;
  stopSignal?: string;
}

export interface Probe {
  exec?: ExecAction;
  tcpSocket?: TCPSocketAction;
  httpGet?: HTTPGetAction;
  grpc?: GRPCAction;
  terminationGracePeriodSeconds?: number;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: PullPolicy;
  /** Init containers only: Always makes it a sidecar (started in order before the app containers, running beside them, stopped after them). */
  restartPolicy?: 'Always';
  /** Replaces the image's Entrypoint. */
  command?: string[];
  /** Replaces the image's Cmd. */
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
  /** Where the container may write why it ended (default /dev/termination-log); the file's text becomes its terminated state's message. */
  terminationMessagePath?: string;
  /** File (default), or FallbackToLogsOnError: a failed container that wrote nothing gets its log's tail. */
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  /** Until it succeeds once, the other probes wait; failing failureThreshold times restarts the container. */
  startupProbe?: Probe;
  lifecycle?: Lifecycle;
  /** Overrides the pod's securityContext where both say something. */
  securityContext?: SecurityContext;
  /**
   * Whether a resize of cpu or memory would restart the container. Accepted for manifests' sake:
   * berth does not resize running pods (their resources are set at creation), so it never applies.
   */
  resizePolicy?: Array<{ resourceName: 'cpu' | 'memory'; restartPolicy: 'NotRequired' | 'RestartContainer' }>;
  /** Keep a stdin for the process that attached clients write to (`berth attach -i`); without, it reads end of file. */
  stdin?: boolean;
  /** stdin closes when the first attached client leaves (each run of the container gets a new one). */
  stdinOnce?: boolean;
  /** The process runs on a terminal (attach -t gets it). */
  tty?: boolean;
}

/** Which seccomp filter a container runs under (Kubernetes' names). */
export interface SeccompProfile {
  /** RuntimeDefault (the default): the runtime's default profile; Unconfined: none; Localhost: a profile file on the node. */
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** Localhost only: a path relative to the node's seccomp profile root (<agent data root>/seccomp/). */
  localhostProfile?: string;
}

/** The pod-wide part of Kubernetes' PodSecurityContext that berth honours. */
/** RuntimeDefault: the node's default profile; Localhost: one the node has loaded, by name; Unconfined: none. */
export interface AppArmorProfile {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhostProfile?: string;
}

export interface PodSecurityContext {
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  runAsUser?: number;
  runAsGroup?: number;
  /** true: a container whose user would be root is not started (CreateContainerConfigError). */
  runAsNonRoot?: boolean;
  /** A supplementary group of every container, and the group owning the pod's volumes (setgid directories). */
  fsGroup?: number;
  /** Accepted for manifests' sake: berth's volumes are fresh per pod, so both policies give the same ownership. */
  fsGroupChangePolicy?: 'OnRootMismatch' | 'Always';
  supplementalGroups?: number[];
  /** Merge (default): also the groups the image's /etc/group gives the user; Strict: only the ones asked for here. */
  supplementalGroupsPolicy?: 'Merge' | 'Strict';
  /** Windows-only settings; Linux nodes ignore them, as the kubelet does. */
  windowsOptions?: WindowsSecurityContextOptions;
}

export interface WindowsSecurityContextOptions {
  gmsaCredentialSpecName?: string;
  gmsaCredentialSpec?: string;
  runAsUserName?: string;
  hostProcess?: boolean;
}

/** Capabilities added to and dropped from the default set ("NET_ADMIN", or "ALL" to drop). */
export interface Capabilities {
  add?: string[];
  drop?: string[];
}

/** The per-container part of Kubernetes' SecurityContext that berth honours. */
export interface SecurityContext {
  /** Every capability, no seccomp filter or masked paths, /sys writable, the host's devices (the privileged level only). */
  privileged?: boolean;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  /** false: the process and its children can never gain privileges (no_new_privs). Default true. */
  allowPrivilegeEscalation?: boolean;
  /** The container's root filesystem mounted read-only (its volumes stay as mounted). */
  readOnlyRootFilesystem?: boolean;
  capabilities?: Capabilities;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  /** Windows-only settings; Linux nodes ignore them, as the kubelet does. */
  windowsOptions?: WindowsSecurityContextOptions;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSpec {
  containers: Container[];
  /** Run in order, each to success, before the app containers start (sidecars: started, then left running). */
  initContainers?: Container[];
  volumes?: Volume[];
  /** dockerconfigjson Secrets of the pod's namespace, for this pod's image pulls only. */
  imagePullSecrets?: { name: string }[];
  restartPolicy?: RestartPolicy;
  nodeSelector?: Record<string, string>;
  /** The operating system the pod is for: only nodes labelled kubernetes.io/os with it run it. */
  os?: { name: 'linux' | 'windows' };
  /** Set by the scheduler (binding); a pod with a nodeName is never rescheduled. */
  nodeName?: string;
  terminationGracePeriodSeconds?: number;
  /** Defaulted to "default": the service account whose token the pod gets. */
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName, kept equal to it. */
  serviceAccount?: string;
  /** False: no token is mounted (overrides the service account's own setting). */
  automountServiceAccountToken?: boolean;
  securityContext?: PodSecurityContext;
  /** The pod's hostname (default: its name); with subdomain, a DNS name under that headless Service. */
  hostname?: string;
  subdomain?: string;
  /** ClusterFirst (default): the node's cluster DNS; Default: the node's resolvers; None: dnsConfig only. */
  dnsPolicy?: DNSPolicy;
  dnsConfig?: PodDNSConfig;
  /** Default true: the containers get the Services of the namespace as environment variables. */
  enableServiceLinks?: boolean;
  /** Taints of nodes the pod may run on anyway (NoSchedule, PreferNoSchedule) or stay on (NoExecute). */
  tolerations?: Toleration[];
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  /** A PriorityClass's name: its value becomes spec.priority when the pod is made. */
  priorityClassName?: string;
  priority?: number;
  /** PreemptLowerPriority (default) or Never. */
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  /** Pods for another scheduler are left to it (default-scheduler places the rest). */
  schedulerName?: string;
  /** While any is there, the pod is not scheduled (SchedulingGated); users remove them. */
  schedulingGates?: { name: string }[];
  /** Extra /etc/hosts lines. */
  hostAliases?: { ip: string; hostnames?: string[] }[];
  /** The host's network namespace (and name): the pod's address is the node's, its ports the host's (the privileged level only). */
  hostNetwork?: boolean;
  /** The host's PID namespace: the containers see (and may signal) every process of the node (the privileged level only). */
  hostPID?: boolean;
  /** The host's IPC namespace and /dev/shm (the privileged level only). */
  hostIPC?: boolean;
  /**
   * Pod-level resources: limits on the pod's cgroup, which its containers share (pids too), and
   * requests that scheduling counts instead of the containers' sum (limits stand in for absent requests).
   */
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string; pids?: string | number } };
}

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  /** When a NoExecute taint was added (its tolerationSeconds count from here). */
  timeAdded?: string;
}

export interface Toleration {
  /** Empty with Exists: every taint. */
  key?: string;
  /** Gt and Lt: the taint's value, a whole number, greater or less than this one's. */
  operator?: 'Exists' | 'Equal' | 'Gt' | 'Lt';
  value?: string;
  /** Empty: every effect. */
  effect?: '' | TaintEffect;
  /** NoExecute only: how long the pod stays once the taint is there (absent: for ever). */
  tolerationSeconds?: number;
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  /** Namespaces whose pods count; with neither this nor namespaceSelector, the pod's own. */
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  /** Pods on nodes with the same value of this node label count as together (a zone, a host). */
  topologyKey: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
    preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; preference: NodeSelectorTerm }[];
  };
  podAffinity?: PodAffinityRules;
  podAntiAffinity?: PodAffinityRules;
}

export interface PodAffinityRules {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; podAffinityTerm: PodAffinityTerm }[];
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  labelSelector?: LabelSelector;
  minDomains?: number;
  nodeAffinityPolicy?: 'Honor' | 'Ignore';
  nodeTaintsPolicy?: 'Honor' | 'Ignore';
  matchLabelKeys?: string[];
}

/** ClusterFirstWithHostNet is ClusterFirst for berth (pods never share the host's network). */
export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

/** Pending: accepted, not yet running (unscheduled or pulling); Running: bound and at least one container running; Succeeded/Failed: all containers terminated for good. */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ContainerStateWaiting {
  /** ContainerCreating, ErrImagePull, ImagePullBackOff, CrashLoopBackOff, CreateContainerError. */
  reason?: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt?: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  signal?: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID?: string;
  containerID?: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface PodStatus {
  phase?: PodPhase;
  /** The node a preempting pod waits for while its victims go. */
  nominatedNodeName?: string;
  /** PodScheduled, Initialized, ContainersReady, Ready. */
  conditions?: Condition[];
  reason?: string;
  message?: string;
  hostIP?: string;
  podIP?: string;
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

// --- apps/v1 Deployment and ReplicaSet ---

export interface RollingUpdateDeployment {
  /** An absolute number or a percentage of replicas ("25%"). */
  maxUnavailable?: number | string;
  maxSurge?: number | string;
}

export interface DeploymentStrategy {
  type?: 'RollingUpdate' | 'Recreate';
  rollingUpdate?: RollingUpdateDeployment;
}

export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  /** Available, Progressing (reason NewReplicaSetAvailable, ReplicaSetUpdated, ProgressDeadlineExceeded...). */
  conditions?: Condition[];
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface ReplicaSetSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  minReadySeconds?: number;
}

export interface ReplicaSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
}

/** A Deployment's revision: its template (hash in the pod-template-hash label) and its pods. */
export interface ReplicaSet {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: ObjectMeta;
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

// --- v1 ReplicationController ---

/**
 * The ReplicaSet's predecessor, still in older manifests: the same controller, with an
 * equality-only selector (a map) that defaults to the template's labels.
 */
export interface ReplicationController {
  apiVersion: 'v1';
  kind: 'ReplicationController';
  metadata: ObjectMeta;
  spec: { replicas?: number; selector?: Record<string, string>; template: PodTemplateSpec; minReadySeconds?: number };
  status?: ReplicaSetStatus;
}

// --- apps/v1 DaemonSet ---

export interface DaemonSetUpdateStrategy {
  /** RollingUpdate (the default): pods of an old template are replaced node by node; OnDelete: only when deleted. */
  type?: 'RollingUpdate' | 'OnDelete';
  rollingUpdate?: {
    /** Nodes whose daemon pod may be unavailable during the update: a number or a percentage; default 1. */
    maxUnavailable?: number | string;
    /** Nodes that may run an old and a new pod at once; default 0. */
    maxSurge?: number | string;
  };
}

export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy?: DaemonSetUpdateStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

export interface DaemonSetStatus {
  observedGeneration?: number;
  /** Nodes that should run the daemon pod. */
  desiredNumberScheduled?: number;
  /** Nodes that should run it and run at least one. */
  currentNumberScheduled?: number;
  /** Nodes that run it but should not. */
  numberMisscheduled?: number;
  numberReady?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
}

/** One pod of its template on every node its nodeSelector matches. */
export interface DaemonSet {
  apiVersion: 'apps/v1';
  kind: 'DaemonSet';
  metadata: ObjectMeta;
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

// --- apps/v1 StatefulSet ---

export interface StatefulSetUpdateStrategy {
  /** RollingUpdate (the default): pods from the highest ordinal down, one at a time; OnDelete: only when deleted. */
  type?: 'RollingUpdate' | 'OnDelete';
  rollingUpdate?: {
    /** Pods with an ordinal below this keep their template (a canary: default 0, all update). */
    partition?: number;
    maxUnavailable?: number | string;
  };
}

/** What becomes of the claims made from volumeClaimTemplates: Retain (default) keeps them. */
export interface StatefulSetPersistentVolumeClaimRetentionPolicy {
  /** When the StatefulSet is deleted. */
  whenDeleted?: 'Retain' | 'Delete';
  /** When a pod's ordinal goes by a scale-down. */
  whenScaled?: 'Retain' | 'Delete';
}

export interface StatefulSetSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  /** The headless Service that gives each pod its DNS name <pod>.<serviceName>. */
  serviceName?: string;
  /** OrderedReady (default): one pod at a time, in order; Parallel: all at once. */
  podManagementPolicy?: 'OrderedReady' | 'Parallel';
  updateStrategy?: StatefulSetUpdateStrategy;
  /** One claim per pod from each: <template name>-<set name>-<ordinal>. */
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  persistentVolumeClaimRetentionPolicy?: StatefulSetPersistentVolumeClaimRetentionPolicy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  ordinals?: { start?: number };
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
}

/** Pods with stable names, ordinals and storage. */
export interface StatefulSet {
  apiVersion: 'apps/v1';
  kind: 'StatefulSet';
  metadata: ObjectMeta;
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

// --- v1 PersistentVolume, PersistentVolumeClaim, storage.k8s.io/v1 StorageClass ---

export type PersistentVolumeAccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';

/** A node selector term: every expression must hold. */
export interface NodeSelectorTerm {
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'; values?: string[] }[];
  matchFields?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'; values?: string[] }[];
}

export interface PersistentVolumeSpec {
  capacity?: { storage?: string };
  accessModes?: PersistentVolumeAccessMode[];
  /** Retain (default for volumes made by hand), Delete (default for provisioned ones), Recycle (deprecated). */
  persistentVolumeReclaimPolicy?: 'Retain' | 'Delete' | 'Recycle';
  storageClassName?: string;
  /** The VolumeAttributesClass the volume has (claims asking for one bind only to such volumes). */
  volumeAttributesClassName?: string;
  volumeMode?: 'Filesystem' | 'Block';
  mountOptions?: string[];
  /** The claim it is bound (or reserved) to. */
  claimRef?: ObjectReference;
  /** The nodes that can reach it: a local or hostPath volume names its node. */
  nodeAffinity?: { required?: { nodeSelectorTerms: NodeSelectorTerm[] } };
  hostPath?: { path: string; type?: '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice' | 'BlockDevice' };
  local?: { path: string; fsType?: string };
}

export interface PersistentVolume {
  apiVersion: 'v1';
  kind: 'PersistentVolume';
  metadata: ObjectMeta;
  spec: PersistentVolumeSpec;
  status?: { phase?: 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed'; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}

export interface PersistentVolumeClaimSpec {
  accessModes?: PersistentVolumeAccessMode[];
  resources?: { requests?: { storage?: string }; limits?: { storage?: string } };
  /** Absent: the default StorageClass; "": only volumes without a class. */
  storageClassName?: string;
  /** The volume it is bound to (set by the binder, or by the user to ask for one). */
  volumeName?: string;
  selector?: LabelSelector;
  volumeMode?: 'Filesystem' | 'Block';
  /** The VolumeAttributesClass the volume should have: it binds only to volumes of that class. */
  volumeAttributesClassName?: string;
  /** What to fill a new volume from (a snapshot, another claim): berth's provisioner makes volumes empty. */
  dataSource?: { apiGroup?: string; kind: string; name: string };
  dataSourceRef?: { apiGroup?: string; kind: string; name: string; namespace?: string };
}

export interface PersistentVolumeClaim {
  apiVersion: 'v1';
  kind: 'PersistentVolumeClaim';
  metadata: ObjectMeta;
  spec: PersistentVolumeClaimSpec;
  status?: { phase?: 'Pending' | 'Bound' | 'Lost'; accessModes?: PersistentVolumeAccessMode[]; capacity?: { storage?: string }; conditions?: Condition[]; currentVolumeAttributesClassName?: string };
}

/**
 * Mutable attributes of volumes a driver applies (IOPS, throughput) under a name claims ask for.
 * driverName and parameters are immutable; berth's local-path volumes take no parameters.
 */
export interface VolumeAttributesClass {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'VolumeAttributesClass';
  metadata: ObjectMeta;
  driverName: string;
  parameters?: Record<string, string>;
}

// --- scheduling.k8s.io/v1 PriorityClass ---

/** A named pod priority: pods naming it get its value; a higher one is scheduled first and may preempt lower ones. */
export interface PriorityClass {
  apiVersion: 'scheduling.k8s.io/v1';
  kind: 'PriorityClass';
  metadata: ObjectMeta;
  value: number;
  /** The class of pods that name none (at most one class says so). */
  globalDefault?: boolean;
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  description?: string;
}

// --- v1 LimitRange and ResourceQuota: a namespace's admission limits ---

/** Quantities by resource name ("cpu": "500m", "memory": "1Gi", "requests.storage": "10Gi", "pods": "4"). */
export type ResourceList = Record<string, string | number>;

export interface LimitRangeItem {
  type: 'Container' | 'Pod' | 'PersistentVolumeClaim';
  max?: ResourceList;
  min?: ResourceList;
  /** A container's limits when it sets none (Container only). */
  default?: ResourceList;
  /** A container's requests when it sets none (Container only). */
  defaultRequest?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

/** Defaults and bounds for the resources of each container, pod and claim made in its namespace. */
export interface LimitRange {
  apiVersion: 'v1';
  kind: 'LimitRange';
  metadata: ObjectMeta;
  spec: { limits: LimitRangeItem[] };
}

export type QuotaScope = 'Terminating' | 'NotTerminating' | 'BestEffort' | 'NotBestEffort' | 'PriorityClass' | 'CrossNamespacePodAffinity' | 'VolumeAttributesClass';

/** The most a namespace may hold: object counts and the sums of requests and limits. */
export interface ResourceQuota {
  apiVersion: 'v1';
  kind: 'ResourceQuota';
  metadata: ObjectMeta;
  spec: {
    hard?: ResourceList;
    /** Count only pods in every one of these scopes. */
    scopes?: QuotaScope[];
    scopeSelector?: { matchExpressions: Array<{ scopeName: QuotaScope; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }> };
  };
  status?: { hard?: ResourceList; used?: ResourceList };
}

// --- admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and its bindings ---

/** Which requests a rule covers: `*` or names, for each of its lists. */
export interface NamedRuleWithOperations {
  apiGroups?: string[];
  apiVersions?: string[];
  /** Plurals ("deployments"), `*`, or `pods/status` style subresources (never matched by berth's writes). */
  resources?: string[];
  operations?: Array<'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | '*'>;
  resourceNames?: string[];
  scope?: 'Cluster' | 'Namespaced' | '*';
}

export interface MatchResources {
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  resourceRules?: NamedRuleWithOperations[];
  excludeResourceRules?: NamedRuleWithOperations[];
  matchPolicy?: 'Exact' | 'Equivalent';
}

/**
 * CEL checks of the objects written: the requests its matchConstraints cover are checked by each
 * of its validations (true passes) once a binding puts it in force.
 */
export interface ValidatingAdmissionPolicy {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'ValidatingAdmissionPolicy';
  metadata: ObjectMeta;
  spec: {
    /** The kind of object a binding's paramRef names, seen by the expressions as `params`. */
    paramKind?: { apiVersion: string; kind: string };
    matchConstraints?: MatchResources;
    validations?: Array<{ expression: string; message?: string; messageExpression?: string; reason?: 'Unauthorized' | 'Forbidden' | 'Invalid' | 'RequestEntityTooLarge' }>;
    /** Fail (default): an expression that cannot be evaluated refuses the request; Ignore: lets it through. */
    failurePolicy?: 'Fail' | 'Ignore';
    auditAnnotations?: Array<{ key: string; valueExpression: string }>;
    /** All must be true for the validations to run. */
    matchConditions?: Array<{ name: string; expression: string }>;
    /** Named expressions the others read as `variables.<name>`. */
    variables?: Array<{ name: string; expression: string }>;
  };
  status?: Record<string, unknown>;
}

export interface ValidatingAdmissionPolicyBinding {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'ValidatingAdmissionPolicyBinding';
  metadata: ObjectMeta;
  spec: {
    policyName: string;
    paramRef?: { name?: string; namespace?: string; selector?: LabelSelector; parameterNotFoundAction?: 'Allow' | 'Deny' };
    matchResources?: MatchResources;
    /** Deny refuses a failing request; Warn and Audit let it through. */
    validationActions: Array<'Deny' | 'Warn' | 'Audit'>;
  };
}

// --- apps/v1 ControllerRevision ---

/**
 * One version of a DaemonSet's or StatefulSet's pod template, kept by its controller for
 * `rollout history` and `rollout undo`: named <set>-<hash>, owned by the set, numbered in the
 * order the versions were rolled out (a version rolled out again gets the next number).
 */
export interface ControllerRevision {
  apiVersion: 'apps/v1';
  kind: 'ControllerRevision';
  metadata: ObjectMeta;
  data: { spec: { template: PodTemplateSpec } };
  revision: number;
}

// --- policy/v1 PodDisruptionBudget ---

/**
 * How many of the pods a selector picks may be down at once by a voluntary disruption (an
 * eviction: `berth drain`, the eviction API). Involuntary ones (a node lost) are not stopped by
 * it, only counted. At most one of minAvailable and maxUnavailable.
 */
export interface PodDisruptionBudget {
  apiVersion: 'policy/v1';
  kind: 'PodDisruptionBudget';
  metadata: ObjectMeta;
  spec: {
    /** Pods that must stay healthy: a number, or a percentage of the pods' owners' replicas (rounded up). */
    minAvailable?: number | string;
    /** Pods that may be unhealthy: a number or a percentage of the owners' replicas (rounded up). */
    maxUnavailable?: number | string;
    /** Absent: no pods; empty: every pod of the namespace. */
    selector?: LabelSelector;
    /** IfHealthyBudget (default): a not-ready pod may go only while the budget is met; AlwaysAllow: always. */
    unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
  };
  status?: PodDisruptionBudgetStatus;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pods evicted whose deletion the controller has not seen yet, with when (they count as unhealthy meanwhile). */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: Condition[];
}

// --- admissionregistration.k8s.io/v1 Validating/MutatingWebhookConfiguration ---

/**
 * HTTPS endpoints asked about writes (Kubernetes' dynamic admission control): each webhook whose
 * rules, selectors and matchConditions cover a write gets an admission.k8s.io/v1 AdmissionReview;
 * mutating ones answer with a JSONPatch, in name order, before validating ones allow or deny.
 */
export interface WebhookConfiguration<K extends 'ValidatingWebhookConfiguration' | 'MutatingWebhookConfiguration'> {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: K;
  metadata: ObjectMeta;
  webhooks?: Webhook[];
}
export type ValidatingWebhookConfiguration = WebhookConfiguration<'ValidatingWebhookConfiguration'>;
export type MutatingWebhookConfiguration = WebhookConfiguration<'MutatingWebhookConfiguration'>;

export interface Webhook {
  /** A fully qualified name ("pod-policy.example.com"), unique in its configuration. */
  name: string;
  clientConfig: {
    /** https://host[:port]/path; or service: */
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
    /** PEM certificates (base64) the webhook's serving certificate must chain to; absent: the host's CAs. */
    caBundle?: string;
  };
  rules?: NamedRuleWithOperations[];
  /** Fail (default): a webhook that cannot be called refuses the write; Ignore: it is skipped. */
  failurePolicy?: 'Fail' | 'Ignore';
  matchPolicy?: 'Exact' | 'Equivalent';
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  /** v1 takes None or NoneOnDryRun: berth never dry-runs through a webhook. */
  sideEffects: 'None' | 'NoneOnDryRun';
  /** Seconds, 1..30; default 10. */
  timeoutSeconds?: number;
  admissionReviewVersions: string[];
  matchConditions?: Array<{ name: string; expression: string }>;
  /** Mutating only. */
  reinvocationPolicy?: 'Never' | 'IfNeeded';
}

// --- certificates.k8s.io/v1 CertificateSigningRequest ---

/**
 * A request for a certificate from the cluster's CA (Kubernetes' CSR API): made by anyone allowed
 * to, approved or denied by someone allowed to approve, then signed by its signer: berth signs
 * kubernetes.io/kube-apiserver-client requests (client certificates for the API, as in a user's
 * kubeconfig) with the subject the request asks for.
 */
export interface CertificateSigningRequest {
  apiVersion: 'certificates.k8s.io/v1';
  kind: 'CertificateSigningRequest';
  metadata: ObjectMeta;
  spec: {
    /** A PEM "CERTIFICATE REQUEST", base64-encoded. */
    request: string;
    signerName: string;
    /** At least 600; the certificate lives at most this long (and at most the signer's own limit). */
    expirationSeconds?: number;
    usages?: string[];
    /** Who asked: set by the controller from the caller, whatever the document said. */
    username?: string;
    groups?: string[];
    uid?: string;
    extra?: Record<string, string[]>;
  };
  status?: {
    conditions?: Array<Condition & { lastUpdateTime?: string }>;
    /** The issued certificate, PEM, base64-encoded. */
    certificate?: string;
  };
}

export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';

// --- autoscaling/v2 HorizontalPodAutoscaler ---

/**
 * Keeps a workload's replicas where its pods' measured usage meets the targets: from the agents'
 * metrics (cpu, memory), desired = ceil(current * usage / target), within min and max, changes
 * smoothed by the behavior's stabilization windows and rate policies.
 */
export interface HorizontalPodAutoscaler {
  apiVersion: 'autoscaling/v2';
  kind: 'HorizontalPodAutoscaler';
  metadata: ObjectMeta;
  spec: HorizontalPodAutoscalerSpec;
  status?: HorizontalPodAutoscalerStatus;
}

export interface HorizontalPodAutoscalerSpec {
  /** The workload scaled: a Deployment, ReplicaSet, StatefulSet or ReplicationController of the namespace. */
  scaleTargetRef: { apiVersion?: string; kind: string; name: string };
  /** Default 1. */
  minReplicas?: number;
  maxReplicas: number;
  /** Default: cpu at 80% average utilization. */
  metrics?: MetricSpec[];
  behavior?: { scaleUp?: ScalingRules; scaleDown?: ScalingRules };
}

export interface MetricTarget {
  type: 'Utilization' | 'Value' | 'AverageValue';
  /** Percent of the pods' requests. */
  averageUtilization?: number;
  averageValue?: string | number;
  value?: string | number;
}

/** Resource and ContainerResource are measured; Pods, Object and External need metrics berth does not have. */
export interface MetricSpec {
  type: 'Resource' | 'ContainerResource' | 'Pods' | 'Object' | 'External';
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
  pods?: { metric: { name: string; selector?: LabelSelector }; target: MetricTarget };
  object?: { describedObject: { apiVersion?: string; kind: string; name: string }; metric: { name: string; selector?: LabelSelector }; target: MetricTarget };
  external?: { metric: { name: string; selector?: LabelSelector }; target: MetricTarget };
}

export interface ScalingRules {
  /** How far back recommendations count: the highest of them for a scale down (default 300 s), the lowest for a scale up (default 0). */
  stabilizationWindowSeconds?: number;
  /** Max (default): the policy allowing the biggest change; Min: the smallest; Disabled: no change this way. */
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: Array<{ type: 'Pods' | 'Percent'; value: number; periodSeconds: number }>;
}

export interface HorizontalPodAutoscalerStatus {
  observedGeneration?: number;
  lastScaleTime?: string;
  currentReplicas: number;
  desiredReplicas: number;
  currentMetrics?: Array<{ type: 'Resource' | 'ContainerResource'; resource?: { name: string; current: { averageUtilization?: number; averageValue?: string } }; containerResource?: { name: string; container: string; current: { averageUtilization?: number; averageValue?: string } } }>;
  /** AbleToScale, ScalingActive, ScalingLimited, with Kubernetes' reasons. */
  conditions?: Condition[];
}

// --- networking.k8s.io/v1 Ingress and IngressClass ---

/**
 * HTTP(S) routes from outside the cluster to Services: by host (exact or one wildcard label) and
 * path (Exact, Prefix by path elements), TLS by Secret. Served by the controller its class names
 * (berth's own runs in every agent: INGRESS_CONTROLLER).
 */
export interface Ingress {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'Ingress';
  metadata: ObjectMeta;
  spec: IngressSpec;
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
}

export interface IngressSpec {
  /** The IngressClass; absent: the default class at creation (the one annotated is-default-class). */
  ingressClassName?: string;
  /** Where requests no rule matches go. */
  defaultBackend?: IngressBackend;
  tls?: Array<{ hosts?: string[]; secretName?: string }>;
  rules?: IngressRule[];
}

export interface IngressRule {
  /** Absent: every host. "*.example.com" matches one label in its place. */
  host?: string;
  http?: { paths: HTTPIngressPath[] };
}

export interface HTTPIngressPath {
  path?: string;
  /** Exact: the path itself; Prefix: by '/'-separated elements; ImplementationSpecific: berth's is Prefix. */
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  backend: IngressBackend;
}

/** One of: a Service's port (by number or name), or another kind of object (which berth's controller does not serve). */
export interface IngressBackend {
  service?: { name: string; port: { number?: number; name?: string } };
  resource?: { apiGroup?: string; kind: string; name: string };
}

export interface IngressClass {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'IngressClass';
  metadata: ObjectMeta;
  spec: {
    /** Which controller serves the class's Ingresses ("berth.dev/ingress" for berth's own). */
    controller: string;
    parameters?: { apiGroup?: string; kind: string; name: string; namespace?: string; scope?: 'Cluster' | 'Namespace' };
  };
}

/** The controller name of berth's own ingress controller, and its class made at start. */
export const INGRESS_CONTROLLER = 'berth.dev/ingress';
export const DEFAULT_INGRESS_CLASS = 'berth';
/** The annotation that makes an IngressClass the default for Ingresses that name none. */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** How Ingresses named their class before spec.ingressClassName (still honoured, as controllers do). */
export const LEGACY_INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** On a Node whose agent serves Ingresses: its ports ("http=80,https=443"); the controller lists such nodes' addresses in Ingress status. */
export const INGRESS_PORTS_ANNOTATION = 'berth.dev/ingress-ports';

export function isDefaultIngressClass(cls: IngressClass): boolean {
  return cls.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true';
}

// --- networking.k8s.io/v1 NetworkPolicy ---

/**
 * Which traffic the pods a policy selects may receive (Ingress) and send (Egress). A pod selected
 * by any policy of a type is isolated for that direction: only what one of those policies' rules
 * allows gets through (replies to allowed connections always do). Policies only add.
 */
export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: ObjectMeta;
  spec: NetworkPolicySpec;
}

export interface NetworkPolicySpec {
  /** The pods of the policy's namespace it applies to; empty: all of them. */
  podSelector: LabelSelector;
  /** Default: Ingress, and Egress too when egress rules are given. */
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

/** Traffic from any of `from` (absent or empty: from anywhere) to any of `ports` (absent or empty: every port). */
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

/**
 * Pods (podSelector: of the policy's namespace; namespaceSelector: of the namespaces it selects;
 * both: those pods of those namespaces), or addresses (ipBlock, alone).
 */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  /** Default TCP. */
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** A number, or the name of a port of the destination pod's containers; absent: every port. */
  port?: number | string;
  /** With a numeric port: the range port..endPort. */
  endPort?: number;
}

/** A claim as a StatefulSet's volumeClaimTemplates give it (apiVersion and kind may be left out). */
export type PersistentVolumeClaimTemplate = Omit<PersistentVolumeClaim, 'apiVersion' | 'kind'> & { apiVersion?: 'v1'; kind?: 'PersistentVolumeClaim' };

export interface StorageClass {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'StorageClass';
  metadata: ObjectMeta;
  /** Who makes volumes of this class (berth's own: berth.dev/local-path). */
  provisioner: string;
  parameters?: Record<string, string>;
  /** Of the volumes it makes: Delete (default) or Retain. */
  reclaimPolicy?: 'Retain' | 'Delete';
  /** Immediate (default): bind or provision at once; WaitForFirstConsumer: once a pod using it is scheduled, on its node. */
  volumeBindingMode?: 'Immediate' | 'WaitForFirstConsumer';
  allowVolumeExpansion?: boolean;
  mountOptions?: string[];
}

// --- batch/v1 Job ---

/** podFailurePolicy's exit-code matcher: the first container (or the one named) whose exit code is (not) among `values`. */
export interface PodFailurePolicyOnExitCodesRequirement {
  containerName?: string;
  operator: 'In' | 'NotIn';
  values: number[];
}

export interface PodFailurePolicyOnPodConditionsPattern {
  type: string;
  status?: 'True' | 'False' | 'Unknown';
}

export interface PodFailurePolicyRule {
  /** FailJob: the Job fails at once; Ignore: not counted against backoffLimit; Count: counted (the default); FailIndex: the index fails (Indexed). */
  action: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
  onExitCodes?: PodFailurePolicyOnExitCodesRequirement;
  onPodConditions?: PodFailurePolicyOnPodConditionsPattern[];
}

export interface JobSpec {
  /** Pods running at once; default 1. */
  parallelism?: number;
  /** Successful pods (or indexes) needed; unset with parallelism set: a work queue (done when one succeeds and all end). */
  completions?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  /** Failed pods (and, with OnFailure, container restarts) tolerated before the Job fails; default 6. */
  backoffLimit?: number;
  /** Seconds from the Job's start after which it fails (DeadlineExceeded) and its pods stop. */
  activeDeadlineSeconds?: number;
  /** Seconds after the Job finished (Complete or Failed) at which it is deleted with its pods. */
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
  podFailurePolicy?: { rules: PodFailurePolicyRule[] };
  /** Indexed: failures tolerated per index (then the index fails, and the others go on); backoffLimit is not used then. */
  backoffLimitPerIndex?: number;
  /** With backoffLimitPerIndex: more failed indexes than this fail the Job at once. */
  maxFailedIndexes?: number;
  /** Indexed: the Job succeeds as soon as one rule holds (its indexes, or a count of them, succeeded). */
  successPolicy?: { rules: Array<{ succeededIndexes?: string; succeededCount?: number }> };
  selector?: LabelSelector;
  manualSelector?: boolean;
  template: PodTemplateSpec;
}

export interface JobStatus {
  /** Complete, Failed, Suspended (and FailureTarget/SuccessCriteriaMet before the end), with Kubernetes' reasons. */
  conditions?: Condition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
  /** Indexed: the indexes that succeeded, as ranges ("0-2,4"). */
  completedIndexes?: string;
  failedIndexes?: string;
}

/** Runs pods to completion: `completions` successes, `parallelism` at a time, retried up to backoffLimit. */
export interface Job {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: ObjectMeta;
  spec: JobSpec;
  status?: JobStatus;
}

// --- batch/v1 CronJob ---

export interface JobTemplateSpec {
  metadata?: ObjectMeta;
  spec: JobSpec;
}

export interface CronJobSpec {
  /** Standard 5-field cron syntax, or a macro (@hourly, @daily, @weekly, @monthly, @yearly). */
  schedule: string;
  /** An IANA time zone for the schedule (default: the controller's). */
  timeZone?: string;
  /** A run later than this after its scheduled time is missed rather than started. */
  startingDeadlineSeconds?: number;
  /** Allow (default): runs may overlap; Forbid: a run waits while one is active; Replace: the active one is stopped. */
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  suspend?: boolean;
  jobTemplate: JobTemplateSpec;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

export interface CronJobStatus {
  active?: ObjectReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

/** Makes a Job of its template at each time of its schedule. */
export interface CronJob {
  apiVersion: 'batch/v1';
  kind: 'CronJob';
  metadata: ObjectMeta;
  spec: CronJobSpec;
  status?: CronJobStatus;
}

// --- v1 Node (made by agents) ---

export interface NodeAddress {
  type: 'InternalIP' | 'Hostname';
  address: string;
}

export interface NodeStatus {
  /** cpu, memory, pods, and the extended resources the agent advertises ("example.com/dongle"). */
  capacity?: { cpu?: string; memory?: string; pods?: string; [extended: string]: string | undefined };
  allocatable?: { cpu?: string; memory?: string; pods?: string; [extended: string]: string | undefined };
  /** Ready: True while the agent renews its lease; False/Unknown after the grace period. */
  conditions?: Condition[];
  addresses?: NodeAddress[];
  nodeInfo?: { osImage?: string; kernelVersion?: string; architecture?: string; containerRuntimeVersion?: string; agentVersion?: string };
}

export interface NodeSpec {
  unschedulable?: boolean;
  taints?: Taint[];
  /** The node's block of the cluster CIDR, for its pods' addresses (set once by the controller). */
  podCIDR?: string;
  podCIDRs?: string[];
}

export interface Node {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: ObjectMeta;
  spec?: NodeSpec;
  status?: NodeStatus;
}

// --- coordination.k8s.io/v1 Lease (a node's heartbeat) ---

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  /**
   * The node's epoch: bumped each time the agent registers and each time the controller declares
   * the node lost. An agent renewing with an older epoch is told to resync, so a node that comes
   * back stops the pods that were replaced while it was away.
   */
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: ObjectMeta;
  spec: LeaseSpec;
}

// --- v1 Event ---

export interface ObjectReference {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
  /** The part of the object meant: `spec.containers{web}` for one container of a pod. */
  fieldPath?: string;
}

export interface Event {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: ObjectMeta;
  involvedObject: ObjectReference;
  /** Scheduled, FailedScheduling, Pulling, Pulled, Failed, BackOff, Started, Killing, ScalingReplicaSet... */
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component?: string; host?: string };
}

// --- rbac.authorization.k8s.io/v1 and v1 ServiceAccount ---

/** What a role allows: every verb on every resource (of the API groups) named, or on the resourceNames only. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

export interface Role {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'Role';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

export interface ClusterRole {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'ClusterRole';
  metadata: ObjectMeta;
  rules?: PolicyRule[];
}

/** Who a binding grants to: a user or group (as certificates name them) or a service account. */
export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  /** ServiceAccount only. */
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: 'rbac.authorization.k8s.io';
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface RoleBinding {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'ClusterRoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
  automountServiceAccountToken?: boolean;
}

// --- v1 ConfigMap and Secret ---

/** Configuration as text (data) or bytes (binaryData, base64): pods read it as env or files. */
export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  /** Values base64-encoded, as Kubernetes writes them. */
  binaryData?: Record<string, string>;
  /** True: data can never change again (and immutable cannot be unset). */
  immutable?: boolean;
}

/**
 * Opaque (default), kubernetes.io/dockerconfigjson (key .dockerconfigjson), kubernetes.io/tls
 * (keys tls.crt and tls.key), kubernetes.io/basic-auth, kubernetes.io/ssh-auth, or any other name.
 */
export type SecretType = string;

/** Values kept out of sight: base64 in `data`, encrypted at rest when the controller is given keys. */
export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type?: SecretType;
  /** Values base64-encoded. */
  data?: Record<string, string>;
  /** Write-only convenience: merged into data (encoded) when stored, never stored itself. */
  stringData?: Record<string, string>;
  immutable?: boolean;
}

// --- v1 Service and discovery.k8s.io/v1 EndpointSlice ---

/**
 * ClusterIP (default): a virtual IP inside the cluster; NodePort: also a port on every node;
 * LoadBalancer: a NodePort whose external address nothing provides here (EXTERNAL-IP <pending>, as
 * on a bare Kubernetes); ExternalName: only a DNS alias (CNAME) to spec.externalName.
 */
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  /** Required when the Service has more than one port; the SRV record's and the slice's port name. */
  name?: string;
  protocol?: 'TCP' | 'UDP';
  /** The port on the cluster IP. */
  port: number;
  /** The pods' port: a number, or the name of a container port (each pod resolves it). Default: port. */
  targetPort?: number | string;
  /** NodePort/LoadBalancer: the port on every node's addresses, 30000-32767, allocated when absent. */
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: ServiceType;
  /** Pods with these labels are the endpoints; absent: endpoints are managed by someone else. */
  selector?: Record<string, string>;
  ports?: ServicePort[];
  /** Allocated from the service CIDR when absent; "None": headless (DNS names the pods). Immutable. */
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: 'IPv4'[];
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  /** ClientIP: one client's connections go to one endpoint for sessionAffinityConfig's timeout. */
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  /** Local: traffic from a node's pods goes only to that node's endpoints. */
  internalTrafficPolicy?: 'Cluster' | 'Local';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** Endpoints count whether or not they are ready (StatefulSets' peer discovery). */
  publishNotReadyAddresses?: boolean;
  externalName?: string;
  externalIPs?: string[];
  loadBalancerIP?: string;
  allocateLoadBalancerNodePorts?: boolean;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] };
}

export interface Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: ServiceStatus;
}

export interface EndpointConditions {
  /** Serving and not terminating: receives new connections. */
  ready?: boolean;
  /** Passing readiness, terminating or not. */
  serving?: boolean;
  /** Being deleted (deletionTimestamp set). */
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  /** The pod's hostname when it sets hostname and its subdomain is the Service (DNS pod records). */
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
}

export interface EndpointPort {
  name?: string;
  protocol?: 'TCP' | 'UDP';
  /** The resolved target port; absent when the port could not be resolved for these endpoints. */
  port?: number;
  appProtocol?: string;
}

/** Part of a Service's endpoints (at most 100 per slice), labelled kubernetes.io/service-name. */
export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/**
 * v1 Endpoints: a Service's addresses as Kubernetes' first API wrote them. berth keeps its
 * endpoints in EndpointSlices; an Endpoints object a user writes for a Service without a selector
 * (addresses outside the cluster) is mirrored into slices, as Kubernetes' mirroring controller does.
 */
export interface Endpoints {
  apiVersion: 'v1';
  kind: 'Endpoints';
  metadata: ObjectMeta;
  subsets?: EndpointSubset[];
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP'; appProtocol?: string }>;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

/** The label naming a slice's Service, and the one naming who manages it. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const ENDPOINTSLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';

// --- apiextensions.k8s.io/v1 CustomResourceDefinition (the catalog of custom kinds: custom-resources.ts) ---

/** An OpenAPI v3 schema as Kubernetes' structural schemas write it (JSONSchemaProps). */
export interface JsonSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchemaProps>;
  additionalProperties?: boolean | JsonSchemaProps;
  items?: JsonSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  multipleOf?: number;
  allOf?: JsonSchemaProps[];
  anyOf?: JsonSchemaProps[];
  oneOf?: JsonSchemaProps[];
  not?: JsonSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

/** A CEL rule on a schema node: `self` is the value there, `oldSelf` the stored one on an update. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JsonSchemaProps };
  subresources?: {
    status?: Record<string, never>;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: Array<{ jsonPath: string }>;
}

export interface CustomResourceDefinitionNames {
  kind: string;
  plural: string;
  singular?: string;
  shortNames?: string[];
  listKind?: string;
  categories?: string[];
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: ObjectMeta;
  spec: {
    group: string;
    names: CustomResourceDefinitionNames;
    scope: 'Namespaced' | 'Cluster';
    versions: CustomResourceDefinitionVersion[];
    conversion?: { strategy: 'None' | 'Webhook'; webhook?: Record<string, unknown> };
    preserveUnknownFields?: boolean;
  };
  status?: {
    conditions?: Condition[];
    acceptedNames?: CustomResourceDefinitionNames;
    storedVersions?: string[];
  };
}

/** An object of a custom kind: any fields beyond the metadata, as its definition's schema allows. */
export interface CustomObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type Resource = Namespace | Pod | Deployment | ReplicaSet | Node | Lease | Event | Role | ClusterRole | RoleBinding | ClusterRoleBinding | ServiceAccount
  | Service | EndpointSlice | ConfigMap | Secret | Job | DaemonSet | CronJob | StatefulSet
  | PersistentVolumeClaim | PersistentVolume | StorageClass | PriorityClass | PodDisruptionBudget | LimitRange | ResourceQuota
  | ValidatingAdmissionPolicy | ValidatingAdmissionPolicyBinding | ControllerRevision | ReplicationController | NetworkPolicy | Ingress | IngressClass | HorizontalPodAutoscaler
  | ValidatingWebhookConfiguration | MutatingWebhookConfiguration | VolumeAttributesClass | CertificateSigningRequest | CustomResourceDefinition | Endpoints;
export type Kind = Resource['kind'];

/** What each kind is called, where it lives, and whether it has a namespace. */
export interface KindInfo {
  kind: Kind;
  apiVersion: Resource['apiVersion'];
  /** Lower-case plural, as in the store key and `berth get pods`. */
  plural: string;
  /** Names and short names a user may type (`po`, `deploy`, `rs`, `no`, `ns`, `ev`). */
  aliases: string[];
  namespaced: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Namespace', apiVersion: 'v1', plural: 'namespaces', aliases: ['namespace', 'ns'], namespaced: false },
  { kind: 'Pod', apiVersion: 'v1', plural: 'pods', aliases: ['pod', 'po'], namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', plural: 'deployments', aliases: ['deployment', 'deploy'], namespaced: true },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', plural: 'replicasets', aliases: ['replicaset', 'rs'], namespaced: true },
  { kind: 'ReplicationController', apiVersion: 'v1', plural: 'replicationcontrollers', aliases: ['replicationcontroller', 'rc'], namespaced: true },
  { kind: 'Job', apiVersion: 'batch/v1', plural: 'jobs', aliases: ['job'], namespaced: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', plural: 'cronjobs', aliases: ['cronjob', 'cj'], namespaced: true },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', plural: 'daemonsets', aliases: ['daemonset', 'ds'], namespaced: true },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', plural: 'statefulsets', aliases: ['statefulset', 'sts'], namespaced: true },
  { kind: 'PersistentVolumeClaim', apiVersion: 'v1', plural: 'persistentvolumeclaims', aliases: ['persistentvolumeclaim', 'pvc'], namespaced: true },
  { kind: 'PersistentVolume', apiVersion: 'v1', plural: 'persistentvolumes', aliases: ['persistentvolume', 'pv'], namespaced: false },
  { kind: 'StorageClass', apiVersion: 'storage.k8s.io/v1', plural: 'storageclasses', aliases: ['storageclass', 'sc'], namespaced: false },
  { kind: 'CertificateSigningRequest', apiVersion: 'certificates.k8s.io/v1', plural: 'certificatesigningrequests', aliases: ['certificatesigningrequest', 'csr'], namespaced: false },
  { kind: 'VolumeAttributesClass', apiVersion: 'storage.k8s.io/v1', plural: 'volumeattributesclasses', aliases: ['volumeattributesclass', 'vac'], namespaced: false },
  { kind: 'PriorityClass', apiVersion: 'scheduling.k8s.io/v1', plural: 'priorityclasses', aliases: ['priorityclass', 'pc'], namespaced: false },
  { kind: 'LimitRange', apiVersion: 'v1', plural: 'limitranges', aliases: ['limitrange', 'limits'], namespaced: true },
  { kind: 'ResourceQuota', apiVersion: 'v1', plural: 'resourcequotas', aliases: ['resourcequota', 'quota'], namespaced: true },
  { kind: 'ControllerRevision', apiVersion: 'apps/v1', plural: 'controllerrevisions', aliases: ['controllerrevision'], namespaced: true },
  { kind: 'ValidatingAdmissionPolicy', apiVersion: 'admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicies', aliases: ['validatingadmissionpolicy', 'vap'], namespaced: false },
  { kind: 'ValidatingAdmissionPolicyBinding', apiVersion: 'admissionregistration.k8s.io/v1', plural: 'validatingadmissionpolicybindings', aliases: ['validatingadmissionpolicybinding', 'vapb'], namespaced: false },
  { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', plural: 'horizontalpodautoscalers', aliases: ['horizontalpodautoscaler', 'hpa'], namespaced: true },
  { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', plural: 'ingresses', aliases: ['ingress', 'ing'], namespaced: true },
  { kind: 'IngressClass', apiVersion: 'networking.k8s.io/v1', plural: 'ingressclasses', aliases: ['ingressclass'], namespaced: false },
  { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies', aliases: ['networkpolicy', 'netpol'], namespaced: true },
  { kind: 'ValidatingWebhookConfiguration', apiVersion: 'admissionregistration.k8s.io/v1', plural: 'validatingwebhookconfigurations', aliases: ['validatingwebhookconfiguration'], namespaced: false },
  { kind: 'MutatingWebhookConfiguration', apiVersion: 'admissionregistration.k8s.io/v1', plural: 'mutatingwebhookconfigurations', aliases: ['mutatingwebhookconfiguration'], namespaced: false },
  { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', plural: 'poddisruptionbudgets', aliases: ['poddisruptionbudget', 'pdb'], namespaced: true },
  { kind: 'Node', apiVersion: 'v1', plural: 'nodes', aliases: ['node', 'no'], namespaced: false },
  { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', plural: 'leases', aliases: ['lease'], namespaced: true },
  { kind: 'Event', apiVersion: 'v1', plural: 'events', aliases: ['event', 'ev'], namespaced: true },
  { kind: 'Service', apiVersion: 'v1', plural: 'services', aliases: ['service', 'svc'], namespaced: true },
  { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', aliases: ['endpointslice'], namespaced: true },
  { kind: 'Endpoints', apiVersion: 'v1', plural: 'endpoints', aliases: ['ep'], namespaced: true },
  { kind: 'ConfigMap', apiVersion: 'v1', plural: 'configmaps', aliases: ['configmap', 'cm'], namespaced: true },
  { kind: 'Secret', apiVersion: 'v1', plural: 'secrets', aliases: ['secret'], namespaced: true },
  { kind: 'ServiceAccount', apiVersion: 'v1', plural: 'serviceaccounts', aliases: ['serviceaccount', 'sa'], namespaced: true },
  { kind: 'Role', apiVersion: RBAC_API_VERSION, plural: 'roles', aliases: ['role'], namespaced: true },
  { kind: 'ClusterRole', apiVersion: RBAC_API_VERSION, plural: 'clusterroles', aliases: ['clusterrole'], namespaced: false },
  { kind: 'RoleBinding', apiVersion: RBAC_API_VERSION, plural: 'rolebindings', aliases: ['rolebinding'], namespaced: true },
  { kind: 'ClusterRoleBinding', apiVersion: RBAC_API_VERSION, plural: 'clusterrolebindings', aliases: ['clusterrolebinding'], namespaced: false },
  { kind: 'CustomResourceDefinition', apiVersion: 'apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', aliases: ['customresourcedefinition', 'crd', 'crds'], namespaced: false },
];


/** Namespace of node leases, as Kubernetes' kube-node-lease. */
export const NODE_LEASE_NAMESPACE = 'berth-node-lease';
