// The Pod Security Standards' checks, one function each, worded exactly as Kubernetes words them
// (its reasons and details are what users search for). Each returns allowed, or a reason and a
// detail naming the containers and values at fault. Lists that Kubernetes keeps in sets are sorted
// as it sorts them (byte order: hostPort "8080" before "9"); lists it keeps in visit order stay so.

import type { Check, CheckResult, ContainerView, HandlerView, PodSpecView } from './types';

const ALLOWED: CheckResult = { allowed: true };

const forbidden = (reason: string, detail: string): CheckResult => ({ allowed: false, reason, detail });

const pluralize = (singular: string, plural: string, count: number) => (count === 1 ? singular : plural);

/** "a", "b" as Kubernetes quotes lists: `"a", "b"`. */
const joinQuote = (items: readonly string[]) => (items.length === 0 ? '' : `"${items.join('", "')}"`);

/** Go's sets.List(): distinct, sorted by bytes. */
const sortedSet = (items: Iterable<string>) => [...new Set(items)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

const containersOf = (name: readonly string[]) => pluralize('container', 'containers', name.length);

/** "pod and containers "a", "b"": who set a bad value. */
function setters(pod: boolean, containers: readonly string[]): string[] {
  const out = pod ? ['pod'] : [];
  if (containers.length > 0) out.push(`${containersOf(containers)} ${joinQuote(containers)}`);
  return out;
}

/** Init containers, then containers, then ephemeral containers, as Kubernetes visits them. */
function visitContainers(spec: PodSpecView, visit: (c: ContainerView) => void): void {
  for (const c of spec.initContainers ?? []) visit(c);
  for (const c of spec.containers ?? []) visit(c);
  for (const c of spec.ephemeralContainers ?? []) visit(c);
}

// ---- baseline ----

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range', 'net.ipv4.ip_unprivileged_port_start',
]);

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);

const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

const goodProfileType = (type: string) => type === 'RuntimeDefault' || type === 'Localhost';

function appArmorProfile(metadata: Parameters<Check['check']>[0], spec: PodSpecView): CheckResult {
  const badValues = new Set<string>();
  const bad: string[] = [];
  const podType = spec.securityContext?.appArmorProfile?.type;
  if (podType !== undefined && !goodProfileType(podType)) {
    bad.push('pod');
    badValues.add(podType);
  }
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    const type = c.securityContext?.appArmorProfile?.type;
    if (type !== undefined && !goodProfileType(type)) {
      containers.push(c.name);
      badValues.add(type);
    }
  });
  if (containers.length > 0) bad.push(`${containersOf(containers)} ${joinQuote(containers)}`);
  // The deprecated per-container annotations: runtime/default, localhost/* or empty only.
  const annotations = Object.entries(metadata.annotations ?? {})
    .filter(([k, v]) => k.startsWith(APPARMOR_ANNOTATION_PREFIX) && !(v === '' || v === 'runtime/default' || v.startsWith('localhost/')))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .sort();
  const values = [...sortedSet(badValues), ...annotations];
  if (annotations.length > 0) bad.push(pluralize('annotation', 'annotations', annotations.length));
  if (bad.length === 0) return ALLOWED;
  return forbidden(
    pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
    `${bad.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

function capabilitiesBaseline(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  const caps = new Set<string>();
  visitContainers(spec, (c) => {
    const added = (c.securityContext?.capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (added.length === 0) return;
    containers.push(c.name);
    for (const cap of added) caps.add(cap);
  });
  if (containers.length === 0) return ALLOWED;
  return forbidden('non-default capabilities',
    `${containersOf(containers)} ${joinQuote(containers)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
}

function hostNamespaces(_m: unknown, spec: PodSpecView): CheckResult {
  // Kubernetes' words and order: "hostNetwork=true, hostPID=true, hostIPC=true".
  const shared = [spec.hostNetwork && 'hostNetwork=true', spec.hostPID && 'hostPID=true', spec.hostIPC && 'hostIPC=true'].filter((s): s is string => Boolean(s));
  return shared.length === 0 ? ALLOWED : forbidden('host namespaces', shared.join(', '));
}

function hostPathVolumes(_m: unknown, spec: PodSpecView): CheckResult {
  const volumes = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined && v.hostPath !== null).map((v) => v.name);
  if (volumes.length === 0) return ALLOWED;
  return forbidden('hostPath volumes', `${pluralize('volume', 'volumes', volumes.length)} ${joinQuote(volumes)}`);
}

function hostPorts(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  const ports = new Set<string>();
  visitContainers(spec, (c) => {
    const used = (c.ports ?? []).filter((p) => p.hostPort !== undefined && p.hostPort !== 0).map((p) => String(p.hostPort));
    if (used.length === 0) return;
    containers.push(c.name);
    for (const p of used) ports.add(p);
  });
  if (containers.length === 0) return ALLOWED;
  const list = sortedSet(ports);
  return forbidden('hostPort', `${containersOf(containers)} ${joinQuote(containers)} ${pluralize('uses', 'use', containers.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`);
}

function hostProbesAndHostLifecycle(_m: unknown, spec: PodSpecView): CheckResult {
  const containers = new Set<string>();
  const hosts = new Set<string>();
  const look = (name: string, handler: HandlerView | undefined) => {
    for (const host of [handler?.httpGet?.host, handler?.tcpSocket?.host]) {
      if (!host) continue;
      containers.add(name);
      hosts.add(host);
    }
  };
  visitContainers(spec, (c) => {
    look(c.name, c.livenessProbe);
    look(c.name, c.readinessProbe);
    look(c.name, c.startupProbe);
    look(c.name, c.lifecycle?.postStart);
    look(c.name, c.lifecycle?.preStop);
  });
  if (containers.size === 0) return ALLOWED;
  return forbidden('probe or lifecycle host',
    `${pluralize('container', 'containers', containers.size)} ${joinQuote(sortedSet(containers))} ${pluralize('uses', 'use', containers.size)} ${pluralize('probe or lifecycle host', 'probe or lifecycle hosts', hosts.size)} ${joinQuote(sortedSet(hosts))}`);
}

function privileged(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.privileged === true) containers.push(c.name);
  });
  if (containers.length === 0) return ALLOWED;
  return forbidden('privileged', `${containersOf(containers)} ${joinQuote(containers)} must not set securityContext.privileged=true`);
}

/** Kubernetes relaxes this for pods in a user namespace (hostUsers: false); berth runs none. */
function procMount(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  const types = new Set<string>();
  visitContainers(spec, (c) => {
    const mount = c.securityContext?.procMount;
    if (mount === undefined || mount === 'Default') return;
    containers.push(c.name);
    types.add(mount);
  });
  if (containers.length === 0) return ALLOWED;
  return forbidden('procMount', `${containersOf(containers)} ${joinQuote(containers)} must not set securityContext.procMount to ${joinQuote(sortedSet(types))}`);
}

function seLinuxOptions(_m: unknown, spec: PodSpecView): CheckResult {
  const badTypes = new Set<string>();
  let setUser = false;
  let setRole = false;
  const valid = (o: { user?: string; role?: string; type?: string }) => {
    let ok = true;
    if (!SELINUX_TYPES.has(o.type ?? '')) {
      ok = false;
      badTypes.add(o.type ?? '');
    }
    if (o.user) {
      ok = false;
      setUser = true;
    }
    if (o.role) {
      ok = false;
      setRole = true;
    }
    return ok;
  };
  const podOptions = spec.securityContext?.seLinuxOptions;
  const podBad = podOptions !== undefined && !valid(podOptions);
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    const o = c.securityContext?.seLinuxOptions;
    if (o !== undefined && !valid(o)) containers.push(c.name);
  });
  const bad = setters(podBad, containers);
  if (bad.length === 0) return ALLOWED;
  // Kubernetes names a user or role only alongside a bad type; its wording is kept as it is.
  const data: string[] = [];
  if (badTypes.size > 0) {
    data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(sortedSet(badTypes))}`);
    if (setUser) data.push('user may not be set');
    if (setRole) data.push('role may not be set');
  }
  return forbidden('seLinuxOptions', `${bad.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
}

function seccompProfileBaseline(_m: unknown, spec: PodSpecView): CheckResult {
  const values = new Set<string>();
  const podType = spec.securityContext?.seccompProfile?.type;
  const podBad = podType !== undefined && !goodProfileType(podType);
  if (podBad) values.add(podType);
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    const type = c.securityContext?.seccompProfile?.type;
    if (type === undefined || goodProfileType(type)) return;
    containers.push(c.name);
    values.add(type);
  });
  const bad = setters(podBad, containers);
  if (bad.length === 0) return ALLOWED;
  return forbidden('seccompProfile', `${bad.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`);
}

function sysctls(_m: unknown, spec: PodSpecView): CheckResult {
  const names = (spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
  return names.length === 0 ? ALLOWED : forbidden('forbidden sysctls', names.join(', '));
}

function windowsHostProcess(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.windowsOptions?.hostProcess === true) containers.push(c.name);
  });
  const bad = setters(spec.securityContext?.windowsOptions?.hostProcess === true, containers);
  if (bad.length === 0) return ALLOWED;
  return forbidden('hostProcess', `${bad.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`);
}

// ---- restricted ----

function allowPrivilegeEscalation(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.allowPrivilegeEscalation !== false) containers.push(c.name);
  });
  if (containers.length === 0) return ALLOWED;
  return forbidden('allowPrivilegeEscalation != false', `${containersOf(containers)} ${joinQuote(containers)} must set securityContext.allowPrivilegeEscalation=false`);
}

function capabilitiesRestricted(_m: unknown, spec: PodSpecView): CheckResult {
  const missingDropAll: string[] = [];
  const adding: string[] = [];
  const caps = new Set<string>();
  visitContainers(spec, (c) => {
    const capabilities = c.securityContext?.capabilities;
    if (!capabilities) {
      missingDropAll.push(c.name);
      return;
    }
    if (!(capabilities.drop ?? []).includes('ALL')) missingDropAll.push(c.name);
    const added = (capabilities.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) {
      adding.push(c.name);
      for (const cap of added) caps.add(cap);
    }
  });
  const details: string[] = [];
  if (missingDropAll.length > 0) details.push(`${containersOf(missingDropAll)} ${joinQuote(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  if (adding.length > 0) details.push(`${containersOf(adding)} ${joinQuote(adding)} must not include ${joinQuote(sortedSet(caps))} in securityContext.capabilities.add`);
  return details.length === 0 ? ALLOWED : forbidden('unrestricted capabilities', details.join('; '));
}

/** Beyond these, a volume source could reach the host or a remote system on the node's behalf. */
const RESTRICTED_VOLUME_SOURCES_ALLOWED = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const RESTRICTED_VOLUME_SOURCES_NAMED = new Set([
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'nfs', 'iscsi', 'glusterfs', 'rbd', 'flexVolume',
  'cinder', 'cephfs', 'flocker', 'fc', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'portworxVolume', 'scaleIO', 'storageos',
]);

function restrictedVolumes(_m: unknown, spec: PodSpecView): CheckResult {
  const volumes: string[] = [];
  const types = new Set<string>();
  for (const v of spec.volumes ?? []) {
    const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
    if (sources.some((s) => RESTRICTED_VOLUME_SOURCES_ALLOWED.has(s))) continue;
    volumes.push(v.name);
    types.add(sources.find((s) => RESTRICTED_VOLUME_SOURCES_NAMED.has(s)) ?? 'unknown');
  }
  if (volumes.length === 0) return ALLOWED;
  return forbidden('restricted volume types',
    `${pluralize('volume', 'volumes', volumes.length)} ${joinQuote(volumes)} ${pluralize('uses', 'use', volumes.length)} ${pluralize('restricted volume type', 'restricted volume types', types.size)} ${joinQuote(sortedSet(types))}`);
}

function runAsNonRoot(_m: unknown, spec: PodSpecView): CheckResult {
  const podValue = spec.securityContext?.runAsNonRoot;
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  visitContainers(spec, (c) => {
    const value = c.securityContext?.runAsNonRoot;
    if (value === false) explicitlyBad.push(c.name);
    else if (value === undefined && podValue !== true) implicitlyBad.push(c.name);
  });
  const bad = setters(podValue === false, explicitlyBad);
  if (bad.length > 0) return forbidden('runAsNonRoot != true', `${bad.join(' and ')} must not set securityContext.runAsNonRoot=false`);
  if (implicitlyBad.length > 0) {
    return forbidden('runAsNonRoot != true', `pod or ${containersOf(implicitlyBad)} ${joinQuote(implicitlyBad)} must set securityContext.runAsNonRoot=true`);
  }
  return ALLOWED;
}

function runAsUser(_m: unknown, spec: PodSpecView): CheckResult {
  const containers: string[] = [];
  visitContainers(spec, (c) => {
    if (c.securityContext?.runAsUser === 0) containers.push(c.name);
  });
  const bad = setters(spec.securityContext?.runAsUser === 0, containers);
  return bad.length === 0 ? ALLOWED : forbidden('runAsUser=0', `${bad.join(' and ')} must not set runAsUser=0`);
}

function seccompProfileRestricted(_m: unknown, spec: PodSpecView): CheckResult {
  const values = new Set<string>();
  const podType = spec.securityContext?.seccompProfile?.type;
  const podBad = podType !== undefined && !goodProfileType(podType);
  if (podBad) values.add(podType);
  const podSet = podType !== undefined && !podBad;
  const explicitlyBad: string[] = [];
  const implicitlyBad: string[] = [];
  visitContainers(spec, (c) => {
    const type = c.securityContext?.seccompProfile?.type;
    if (type !== undefined) {
      if (!goodProfileType(type)) {
        explicitlyBad.push(c.name);
        values.add(type);
      }
    } else if (!podSet) {
      implicitlyBad.push(c.name);
    }
  });
  const bad = setters(podBad, explicitlyBad);
  if (bad.length > 0) return forbidden('seccompProfile', `${bad.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedSet(values))}`);
  if (implicitlyBad.length > 0) {
    return forbidden('seccompProfile',
      `pod or ${containersOf(implicitlyBad)} ${joinQuote(implicitlyBad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  return ALLOWED;
}

/**
 * Every check, baseline first then restricted, each group in the order of Kubernetes' check ids
 * (its messages list violations in that order).
 */
export const CHECKS: readonly Check[] = [
  { id: 'appArmorProfile', level: 'baseline', check: appArmorProfile },
  { id: 'capabilities_baseline', level: 'baseline', check: capabilitiesBaseline },
  { id: 'hostNamespaces', level: 'baseline', check: hostNamespaces },
  { id: 'hostPathVolumes', level: 'baseline', check: hostPathVolumes },
  { id: 'hostPorts', level: 'baseline', check: hostPorts },
  { id: 'hostProbesAndHostLifecycle', level: 'baseline', check: hostProbesAndHostLifecycle },
  { id: 'privileged', level: 'baseline', check: privileged },
  { id: 'procMount', level: 'baseline', check: procMount },
  { id: 'seLinuxOptions', level: 'baseline', check: seLinuxOptions },
  { id: 'seccompProfile_baseline', level: 'baseline', check: seccompProfileBaseline },
  { id: 'sysctls', level: 'baseline', check: sysctls },
  { id: 'windowsHostProcess', level: 'baseline', check: windowsHostProcess },
  { id: 'allowPrivilegeEscalation', level: 'restricted', check: allowPrivilegeEscalation },
  { id: 'capabilities_restricted', level: 'restricted', overrides: ['capabilities_baseline'], check: capabilitiesRestricted },
  { id: 'restrictedVolumes', level: 'restricted', overrides: ['hostPathVolumes'], check: restrictedVolumes },
  { id: 'runAsNonRoot', level: 'restricted', check: runAsNonRoot },
  { id: 'runAsUser', level: 'restricted', check: runAsUser },
  { id: 'seccompProfile_restricted', level: 'restricted', overrides: ['seccompProfile_baseline'], check: seccompProfileRestricted },
];
