// The cluster verbs as main.ts sees them: which verbs are cluster verbs, and one entry point that
// resolves the controller's address, runs a verb (loaded only when used) and prints its failure
// in kubectl's words. Exit statuses: 0 success, 1 error; apply: 3 when nothing changed; diff:
// 1 when there are differences, 2 on error.

import * as fs from 'node:fs';
import { errorText } from './errors';
import { connectionFromEnvironment, type Connection, type ConnectionFlags } from './connection';
import type { Verb, VerbContext } from './types';

export { DEFAULT_SERVER, resolveConnection, type Connection, type ConnectionFlags } from './connection';
export type { ClusterClient, Verb, VerbContext } from './types';

const VERBS: Record<string, () => Promise<Verb>> = {
  get: async () => (await import('./get')).get,
  describe: async () => (await import('./describe')).describe,
  apply: async () => (await import('./apply')).apply,
  delete: async () => (await import('./delete')).del,
  scale: async () => (await import('./scale')).scale,
  autoscale: async () => (await import('./autoscale')).autoscale,
  top: async () => (await import('./top')).top,
  certificate: async () => (await import('./certificate')).certificate,
  cordon: async () => (await import('./cordon')).cordon,
  uncordon: async () => (await import('./cordon')).uncordon,
  drain: async () => (await import('./drain')).drain,
  taint: async () => (await import('./taint')).taint,
  expose: async () => (await import('./expose')).expose,
  create: async () => (await import('./create')).create,
  'port-forward': async () => (await import('./port-forward')).portForward,
  exec: async () => (await import('./exec')).exec,
  attach: async () => (await import('./attach')).attach,
  cp: async () => (await import('./copy')).cp,
  rollout: async () => (await import('./rollout')).rollout,
  events: async () => (await import('./events')).events,
  logs: async () => (await import('./logs')).logs,
  wait: async () => (await import('./wait')).wait,
  diff: async () => (await import('./diff')).diff,
  token: async () => (await import('./tokens')).token,
  user: async () => (await import('./users')).user,
  auth: async () => (await import('./auth')).auth,
};

/** Verbs that work on the kubeconfig file alone, with no controller. */
const LOCAL_VERBS: Record<string, () => Promise<(argv: string[], flags: ConnectionFlags, out: (s: string) => void) => Promise<number>>> = {
  config: async () => (await import('./config')).config,
};

/** Verbs that are always the cluster's. */
/** Verbs whose first argument is a kind (or KIND/NAME). */
const KIND_VERBS: readonly string[] = ['get', 'describe', 'delete', 'wait', 'scale', 'logs'];

export const CLUSTER_ONLY_VERBS: readonly string[] = ['get', 'describe', 'apply', 'delete', 'scale', 'autoscale', 'certificate', 'cordon', 'uncordon', 'drain', 'taint', 'expose', 'port-forward', 'rollout', 'events', 'token', 'user', 'auth', 'config'];
/** What `berth create` makes in the cluster (anything else is an image: docker's create). */
const CLUSTER_CREATE_KINDS: readonly string[] = ['configmap', 'cm', 'secret', 'job'];
/** What `berth top` measures in the cluster (anything else is a container: docker's top). */
const TOP_KINDS: readonly string[] = ['pod', 'pods', 'po', 'node', 'nodes', 'no'];
/** Verbs that are the cluster's when a controller is configured, the node's (docker's) otherwise. */
export const SHARED_VERBS: readonly string[] = ['logs', 'diff', 'exec', 'attach', 'cp'];

/**
 * Whether `verb` is the cluster verb here. `logs` and `diff` are when a controller is configured
 * (--server, BERTH_SERVER or ~/.berth/config) and --agent was not given without --server; the
 * node forms stay `berth container logs|diff`.
 */
export function isClusterVerb(verb: string, flags: ConnectionFlags & { agent?: string | undefined }, resolve: (flags: ConnectionFlags) => Pick<Connection, 'source'> = connectionFromEnvironment, args: readonly string[] = []): boolean {
  if (CLUSTER_ONLY_VERBS.includes(verb)) return true;
  // `create configmap|secret|job` is kubectl's; `create IMAGE` stays docker's container create.
  if (verb === 'create') return CLUSTER_CREATE_KINDS.includes(args[0] ?? '');
  // `top pod|node` is kubectl's; `top CONTAINER` stays docker's.
  if (verb === 'top') return TOP_KINDS.includes(args[0] ?? '');
  // `wait --for=...` is kubectl's; `wait CONTAINER` stays docker's.
  if (verb === 'wait') return args.some((a) => a === '--for' || a.startsWith('--for='));
  if (!SHARED_VERBS.includes(verb)) return false;
  if (flags.server !== undefined) return true;
  if (flags.agent !== undefined) return false;
  try {
    return resolve({ kubeconfig: flags.kubeconfig, context: flags.context }).source !== 'default';
  } catch {
    // A broken config file names a controller: the cluster verb reports what is wrong with it.
    return true;
  }
}

export const USAGE = `Cluster commands (kubectl's verbs and flags). The controller and the credentials come from a
kubeconfig: --kubeconfig FILE, else $BERTH_CONFIG, else $KUBECONFIG, else ~/.berth/config (the
controller writes its admin one to <data-root>/admin.kubeconfig); --context picks a context;
--server HOST:PORT or $BERTH_SERVER override its server:
  apply -f FILE|DIR|- [-f ...] [--dry-run=client|server] [--prune] [--applyset NAME]
        [--wait[=5m]] [--watch] [-n NS] [-o yaml|json|name]   (exit 3: nothing changed)
  diff -f FILE|DIR|- [-n NS]            What apply would change (exit 0 none, 1 some, 2 error)
  get KIND[,KIND] [NAME...] | KIND/NAME... | all [-l SEL] [--field-selector S] [-n NS | -A]
      [-o wide|yaml|json|name] [-w] [--show-labels]
  describe KIND [NAME...] [-n NS]
  delete -f FILE|DIR | KIND NAME... | KIND -l SEL [-n NS] [--ignore-not-found]
  scale deployment/NAME|statefulset/NAME --replicas=N
  autoscale deployment/NAME --max=N [--min=M] [--cpu-percent=P]   A HorizontalPodAutoscaler for it
  top pod [NAME] [-n NS | -A] [-l SEL] [--containers] | top node   CPU and memory the agents measured
  certificate approve|deny CSR...       Approve or deny CertificateSigningRequests (get csr)
  cordon|uncordon NODE...               No new pods on the node / again
  drain NODE [--ignore-daemonsets] [--delete-emptydir-data] [--force] [--pod-selector SEL]
        [--timeout D] [--disable-eviction]  Cordon, then evict its pods as their budgets allow
  taint nodes NODE KEY[=VALUE]:EFFECT | KEY[:EFFECT]- [--overwrite]
  expose deployment/NAME|pod/NAME [--port P] [--target-port T] [--type ClusterIP|NodePort|LoadBalancer] [--name N]
                                        A Service in front of its pods
  create configmap NAME | secret generic NAME [--from-literal k=v] [--from-file [k=]PATH] [--from-env-file F]
  create secret docker-registry NAME --docker-server S --docker-username U --docker-password P
  create secret tls NAME --cert PATH --key PATH      [-n NS] [--dry-run=client -o yaml]
  create job NAME --from=cronjob/NAME | --image=IMAGE [-- COMMAND...]
  port-forward pod/NAME|svc/NAME|deployment/NAME [LOCAL:]REMOTE... [--address A]
                                        Local ports to a pod's, through the controller
  rollout status|history|undo|pause|resume|restart deployment/NAME [--timeout D] [--to-revision N]
  rollout status|history|undo|restart daemonset/NAME|statefulset/NAME
  logs POD|deployment/NAME|job/NAME [-c CONTAINER] [-f] [--tail N] [--timestamps]
  exec POD [-c CONTAINER] [-i] [-t] [-n NS] -- COMMAND [ARGS...]   A command in a pod's container (exit code passes through)
  attach POD [-c CONTAINER] [-i] [-t] [-n NS]   The container's own process (its stdin: true, tty: true for -i, -t)
  cp [-c CONTAINER] [-n NS] POD:SRC DEST | SRC POD:DEST        Files to and from a pod's container (through tar in it)
  wait --for=condition=NAME[=VALUE]|--for=delete KIND/NAME... [-l SEL] [--timeout 30s]
  events [-n NS | -A] [--for KIND/NAME] [--types Warning] [-w]
  token create [--ttl 24h] [--description TEXT] | token list | token delete ID
                                        Join tokens for agents (berth agent --token)
  user create NAME [--group G]... [--validity 8760h] [-o FILE]   A kubeconfig for a new user
  auth can-i VERB RESOURCE [NAME] [-n NS | -A] [--as USER] [--as-group G]
  config view [--raw] | get-contexts | current-context | use-context NAME

`;

/** Run a cluster verb and set the process's exit status; never throws. */
export async function runClusterVerb(verb: string, argv: string[], flags: ConnectionFlags): Promise<void> {
  const local = LOCAL_VERBS[verb];
  if (local) {
    try {
      process.exitCode = await (await local())(argv, flags, (s) => void process.stdout.write(s));
    } catch (err) {
      process.stderr.write(`${errorText(err)}\n`);
      process.exitCode = 1;
    }
    return;
  }
  const load = VERBS[verb];
  const errorExit = verb === 'diff' ? 2 : 1;
  if (!load) {
    process.stderr.write(`error: unknown command "${verb}"\n`);
    process.exitCode = 1;
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  let ctx: VerbContext | undefined;
  try {
    const connection = connectionFromEnvironment(flags);
    const { connectCluster } = await import('./client');
    ctx = {
      client: connectCluster(connection),
      out: (s) => void process.stdout.write(s),
      err: (s) => void process.stderr.write(s),
      now: () => new Date(),
      readStdin: () => fs.readFileSync(0, 'utf8'),
    };
    // Verbs that name a kind first learn the cluster's custom kinds when it is not a built-in one.
    if (KIND_VERBS.includes(verb)) await (await import('./custom-kinds')).learnKindsFor(argv, ctx.client);
    process.exitCode = await (await load())(ctx, argv);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = errorExit;
  } finally {
    ctx?.client.close();
  }
}
