// The deployment controller's planner, driven through whole rollouts in a small simulated cluster
// (the planner, the ReplicaSet planner, and a "kubelet" that makes pods ready), with the rolling
// update's bounds checked at every step, plus table cases for Recreate, scaling, pausing,
// rollback, history, progress deadlines and status.

import t from 'tap';
import type { Deployment, Pod, ReplicaSet } from '../../proto/resources';
import {
  plan, templateHash, maxSurge, maxUnavailable, resolveFenceposts, REVISION_ANNOTATION, POD_TEMPLATE_HASH_LABEL,
  REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, type DeploymentAction, type DeploymentPlan,
} from '../../controller/controllers/deployment';
import { sameTemplate } from '../../controller/controllers/deployment/hash';
import { plan as planReplicaSet } from '../../controller/controllers/replicaset';
import { isAvailable, isActive } from '../../controller/controllers/pods';
import { frozen } from '../fixtures/frozen';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();


interface DeploymentOptions {
  replicas?: number;
  image?: string;
  strategy?: Deployment['spec']['strategy'];
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number | undefined;
  paused?: boolean;
}

function deployment(o: DeploymentOptions = {}): Deployment {
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'deploy-uid', generation: 1, creationTimestamp: iso(T0), labels: { app: 'web' } },
    spec: {
      replicas: o.replicas ?? 6,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: o.image ?? 'nginx:1.25', imagePullPolicy: 'IfNotPresent' }], restartPolicy: 'Always', terminationGracePeriodSeconds: 30 },
      },
      strategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      minReadySeconds: o.minReadySeconds ?? 0,
      revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
      paused: o.paused ?? false,
    },
  };
  if (!('progressDeadlineSeconds' in o)) d.spec.progressDeadlineSeconds = 600;
  else if (o.progressDeadlineSeconds !== undefined) d.spec.progressDeadlineSeconds = o.progressDeadlineSeconds;
  return d;
}

const of = <K extends DeploymentAction['type']>(p: DeploymentPlan, type: K) =>
  p.actions.filter((a): a is Extract<DeploymentAction, { type: K }> => a.type === type);
const messages = (p: DeploymentPlan) => of(p, 'event').map((a) => a.event.message);

/** A cluster in miniature: stores objects, runs the planners, makes pods ready. */
class Sim {
  now = T0;
  d: Deployment;
  readonly rs = new Map<string, ReplicaSet>();
  readonly pods = new Map<string, Pod>();
  private seq = 0;
  /** Pods the kubelet will not make ready. */
  broken = (_pod: Pod) => false;
  /** Delete pods gracefully (deletionTimestamp) instead of at once. */
  graceful = false;
  readonly events: string[] = [];

  constructor(d: Deployment) {
    this.d = structuredClone(d);
  }

  get replicaSets(): ReplicaSet[] {
    return [...this.rs.values()];
  }

  /** Change the Deployment's spec as a user would (generation moves). */
  edit(change: (d: Deployment) => void): void {
    change(this.d);
    this.d.metadata.generation = (this.d.metadata.generation ?? 1) + 1;
  }

  deploymentPass(): DeploymentPlan {
    const p = plan(frozen(this.d), frozen(this.replicaSets), frozen([...this.pods.values()]), new Date(this.now));
    for (const a of p.actions) {
      switch (a.type) {
        case 'create-replicaset': {
          const rs = structuredClone(a.replicaSet);
          t.notOk(this.rs.has(rs.metadata.name!), `${rs.metadata.name} does not exist yet`);
          rs.metadata.uid = `rs-uid-${++this.seq}`;
          rs.metadata.creationTimestamp = iso(this.now + this.seq); // distinct, increasing
          rs.metadata.generation = 1;
          this.rs.set(rs.metadata.name!, rs);
          break;
        }
        case 'update-replicaset': {
          const old = this.rs.get(a.replicaSet.metadata.name!)!;
          const rs = structuredClone(a.replicaSet);
          const specChanged = JSON.stringify(old.spec) !== JSON.stringify(rs.spec);
          rs.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
          rs.status = old.status;
          this.rs.set(rs.metadata.name!, rs);
          break;
        }
        case 'delete-replicaset':
          this.rs.delete(a.replicaSet.name);
          break;
        case 'annotate-deployment':
          this.d.metadata.annotations = { ...this.d.metadata.annotations, ...a.annotations };
          break;
        case 'update-deployment-status':
          this.d.status = structuredClone(a.status);
          break;
        case 'event':
          this.events.push(a.event.message);
          break;
      }
    }
    return p;
  }

  rsPass(): void {
    for (const rs of this.replicaSets) {
      const owned = [...this.pods.values()].filter((p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid);
      const p = planReplicaSet(frozen(rs), frozen(owned), new Date(this.now), () => `p${++this.seq}`);
      for (const a of p.actions) {
        if (a.type === 'create-pod') {
          const pod = structuredClone(a.pod);
          pod.metadata.uid = `pod-uid-${++this.seq}`;
          pod.metadata.creationTimestamp = iso(this.now);
          this.pods.set(pod.metadata.name!, pod);
        } else if (a.type === 'delete-pod') {
          if (this.graceful) this.pods.get(a.pod.name)!.metadata.deletionTimestamp = iso(this.now);
          else this.pods.delete(a.pod.name);
        } else if (a.type === 'update-replicaset-status') {
          this.rs.get(a.replicaSet.name)!.status = structuredClone(a.status);
        }
      }
    }
  }

  /** Pending pods start and turn ready; pods being deleted go away. */
  kubeletPass(): void {
    for (const [name, pod] of this.pods) {
      if (pod.metadata.deletionTimestamp) {
        this.pods.delete(name);
        continue;
      }
      if (pod.status?.phase === 'Pending' && !this.broken(pod)) {
        pod.spec.nodeName = 'node-1';
        pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(this.now) }] };
      }
    }
  }

  availablePods(): number {
    return [...this.pods.values()].filter((p) => isActive(p) && isAvailable(p, this.d.spec.minReadySeconds ?? 0, new Date(this.now))).length;
  }

  activePods(): number {
    return [...this.pods.values()].filter(isActive).length;
  }

  specTotal(): number {
    return this.replicaSets.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
  }

  /** The ReplicaSet for the Deployment's current template. */
  newRS(): ReplicaSet | undefined {
    return this.replicaSets.find((rs) => sameTemplate(rs.spec.template, this.d.spec.template));
  }

  complete(): boolean {
    const s = this.d.status ?? {};
    const r = this.d.spec.replicas;
    const progressing = s.conditions?.find((c) => c.type === 'Progressing');
    return s.updatedReplicas === r && s.replicas === r && s.availableReplicas === r && progressing?.reason === 'NewReplicaSetAvailable'
      && this.replicaSets.every((rs) => rs === this.newRS() || rs.spec.replicas === 0);
  }

  /** Run deployment, ReplicaSet and kubelet passes until the rollout completes; calls check after each. */
  rollout(check: (stage: string) => void = () => {}, maxSteps = 40): number {
    for (let step = 1; step <= maxSteps; step++) {
      this.deploymentPass();
      check(`step ${step} after deployment pass`);
      this.rsPass();
      check(`step ${step} after replicaset pass`);
      this.kubeletPass();
      check(`step ${step} after kubelet pass`);
      this.now += 1000;
      if (this.complete()) return step;
    }
    throw new Error('rollout did not complete');
  }
}

/** A Sim whose Deployment is fully rolled out at revision 1. */
function steady(o: DeploymentOptions = {}): Sim {
  const sim = new Sim(deployment(o));
  sim.rollout();
  sim.deploymentPass(); // settle status
  return sim;
}

t.test('templateHash: stable, order-blind, ignores pod-template-hash, safe characters', async (t) => {
  const tpl = deployment().spec.template;
  const h = templateHash(tpl);
  t.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  t.equal(templateHash(structuredClone(tpl)), h, 'same template, same hash');
  const reordered = { spec: { restartPolicy: 'Always' as const, terminationGracePeriodSeconds: 30, containers: [{ imagePullPolicy: 'IfNotPresent' as const, image: 'nginx:1.25', name: 'web' }] }, metadata: { labels: { app: 'web' } } };
  t.equal(templateHash(reordered), h, 'key order does not matter');
  t.equal(templateHash({ ...tpl, metadata: { labels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: 'x' } } }), h, 'the hash label is ignored');
  t.equal(templateHash({ ...tpl, metadata: { ...tpl.metadata, annotations: {} } }), h, 'an empty map is no map');
  t.not(templateHash(deployment({ image: 'nginx:1.26' }).spec.template), h, 'another image, another hash');
  t.not(templateHash(tpl, 1), h, 'a salt changes it');
  t.equal(templateHash(tpl), 'zw5cb4gc22', 'golden: the hash must not change between versions (it names ReplicaSets)');
});

t.test('fenceposts: surge rounds up, unavailable rounds down, both 0 means unavailable 1', async (t) => {
  const cases: [number, string | number, string | number, [number, number]][] = [
    [6, '25%', '25%', [2, 1]],
    [4, '25%', '25%', [1, 1]],
    [10, '25%', '25%', [3, 2]],
    [1, '25%', '25%', [1, 0]],
    [3, 0, '10%', [0, 1]], // both 0: unavailable 1
    [10, 1, 0, [1, 0]],
    [10, '0%', '0%', [0, 1]],
    [5, '100%', '100%', [5, 5]],
    [6, 2, 3, [2, 3]],
  ];
  for (const [replicas, surge, unavailable, want] of cases) {
    const d = deployment({ replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } });
    t.same(resolveFenceposts(d, replicas), want, `${replicas} replicas, surge ${surge}, unavailable ${unavailable}`);
  }
  t.equal(maxUnavailable(deployment({ replicas: 0 })), 0, 'nothing may be unavailable of nothing');
  t.equal(maxUnavailable(deployment({ replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } } })), 2, 'at most replicas');
  t.equal(maxSurge(deployment({ strategy: { type: 'Recreate' } })), 0);
  t.equal(maxUnavailable(deployment({ strategy: { type: 'Recreate' } })), 0);
  t.throws(() => maxSurge(deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots', maxUnavailable: 1 } } })),
    { message: 'spec.strategy.rollingUpdate.maxSurge: "lots" must be a non-negative integer or a percentage such as "25%"' });
});

t.test('first rollout: creates the revision with everything Kubernetes puts on it', async (t) => {
  const d = deployment({ minReadySeconds: 5 });
  const p = plan(frozen(d), [], [], new Date(T0));
  const [create] = of(p, 'create-replicaset');
  const hash = templateHash(d.spec.template);
  t.ok(create);
  const rs = create!.replicaSet;
  t.equal(rs.metadata.name, `web-${hash}`);
  t.equal(rs.metadata.namespace, 'default');
  t.same(rs.metadata.labels, { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
  t.same(rs.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'deploy-uid', controller: true }]);
  t.same(rs.metadata.annotations, { [REVISION_ANNOTATION]: '1', [DESIRED_REPLICAS_ANNOTATION]: '6', [MAX_REPLICAS_ANNOTATION]: '8' });
  t.same(rs.spec.selector, { matchLabels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash } });
  t.same(rs.spec.template.metadata?.labels, { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash });
  t.same(rs.spec.template.spec, d.spec.template.spec);
  t.equal(rs.spec.replicas, 6, 'nothing old: all 6 at once (within 6 + surge)');
  t.equal(rs.spec.minReadySeconds, 5);
  t.same(messages(p), [`Scaled up replica set web-${hash} to 6`]);
  t.same(of(p, 'annotate-deployment')[0]?.annotations, { [REVISION_ANNOTATION]: '1' });
  const status = of(p, 'update-deployment-status')[0]!.status;
  t.same(status, {
    observedGeneration: 1, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 6,
    conditions: [
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "web-${hash}"`, lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) },
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) },
    ],
  });
  t.same(p.actions.map((a) => a.type), ['create-replicaset', 'annotate-deployment', 'update-deployment-status', 'event'], 'action order');
});

t.test('rolling update of 6 (surge 25%, unavailable 25%): golden steps, bounds held at every step', async (t) => {
  const sim = steady();
  t.ok(sim.complete());
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:1.26'; });
  const shapes: string[] = [];
  const check = (stage: string) => {
    t.ok(sim.specTotal() <= 6 + 2, `${stage}: replica sets total ${sim.specTotal()} <= 8`);
    t.ok(sim.activePods() <= 6 + 2, `${stage}: pods ${sim.activePods()} <= 8`);
    t.ok(sim.availablePods() >= 6 - 1, `${stage}: available ${sim.availablePods()} >= 5`);
  };
  let step = 0;
  const steps = sim.rollout((stage) => {
    check(stage);
    if (stage.endsWith('after deployment pass')) {
      step++;
      shapes.push(`new=${sim.newRS()?.spec.replicas ?? 0} old=${sim.rs.get(oldName)!.spec.replicas}`);
    }
  });
  // Kubernetes' own sequence for 6 replicas, surge 2, unavailable 1, pods ready at once.
  t.same(shapes, ['new=2 old=5', 'new=3 old=5', 'new=3 old=2', 'new=6 old=2', 'new=6 old=0', 'new=6 old=0'], 'golden sequence');
  t.equal(steps, step);
  const newName = sim.newRS()!.metadata.name!;
  t.same(sim.events.slice(-6), [
    `Scaled up replica set ${newName} to 2`, `Scaled down replica set ${oldName} to 5`,
    `Scaled up replica set ${newName} to 3`, `Scaled down replica set ${oldName} to 2`,
    `Scaled up replica set ${newName} to 6`, `Scaled down replica set ${oldName} to 0`,
  ]);
  t.equal(sim.newRS()!.metadata.annotations?.[REVISION_ANNOTATION], '2');
  t.equal(sim.d.metadata.annotations?.[REVISION_ANNOTATION], '2');
  t.equal(sim.d.status?.conditions?.find((c) => c.type === 'Progressing')?.message, `ReplicaSet "${newName}" has successfully progressed.`);
  t.equal(sim.d.status?.observedGeneration, 2);
  const again = sim.deploymentPass();
  t.same(again.actions, [], 'a finished rollout plans nothing');
});

t.test('rolling update with slow, unreliable pods keeps the bounds', async (t) => {
  for (const [replicas, surge, unavailable] of [[6, '25%', '25%'], [10, 3, 0], [5, 0, 2], [3, '50%', '50%'], [1, 1, 0], [7, '30%', '10%']] as const) {
    const sim = steady({ replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } });
    const [s, u] = resolveFenceposts(sim.d, replicas);
    sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
    // Every third new pod is slow: it only turns ready a pass later.
    let n = 0;
    const slow = new Set<string>();
    sim.broken = (pod) => {
      const name = pod.metadata.name!;
      if (slow.has(name)) { slow.delete(name); return false; }
      if (++n % 3 === 0) { slow.add(name); return true; }
      return false;
    };
    let violations = 0;
    sim.rollout(() => {
      if (sim.specTotal() > replicas + s || sim.activePods() > replicas + s || sim.availablePods() < replicas - u) violations++;
    });
    t.equal(violations, 0, `${replicas} replicas, surge ${surge}, unavailable ${unavailable}: within bounds throughout`);
  }
});

t.test('maxUnavailable 0: one surge pod at a time, never below replicas available', async (t) => {
  const sim = steady({ replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  const shapes: string[] = [];
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.rollout((stage) => {
    t.ok(sim.availablePods() >= 4, `${stage}: available ${sim.availablePods()} >= 4`);
    t.ok(sim.specTotal() <= 5, `${stage}: total ${sim.specTotal()} <= 5`);
    if (stage.endsWith('deployment pass')) shapes.push(`${sim.newRS()!.spec.replicas}/${sim.rs.get(oldName)!.spec.replicas}`);
  });
  t.same(shapes, ['1/4', '1/3', '2/3', '2/2', '3/2', '3/1', '4/1', '4/0', '4/0']);
});

t.test('maxUnavailable 0 with new pods that never turn ready: the rollout stops, old pods stay', async (t) => {
  const sim = steady({ replicas: 4, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:broken'; });
  sim.broken = () => true;
  for (let i = 0; i < 5; i++) {
    sim.deploymentPass();
    sim.rsPass();
    sim.kubeletPass();
    sim.now += 1000;
  }
  t.equal(sim.rs.get(oldName)!.spec.replicas, 4, 'old keeps all 4');
  t.equal(sim.newRS()!.spec.replicas, 1, 'new stuck at the surge');
  t.equal(sim.availablePods(), 4);
});

t.test('unhealthy old replicas are scaled down first (they cost no availability)', async (t) => {
  // Old revision: 6 wanted, only 3 available (3 crash-looping); new revision just created.
  const sim = steady();
  const old = sim.replicaSets[0]!;
  const oldPods = [...sim.pods.values()];
  for (const pod of oldPods.slice(0, 3)) pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: iso(sim.now) }] };
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  const p = sim.deploymentPass();
  // maxScaledDown = 8 total - 5 minAvailable - 2 new unavailable = 1: one unhealthy old replica goes.
  t.equal(sim.rs.get(old.metadata.name!)!.spec.replicas, 5);
  t.ok(messages(p).includes(`Scaled down replica set ${old.metadata.name} to 5`));
  sim.rsPass();
  const left = [...sim.pods.values()].filter((pod) => pod.metadata.ownerReferences![0]!.uid === old.metadata.uid);
  t.equal(left.filter((pod) => pod.status?.conditions?.[0]?.status === 'True').length, 3, 'the ReplicaSet removed an unready pod, not a ready one');
});

t.test('Recreate: old revisions to 0 first; the new one only once no old pod is left', async (t) => {
  const sim = steady({ replicas: 3, strategy: { type: 'Recreate' } });
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.graceful = true;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });

  let p = sim.deploymentPass();
  t.equal(sim.rs.get(oldName)!.spec.replicas, 0, 'old scaled to 0');
  t.same(of(p, 'create-replicaset'), [], 'no new revision yet');
  t.same(messages(p), [`Scaled down replica set ${oldName} to 0`]);

  p = sim.deploymentPass();
  t.same(of(p, 'create-replicaset'), [], 'old pods still running: wait');
  sim.rsPass();
  t.equal([...sim.pods.values()].filter((x) => x.metadata.deletionTimestamp).length, 3, 'old pods terminating');
  p = sim.deploymentPass();
  t.same(of(p, 'create-replicaset'), [], 'terminating pods still run: wait');

  sim.kubeletPass(); // they are gone
  p = sim.deploymentPass();
  const [create] = of(p, 'create-replicaset');
  t.equal(create?.replicaSet.spec.replicas, 3, 'new revision at full size in one go');
  t.equal(create?.replicaSet.metadata.annotations?.[REVISION_ANNOTATION], '2');
  sim.rsPass();
  sim.kubeletPass();
  sim.now += 1000;
  sim.deploymentPass();
  t.ok(sim.complete());

  // Old pods that ended (Failed) do not hold the new revision back.
  const sim2 = steady({ replicas: 2, strategy: { type: 'Recreate' } });
  sim2.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim2.deploymentPass();
  for (const pod of sim2.pods.values()) pod.status = { phase: 'Failed' };
  p = sim2.deploymentPass();
  t.equal(of(p, 'create-replicaset').length, 1, 'Failed pods do not count as running');
});

t.test('scaling during a rollout is shared out proportionally (Kubernetes numbers)', async (t) => {
  const sim = steady();
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim.deploymentPass();
  sim.rsPass();
  sim.kubeletPass();
  t.equal(sim.rs.get(oldName)!.spec.replicas, 5);
  t.equal(sim.newRS()!.spec.replicas, 2);

  sim.edit((d) => { d.spec.replicas = 10; });
  let p = sim.deploymentPass();
  // allowed 10 + 3 = 13, 7 now: +6. old: round(5*13/8)-5 = 3, new: round(2*13/8)-2 = 1, leftover 2 to the biggest.
  t.equal(sim.rs.get(oldName)!.spec.replicas, 10);
  t.equal(sim.newRS()!.spec.replicas, 3);
  for (const rs of sim.replicaSets) {
    t.equal(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION], '10');
    t.equal(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION], '13');
  }
  t.same(messages(p).sort(), [`Scaled up replica set ${oldName} to 10`, `Scaled up replica set ${sim.newRS()!.metadata.name} to 3`].sort());

  sim.edit((d) => { d.spec.replicas = 2; });
  p = sim.deploymentPass();
  // allowed 2 + 1 = 3, 13 now: -10. old: round(10*3/13)-10 = -8, new: round(3*3/13)-3 = -2.
  t.equal(sim.rs.get(oldName)!.spec.replicas, 2);
  t.equal(sim.newRS()!.spec.replicas, 1);

  sim.edit((d) => { d.spec.replicas = 8; });
  const [surge] = resolveFenceposts(sim.d, 8);
  sim.rollout((stage) => {
    t.ok(sim.specTotal() <= 8 + surge, `${stage}: total ${sim.specTotal()} within 8 + ${surge}`);
  });
  t.equal(sim.newRS()!.spec.replicas, 8);
  t.equal(sim.rs.get(oldName)!.spec.replicas, 0);
});

t.test('scaling a finished Deployment scales its one active revision', async (t) => {
  const sim = steady({ replicas: 3 });
  const name = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.replicas = 5; });
  const p = sim.deploymentPass();
  t.same(messages(p), [`Scaled up replica set ${name} to 5`]);
  t.equal(sim.rs.get(name)!.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION], '5');
  t.equal(sim.rs.get(name)!.metadata.annotations?.[MAX_REPLICAS_ANNOTATION], '7');
  sim.edit((d) => { d.spec.replicas = 0; });
  sim.deploymentPass();
  t.equal(sim.rs.get(name)!.spec.replicas, 0);
  sim.rsPass();
  t.equal(sim.pods.size, 0);
  const p2 = sim.deploymentPass();
  const status = of(p2, 'update-deployment-status')[0]?.status ?? sim.d.status!;
  t.equal(status.replicas, 0);
  t.equal(status.conditions?.find((c) => c.type === 'Available')?.status, 'True', '0 of 0 is minimum availability');
});

t.test('paused: no rollout, only scaling; resume continues', async (t) => {
  const sim = steady({ replicas: 3 });
  const oldName = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.paused = true; d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim.now += 1000;
  let p = sim.deploymentPass();
  t.same(of(p, 'create-replicaset'), [], 'no new revision while paused');
  const progressing = () => sim.d.status?.conditions?.find((c) => c.type === 'Progressing');
  t.match(progressing(), { status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused', lastUpdateTime: iso(sim.now) });

  sim.edit((d) => { d.spec.replicas = 5; });
  p = sim.deploymentPass();
  t.same(messages(p), [`Scaled up replica set ${oldName} to 5`], 'scaling still happens');
  t.same(of(p, 'create-replicaset'), []);

  sim.now += 60_000;
  t.same(sim.deploymentPass().actions, [], 'paused: nothing to do, and no deadline ticking');

  sim.now += 1000;
  const resumedAt = sim.now;
  sim.edit((d) => { d.spec.paused = false; });
  p = sim.deploymentPass();
  t.equal(of(p, 'create-replicaset').length, 1, 'resumed: the rollout starts');
  // The resume is recorded first (Unknown, DeploymentResumed), then the new revision (True, NewReplicaSetCreated).
  t.match(progressing(), { status: 'True', reason: 'NewReplicaSetCreated', lastUpdateTime: iso(resumedAt) });
  sim.rollout();
  t.equal(sim.newRS()!.spec.replicas, 5);
});

t.test('resume without a template change reports DeploymentResumed', async (t) => {
  const sim = steady({ replicas: 2 });
  sim.edit((d) => { d.spec.paused = true; });
  sim.deploymentPass();
  sim.edit((d) => { d.spec.paused = false; });
  sim.now += 5000;
  sim.deploymentPass();
  const c = sim.d.status?.conditions?.find((x) => x.type === 'Progressing');
  // Complete again at once: the resumed condition gives way to NewReplicaSetAvailable.
  t.match(c, { status: 'True', reason: 'NewReplicaSetAvailable' });
  // Unpaused with pods not ready: the resume stays visible.
  const sim2 = steady({ replicas: 2 });
  sim2.edit((d) => { d.spec.paused = true; });
  sim2.deploymentPass();
  sim2.edit((d) => { d.spec.paused = false; });
  for (const pod of sim2.pods.values()) pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  sim2.deploymentPass();
  t.match(sim2.d.status?.conditions?.find((x) => x.type === 'Progressing'), { status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' });
});

t.test('rollback re-uses the old revision and re-annotates it', async (t) => {
  const sim = steady({ replicas: 3 });
  const v1 = structuredClone(sim.d.spec.template);
  const rs1 = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim.rollout();
  const rs2 = sim.newRS()!.metadata.name!;
  t.equal(sim.d.metadata.annotations?.[REVISION_ANNOTATION], '2');

  sim.edit((d) => { d.spec.template = structuredClone(v1); });
  const p = sim.deploymentPass();
  t.same(of(p, 'create-replicaset'), [], 'no new ReplicaSet: the old one is the new one');
  const updated = of(p, 'update-replicaset').find((a) => a.replicaSet.metadata.name === rs1)!.replicaSet;
  t.equal(updated.metadata.annotations?.[REVISION_ANNOTATION], '3');
  t.equal(updated.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], '1');
  t.same(of(p, 'annotate-deployment')[0]?.annotations, { [REVISION_ANNOTATION]: '3' });
  sim.rollout();
  t.equal(sim.newRS()!.metadata.name, rs1);
  t.equal(sim.rs.get(rs1)!.spec.replicas, 3);
  t.equal(sim.rs.get(rs2)!.spec.replicas, 0);
  t.equal(sim.replicaSets.length, 2);

  // Forward again to nginx:2: revision 4, history "2".
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim.rollout();
  t.equal(sim.rs.get(rs2)!.metadata.annotations?.[REVISION_ANNOTATION], '4');
  t.equal(sim.rs.get(rs2)!.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], '2');
  sim.edit((d) => { d.spec.template = structuredClone(v1); });
  sim.rollout();
  t.equal(sim.rs.get(rs1)!.metadata.annotations?.[REVISION_HISTORY_ANNOTATION], '1,3');
  t.equal(sim.rs.get(rs1)!.metadata.annotations?.[REVISION_ANNOTATION], '5');
});

function oldRevision(n: number, o: { replicas?: number; generation?: number; observedGeneration?: number; deleting?: boolean } = {}): ReplicaSet {
  const d = deployment({ image: `nginx:${n}` });
  const hash = templateHash(d.spec.template);
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`, namespace: 'default', uid: `uid-${n}`, generation: o.generation ?? 2, creationTimestamp: iso(T0 + n * 1000),
      annotations: { [REVISION_ANNOTATION]: String(n), [DESIRED_REPLICAS_ANNOTATION]: '6', [MAX_REPLICAS_ANNOTATION]: '8' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'deploy-uid', controller: true }],
      ...(o.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: { replicas: o.replicas ?? 0, selector: { matchLabels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash } }, template: { ...d.spec.template, metadata: { labels: { app: 'web', [POD_TEMPLATE_HASH_LABEL]: hash } } }, minReadySeconds: 0 },
    status: { replicas: 0, observedGeneration: o.observedGeneration ?? 2 },
  };
}

function readyPod(name: string, rs: ReplicaSet, readySince = T0): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: rs.spec.template.metadata?.labels, creationTimestamp: iso(readySince), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name!, uid: rs.metadata.uid!, controller: true }] },
    spec: { ...rs.spec.template.spec, nodeName: 'n1' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(readySince) }] },
  };
}

t.test('history: old revisions beyond revisionHistoryLimit go, lowest revision first, only when empty', async (t) => {
  const current = oldRevision(9, { replicas: 1 });
  current.metadata.annotations![DESIRED_REPLICAS_ANNOTATION] = '1';
  current.metadata.annotations![MAX_REPLICAS_ANNOTATION] = '2';
  const d = deployment({ image: 'nginx:9', revisionHistoryLimit: 2, replicas: 1 });
  d.metadata.annotations = { [REVISION_ANNOTATION]: '9' };
  d.status = { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1, unavailableReplicas: 0 };
  const pods = [readyPod('cur-1', current)];
  const at = new Date(T0 + 60_000);

  // A finished rollout: 5 empty old revisions, limit 2: the 3 lowest go, oldest first.
  const empties = [7, 1, 5, 3, 8].map((n) => oldRevision(n));
  const p = plan(frozen(d), frozen([...empties, current]), frozen(pods), at);
  t.same(of(p, 'delete-replicaset').map((a) => a.replicaSet.uid), ['uid-1', 'uid-3', 'uid-5']);
  t.same(of(p, 'delete-replicaset')[0]!.replicaSet, { namespace: 'default', name: empties[1]!.metadata.name, uid: 'uid-1' });
  const none = plan(frozen({ ...d, spec: { ...d.spec, revisionHistoryLimit: 10 } }), frozen([...empties, current]), frozen(pods), at);
  t.same(of(none, 'delete-replicaset'), [], 'within the limit: nothing deleted');
  const zero = plan(frozen({ ...d, spec: { ...d.spec, revisionHistoryLimit: 0 } }), frozen([...empties, current]), frozen(pods), at);
  t.equal(of(zero, 'delete-replicaset').length, 5, 'limit 0 keeps no history');

  // Paused (history is cleaned then too): revisions still in use are kept even when over the limit.
  const olds = [
    oldRevision(1),
    oldRevision(2, { replicas: 1 }), // still scaled: kept
    oldRevision(3), // still has a pod: kept
    oldRevision(4, { generation: 3, observedGeneration: 2 }), // its scale-down not seen yet: kept
    oldRevision(5),
    oldRevision(6, { deleting: true }), // being deleted: not counted, not deleted again
    oldRevision(7),
    oldRevision(8),
  ];
  const paused = { ...d, spec: { ...d.spec, paused: true } };
  const q = plan(frozen(paused), frozen([...olds, current].reverse()), frozen([...pods, readyPod('old3-1', olds[2]!)]), at);
  // 7 alive old revisions, limit 2: the 5 lowest (1 to 5) are candidates; 2, 3 and 4 are kept.
  t.same(of(q, 'delete-replicaset').map((a) => a.replicaSet.uid), ['uid-1', 'uid-5']);
});

t.test('history is only cleaned once the rollout is complete', async (t) => {
  const sim = steady({ replicas: 2, revisionHistoryLimit: 0 });
  const first = sim.replicaSets[0]!.metadata.name!;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  sim.rollout((stage) => {
    if (sim.rs.has(first) && (sim.rs.get(first)!.spec.replicas ?? 0) > 0) t.ok(sim.rs.has(first), `${stage}: kept while in use`);
  });
  sim.rsPass();
  sim.deploymentPass();
  t.notOk(sim.rs.has(first), 'deleted after completion');
  t.equal(sim.replicaSets.length, 1);
});

t.test('progress deadline: exceeded only strictly after lastUpdateTime + progressDeadlineSeconds', async (t) => {
  const sim = steady({ replicas: 2, progressDeadlineSeconds: 30 });
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:broken'; });
  sim.broken = (pod) => pod.spec.containers[0]!.image === 'nginx:broken';
  const start = sim.now;
  const progressing = () => sim.d.status!.conditions!.find((c) => c.type === 'Progressing')!;
  const trueSince = progressing().lastTransitionTime;
  let p = sim.deploymentPass();
  sim.rsPass();
  sim.kubeletPass();
  // Progressing stays True (from the last rollout): only its reason and lastUpdateTime move.
  t.match(progressing(), { status: 'True', reason: 'NewReplicaSetCreated', lastUpdateTime: iso(start), lastTransitionTime: trueSince });
  t.equal(p.requeueAfterMs, 30_001, 'look again right after the deadline');

  sim.now = start + 10_000;
  p = sim.deploymentPass(); // the new pod exists now (updatedReplicas 0 -> 1): progress
  t.match(progressing(), { reason: 'ReplicaSetUpdated', lastUpdateTime: iso(start + 10_000), lastTransitionTime: trueSince });
  t.equal(p.requeueAfterMs, 30_001);

  sim.now = start + 20_000;
  sim.deploymentPass();
  t.match(progressing(), { reason: 'ReplicaSetUpdated', lastUpdateTime: iso(start + 10_000) }, 'no progress: lastUpdateTime stays');

  sim.now = start + 40_000;
  p = sim.deploymentPass();
  t.match(progressing(), { status: 'True', reason: 'ReplicaSetUpdated' }, 'exactly at the deadline: not yet');
  t.equal(p.requeueAfterMs, 1);

  sim.now = start + 40_001;
  p = sim.deploymentPass();
  const name = sim.newRS()!.metadata.name;
  t.same(progressing(), {
    type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.`,
    lastUpdateTime: iso(start + 40_001), lastTransitionTime: iso(start + 40_001),
  });
  t.equal(p.requeueAfterMs, undefined, 'timed out: no deadline to watch');
  sim.now += 60_000;
  t.same(sim.deploymentPass().actions, [], 'stays timed out without churn');

  // Fixing the template moves it again.
  sim.now += 1000;
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:3'; });
  sim.rollout();
  t.match(progressing(), { status: 'True', reason: 'NewReplicaSetAvailable' });
});

t.test('status counts, Available condition, minReadySeconds and requeue', async (t) => {
  const d = deployment({ replicas: 4, minReadySeconds: 10, image: 'nginx:9' });
  const rs = oldRevision(9, { replicas: 4 });
  rs.spec.minReadySeconds = 10;
  rs.metadata.annotations![DESIRED_REPLICAS_ANNOTATION] = '4';
  rs.metadata.annotations![MAX_REPLICAS_ANNOTATION] = '5';
  const now = T0 + 100_000;
  const pods = [
    readyPod('a', rs, now - 60_000), // available
    readyPod('b', rs, now - 10_000), // ready exactly 10 s: not yet available (strictly more)
    readyPod('c', rs, now - 4_000), // available in 6 s
    { ...readyPod('d', rs), status: { phase: 'Pending' as const } }, // not ready
    { ...readyPod('e', rs), metadata: { ...readyPod('e', rs).metadata, deletionTimestamp: iso(now) } }, // terminating: not counted
    { ...readyPod('f', rs), status: { phase: 'Failed' as const } }, // ended: not counted
  ];
  const p = plan(frozen({ ...d, metadata: { ...d.metadata, generation: 7, annotations: { [REVISION_ANNOTATION]: '9' } } }), frozen([rs]), frozen(pods), new Date(now));
  const status = of(p, 'update-deployment-status')[0]!.status;
  t.match(status, { observedGeneration: 7, replicas: 4, updatedReplicas: 4, readyReplicas: 3, availableReplicas: 1, unavailableReplicas: 3 });
  t.match(status.conditions!.find((c) => c.type === 'Available'), { status: 'False', reason: 'MinimumReplicasUnavailable' }, '1 < 4 - 1');
  t.equal(p.requeueAfterMs, 1, 'pod b turns available 1 ms from now');

  const later = plan(frozen(d), frozen([rs]), frozen(pods.slice(0, 3)), new Date(now + 1));
  t.equal(later.requeueAfterMs, 6_000, 'then pod c in 6 s');
  const s2 = of(later, 'update-deployment-status')[0]!.status;
  t.equal(s2.availableReplicas, 2);
});

t.test('Available: transition time moves only when the status changes', async (t) => {
  const sim = steady({ replicas: 4 });
  const available = () => sim.d.status!.conditions!.find((c) => c.type === 'Available')!;
  const since = available().lastTransitionTime;
  t.equal(available().status, 'True');
  // One pod not ready: 3 >= 4 - 1, still available; nothing moves.
  [...sim.pods.values()][0]!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  sim.now += 5000;
  sim.deploymentPass();
  t.same(available().lastTransitionTime, since);
  t.equal(available().status, 'True');
  // Two not ready: 2 < 3.
  [...sim.pods.values()][1]!.status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] };
  sim.now += 5000;
  sim.deploymentPass();
  t.match(available(), { status: 'False', reason: 'MinimumReplicasUnavailable', lastTransitionTime: iso(sim.now) });
});

t.test('plans are pure: frozen inputs, and the same inputs give the same plan', async (t) => {
  const sim = steady({ replicas: 3 });
  sim.edit((d) => { d.spec.template.spec.containers[0]!.image = 'nginx:2'; });
  const inputs = [frozen(sim.d), frozen(sim.replicaSets), frozen([...sim.pods.values()])] as const;
  const a = plan(inputs[0], inputs[1], inputs[2], new Date(sim.now));
  const b = plan(inputs[0], inputs[1], inputs[2], new Date(sim.now));
  t.same(a, b);
  t.ok(a.actions.length > 0);
});

t.test('an empty selector is refused with a warning; a Deployment being deleted only gets its status', async (t) => {
  const d = deployment();
  d.spec.selector = {};
  const p = plan(frozen(d), [], [], new Date(T0));
  t.same(of(p, 'event').map((a) => [a.event.type, a.event.reason, a.event.message]), [['Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.']]);
  t.same(of(p, 'create-replicaset'), []);
  t.equal(of(p, 'update-deployment-status')[0]?.status.observedGeneration, 1);

  const gone = deployment();
  gone.metadata.deletionTimestamp = iso(T0);
  const q = plan(frozen(gone), [], [], new Date(T0));
  t.same(q.actions.map((a) => a.type), ['update-deployment-status']);
});

t.test('a hash collision with another template gets a salted name', async (t) => {
  const d = deployment();
  const squatter = oldRevision(1, { replicas: 0 });
  squatter.metadata.name = `web-${templateHash(d.spec.template)}`; // same name, other template
  const p = plan(frozen(d), frozen([squatter]), [], new Date(T0));
  const created = of(p, 'create-replicaset')[0]!.replicaSet;
  t.equal(created.metadata.name, `web-${templateHash(d.spec.template, 1)}`);
  t.equal(created.spec.template.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL], templateHash(d.spec.template, 1));
  t.equal(created.metadata.annotations?.[REVISION_ANNOTATION], '2');
});

t.test('no progress deadline: no Progressing condition at all', async (t) => {
  const sim = new Sim(deployment({ replicas: 2, progressDeadlineSeconds: undefined }));
  for (let i = 0; i < 4; i++) {
    const p = sim.deploymentPass();
    t.equal(p.requeueAfterMs, undefined);
    sim.rsPass();
    sim.kubeletPass();
  }
  t.same(sim.d.status!.conditions!.map((c) => c.type), ['Available']);
  t.equal(sim.d.status!.availableReplicas, 2);
});
