// berth rollout status|history|undo|pause|resume|restart deployment/NAME [-n NS]
//   status [--timeout D] [--watch=false]   history [--revision N]   undo [--to-revision N]
// status, history, undo and restart also take daemonset/NAME and statefulset/NAME.
// Client-side as kubectl's: each reads the object (and its ReplicaSets or ControllerRevisions)
// and writes it back with the resource version it read.

import type { ControllerRevision, DaemonSet, Deployment, Pod, ReplicaSet, StatefulSet } from '../../proto/resources';
import { durationFlag, intFlag, parseFlags } from '../common/args';
import { DescribeWriter } from './describe-writer';
import { podTemplate } from './describe-format';
import { CliError } from '../common/errors';
import { LiveObjects } from './live-objects';
import { objectRef, pluralRef, resolveKind, singleTarget } from './resource-names';
import { planSetUndo, planUndo, revisions, setRevisions, type SetRevision } from './rollout-history';
import { daemonSetRolloutStatus, deploymentRolloutStatus, ReadyClock, rolloutWait, STABLE_FOR_MS, statefulSetRolloutStatus, type RolloutState } from './rollout-state';
import type { Verb, VerbContext } from './types';
import { updateWithRetry } from './update';

const USAGE = 'berth rollout status|history|undo|pause|resume|restart deployment/NAME';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

function target(positionals: string[], sub: string): string {
  return singleTarget(positionals, `berth rollout ${sub} deployment/NAME`, ['Deployment']).name;
}

const status: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    namespace: { type: 'string', short: 'n' },
    timeout: { type: 'string', short: 't' },
    watch: { type: 'string', short: 'w' },
  }, { watch: 'true' });
  const { info, name } = singleTarget(positionals, 'berth rollout status deployment/NAME|daemonset/NAME|statefulset/NAME', ['Deployment', 'DaemonSet', 'StatefulSet']);
  const namespace = values.namespace || 'default';
  const timeoutMs = durationFlag('--timeout', values.timeout) ?? 0;
  const watch = values.watch === undefined || values.watch === 'true';
  if (values.watch !== undefined && !['true', 'false'].includes(values.watch)) throw new CliError(`invalid argument "${values.watch}" for "--watch" flag: expected true or false`);
  if (info.kind === 'DaemonSet') return setStatus<DaemonSet>(ctx, 'DaemonSet', namespace, name, watch, timeoutMs, daemonSetRolloutStatus);
  if (info.kind === 'StatefulSet') return setStatus<StatefulSet>(ctx, 'StatefulSet', namespace, name, watch, timeoutMs, statefulSetRolloutStatus);
  // Fails at once, in kubectl's words, when the Deployment does not exist.
  const first = await ctx.client.get<Deployment>('Deployment', namespace, name);
  if (!watch) {
    const s = deploymentRolloutStatus(first);
    if (s.state === 'failed') throw new CliError(s.message);
    ctx.out(`${s.message}\n`);
    return 0;
  }
  // The Deployment's status, and its pods too: a pod that was ready for an instant, or whose
  // container has restarted, is not a rolled-out replica (a crash loop without a probe).
  const live = new LiveObjects(ctx.client);
  const readyClock = new ReadyClock();
  let printed = '';
  const watched = [{ kind: 'Deployment', namespace, fieldSelector: `metadata.name=${name}` }, { kind: 'ReplicaSet', namespace }, { kind: 'Pod', namespace }];
  const result = await live.until<RolloutState>(watched, () => {
    const d = live.list<Deployment>('Deployment').find((o) => o.metadata.name === name);
    if (!d) throw new CliError(`${pluralRef(resolveKind('Deployment'), name)} was deleted`);
    const pods = live.list<Pod>('Pod');
    readyClock.observe(pods, Date.now());
    const s = rolloutWait(d, live.list<ReplicaSet>('ReplicaSet'), pods, readyClock, { failOnStuckPods: false });
    if (s.state !== 'failed' && s.message !== printed) {
      printed = s.message;
      ctx.out(`${s.message}\n`);
    }
    return s.state === 'waiting' ? undefined : s;
  }, timeoutMs, { recheckMs: STABLE_FOR_MS / 4 });
  if (result === 'timeout') throw new CliError('timed out waiting for the condition');
  if (result.state === 'failed') throw new CliError(result.message);
  return 0;
};

/** rollout status daemonset|statefulset/NAME: its status's verdict, watched until done (the pods' own state shows in get pods). */
async function setStatus<T extends DaemonSet | StatefulSet>(
  ctx: VerbContext, kind: T['kind'], namespace: string, name: string, watch: boolean, timeoutMs: number, verdict: (set: T) => RolloutState,
): Promise<number> {
  const first = await ctx.client.get<T>(kind, namespace, name);
  if (first.spec.updateStrategy?.type === 'OnDelete') throw new CliError('rollout status is only available for RollingUpdate strategy type');
  if (!watch) {
    ctx.out(`${verdict(first).message}\n`);
    return 0;
  }
  const live = new LiveObjects(ctx.client);
  let printed = '';
  const result = await live.until<RolloutState>([{ kind, namespace, fieldSelector: `metadata.name=${name}` }], () => {
    const set = live.list<T>(kind).find((o) => o.metadata.name === name);
    if (!set) throw new CliError(`${pluralRef(resolveKind(kind), name)} was deleted`);
    const s = verdict(set);
    if (s.message !== printed) {
      printed = s.message;
      ctx.out(`${s.message}\n`);
    }
    return s.state === 'waiting' ? undefined : s;
  }, timeoutMs);
  if (result === 'timeout') throw new CliError('timed out waiting for the condition');
  return 0;
}

async function deploymentAndReplicaSets(ctx: VerbContext, namespace: string, name: string) {
  const d = await ctx.client.get<Deployment>('Deployment', namespace, name);
  const { items } = await ctx.client.list<ReplicaSet>('ReplicaSet', { namespace });
  return { d, replicaSets: items };
}

const SET_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet'];

/** The object and its revisions, oldest first: a Deployment's from its ReplicaSets, a set's from its ControllerRevisions. */
async function historyOf(ctx: VerbContext, kind: string, namespace: string, name: string): Promise<{ object: Deployment | DaemonSet | StatefulSet; all: SetRevision[] }> {
  if (kind === 'Deployment') {
    const { d, replicaSets } = await deploymentAndReplicaSets(ctx, namespace, name);
    return { object: d, all: revisions(d, replicaSets).map((r) => ({ revision: r.revision, changeCause: r.changeCause, template: r.replicaSet.spec.template })) };
  }
  const object = await ctx.client.get<DaemonSet | StatefulSet>(kind, namespace, name);
  const { items } = await ctx.client.list<ControllerRevision>('ControllerRevision', { namespace });
  return { object, all: setRevisions(object, items) };
}

const history: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { namespace: { type: 'string', short: 'n' }, revision: { type: 'string' } });
  const { info, name } = singleTarget(positionals, 'berth rollout history deployment/NAME|daemonset/NAME|statefulset/NAME', SET_KINDS);
  const { object, all } = await historyOf(ctx, info.kind, values.namespace || 'default', name);
  const wanted = intFlag('--revision', values.revision);
  if (wanted !== undefined && wanted > 0) {
    const r = all.find((x) => x.revision === wanted);
    if (!r) throw new CliError(`unable to find the specified revision`);
    const w = new DescribeWriter();
    podTemplate(w, r.template);
    ctx.out(`${objectRef(object)} with revision #${wanted}\n${w.toString()}`);
    return 0;
  }
  if (all.length === 0) {
    ctx.out(`No rollout history found in ${info.kind.toLowerCase()} "${name}"\n`);
    return 0;
  }
  const w = new DescribeWriter();
  w.table(0, ['REVISION', 'CHANGE-CAUSE'], all.map((r) => [String(r.revision), r.changeCause ?? '<none>']));
  ctx.out(`${objectRef(object)}\n${w.toString()}\n`);
  return 0;
};

const undo: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { namespace: { type: 'string', short: 'n' }, 'to-revision': { type: 'string' } });
  const { info, name } = singleTarget(positionals, 'berth rollout undo deployment/NAME|daemonset/NAME|statefulset/NAME', SET_KINDS);
  const namespace = values.namespace || 'default';
  const toRevision = intFlag('--to-revision', values['to-revision']) ?? 0;
  const replicaSets = info.kind === 'Deployment' ? (await deploymentAndReplicaSets(ctx, namespace, name)).replicaSets : [];
  const controllerRevisions = info.kind === 'Deployment' ? [] : (await ctx.client.list<ControllerRevision>('ControllerRevision', { namespace })).items;
  let skipped: number | undefined;
  const { object } = await updateWithRetry<Deployment | DaemonSet | StatefulSet>(ctx.client, info.kind, namespace, name, (o) => {
    const plan = o.kind === 'Deployment' ? planUndo(o, replicaSets, toRevision) : planSetUndo(o, controllerRevisions, toRevision);
    if (plan.type === 'error') throw new CliError(plan.message);
    if (plan.type === 'skip') {
      skipped = plan.revision;
      return undefined;
    }
    o.spec.template = plan.template;
    return o;
  });
  ctx.out(skipped !== undefined
    ? `${objectRef(object)} skipped rollback (current template already matches revision ${skipped})\n`
    : `${objectRef(object)} rolled back\n`);
  return 0;
};

/** pause and resume: set spec.paused, refusing when it already is what was asked. */
const setPaused = (paused: boolean): Verb => async (ctx, argv) => {
  const sub = paused ? 'pause' : 'resume';
  const { values, positionals } = parseFlags(argv, { namespace: { type: 'string', short: 'n' } });
  const name = target(positionals, sub);
  const { object } = await updateWithRetry<Deployment>(ctx.client, 'Deployment', values.namespace || 'default', name, (d) => {
    if (Boolean(d.spec.paused) === paused) throw new CliError(`${pluralRef(resolveKind('Deployment'), name)} ${paused ? 'is already paused' : 'is not paused'}`);
    d.spec.paused = paused;
    return d;
  });
  ctx.out(`${objectRef(object)} ${paused ? 'paused' : 'resumed'}\n`);
  return 0;
};

const restart: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { namespace: { type: 'string', short: 'n' } });
  const { info, name } = singleTarget(positionals, 'berth rollout restart deployment/NAME|daemonset/NAME|statefulset/NAME', ['Deployment', 'DaemonSet', 'StatefulSet']);
  const at = ctx.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const { object } = await updateWithRetry<Deployment | DaemonSet | StatefulSet>(ctx.client, info.kind, values.namespace || 'default', name, (d) => {
    if (d.kind === 'Deployment' && d.spec.paused) throw new CliError(`can't restart paused deployment (run rollout resume first)`);
    d.spec.template.metadata ??= {};
    // A new template (and so a new ReplicaSet) that differs only by this annotation: every pod is replaced.
    d.spec.template.metadata.annotations = { ...d.spec.template.metadata.annotations, [RESTARTED_AT]: at };
    return d;
  });
  ctx.out(`${objectRef(object)} restarted\n`);
  return 0;
};

const SUBVERBS: Record<string, Verb> = { status, history, undo, pause: setPaused(true), resume: setPaused(false), restart };

export const rollout: Verb = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  const verb = sub ? SUBVERBS[sub] : undefined;
  if (!verb) throw new CliError(`${sub ? `unknown rollout command "${sub}"` : 'a rollout command is required'} (${USAGE})`);
  return verb(ctx, rest);
};
