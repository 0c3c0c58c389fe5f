// What must hold once a chaos run's faults are healed, as pure checks over what the run recorded
// and observed: each returns the violations it found, in words that name the object and the host.

/** One `berth apply` of a Deployment's version, and whether the CLI said it was done (exit 0). */
export interface ApplyAttempt {
  deployment: string;
  version: number;
  acknowledged: boolean;
}

/** A Deployment as stored: its replicas and the version its template carries. */
export interface StoredDeployment {
  name: string;
  replicas: number;
  version: number;
}

/** A pod as stored, with what the checks need. */
export interface StoredPod {
  name: string;
  uid: string;
  nodeName: string;
  phase: string;
  deleting: boolean;
  /** The Deployment it belongs to (its app label) and its template's version, for workload pods. */
  deployment?: string;
  version?: number;
  /** For a probe pod: how its container ended, if it has. */
  terminated?: { exitCode: number; reason: string };
  probe: boolean;
}

/** What one host really has, read from the host itself rather than from the store. */
export interface HostObservation {
  node: string;
  /** Pod containers that exist on it (any state), by their pod's labels. */
  containers: Array<{ pod: string; uid: string; running: boolean }>;
  /** Pod uids that have a cgroup on it. */
  cgroups: string[];
  /** Pod uids that have a network namespace on it. */
  netns: string[];
}

/**
 * Every acknowledged apply is in the store: a Deployment holds the version of its last
 * acknowledged apply, or of a later attempt whose acknowledgement was lost (the CLI failed after
 * the write), never an older one nor one nobody applied.
 */
export function checkAcknowledgedApplies(attempts: ApplyAttempt[], stored: StoredDeployment[]): string[] {
  const violations: string[] = [];
  const names = new Set(attempts.map((a) => a.deployment));
  for (const name of names) {
    const mine = attempts.filter((a) => a.deployment === name);
    const lastAcknowledged = Math.max(0, ...mine.filter((a) => a.acknowledged).map((a) => a.version));
    const deployment = stored.find((d) => d.name === name);
    if (!deployment) {
      if (lastAcknowledged > 0) violations.push(`deployment ${name}: acknowledged version ${lastAcknowledged} but not in the store`);
      continue;
    }
    if (deployment.version < lastAcknowledged) {
      violations.push(`deployment ${name}: the store has version ${deployment.version}, older than the acknowledged version ${lastAcknowledged}`);
    } else if (!mine.some((a) => a.version === deployment.version)) {
      violations.push(`deployment ${name}: the store has version ${deployment.version}, which was never applied`);
    }
  }
  return violations;
}

/** Each Deployment has exactly its replicas Running, all on its current template, and nothing else. */
export function checkConverged(deployments: StoredDeployment[], pods: StoredPod[]): string[] {
  const violations: string[] = [];
  for (const d of deployments) {
    const mine = pods.filter((p) => p.deployment === d.name);
    const current = mine.filter((p) => !p.deleting && p.phase === 'Running' && p.version === d.version);
    const others = mine.filter((p) => !current.includes(p));
    if (current.length !== d.replicas) violations.push(`deployment ${d.name}: ${current.length} of ${d.replicas} replicas Running on version ${d.version}`);
    for (const p of others) {
      violations.push(`deployment ${d.name}: pod ${p.name} is ${p.deleting ? 'terminating' : p.phase} on version ${p.version ?? '?'} (want version ${d.version})`);
    }
  }
  return violations;
}

/**
 * Where things run: no pod's containers run on two hosts, a pod runs only on the node it is bound
 * to, every container, cgroup and network namespace on a host belongs to a pod bound there, and a
 * pod the store calls Running really runs there.
 */
export function checkPlacement(pods: StoredPod[], hosts: HostObservation[]): string[] {
  const violations: string[] = [];
  const runningOn = new Map<string, string[]>();
  for (const host of hosts) {
    for (const c of host.containers) {
      const pod = pods.find((p) => p.uid === c.uid);
      if (!pod) {
        violations.push(`host ${host.node}: orphan container of pod ${c.pod} (uid ${c.uid}), which no longer exists`);
        continue;
      }
      if (pod.nodeName !== host.node) violations.push(`host ${host.node}: a container of pod ${pod.name}, which is bound to ${pod.nodeName || 'no node'}`);
      if (c.running) runningOn.set(pod.uid, [...new Set([...(runningOn.get(pod.uid) ?? []), host.node])]);
    }
    for (const [what, uids] of [['cgroup', host.cgroups], ['network namespace', host.netns]] as const) {
      for (const uid of uids) {
        const pod = pods.find((p) => p.uid === uid);
        if (!pod) violations.push(`host ${host.node}: orphan ${what} of pod uid ${uid}, which no longer exists`);
        else if (pod.nodeName !== host.node) violations.push(`host ${host.node}: a ${what} of pod ${pod.name}, which is bound to ${pod.nodeName || 'no node'}`);
      }
    }
  }
  for (const p of pods.filter((p) => p.phase === 'Running' && !p.deleting)) {
    if (!(runningOn.get(p.uid) ?? []).includes(p.nodeName)) violations.push(`pod ${p.name}: Running in the store, but no container of it runs on ${p.nodeName}`);
  }
  for (const [uid, nodes] of runningOn) {
    if (nodes.length > 1) violations.push(`pod ${pods.find((p) => p.uid === uid)!.name}: containers running on ${nodes.join(' and ')}`);
  }
  return violations;
}

/**
 * Probe pods (`sh -c 'exit 3'`, restartPolicy Never) that ended report exit 3, reason Error: a
 * start that raced its root filesystem once reported exit 127 StartError.
 */
export function checkProbeExits(pods: StoredPod[]): string[] {
  return pods
    .filter((p) => p.probe && p.terminated && (p.terminated.exitCode !== 3 || p.terminated.reason !== 'Error'))
    .map((p) => `probe pod ${p.name} on ${p.nodeName}: exited ${p.terminated!.exitCode} (${p.terminated!.reason}), want 3 (Error)`);
}
