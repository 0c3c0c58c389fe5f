// The cluster verbs as main.ts sees them: which verbs are cluster verbs, and one entry point that
// resolves the controller's address, runs a verb (loaded only when used) and prints its failure
// in kubectl's words. Exit statuses: 0 success, 1 error; apply: 3 when nothing changed; diff:
// 1 when there are differences, 2 on error.

import * as fs from 'node:fs';
import { errorText } from './errors';
import { serverFromEnvironment, type ServerAddress } from './server-address';
import type { Verb, VerbContext } from './types';

export { DEFAULT_SERVER, resolveServer, type ServerAddress } from './server-address';
export type { ClusterClient, Verb, VerbContext } from './types';

const VERBS: Record<string, () => Promise<Verb>> = {
  get: async () => (await import('./get')).get,
  describe: async () => (await import('./describe')).describe,
  apply: async () => (await import('./apply')).apply,
  delete: async () => (await import('./delete')).del,
  scale: async () => (await import('./scale')).scale,
  rollout: async () => (await import('./rollout')).rollout,
  events: async () => (await import('./events')).events,
  logs: async () => (await import('./logs')).logs,
  diff: async () => (await import('./diff')).diff,
};

/** Verbs that are always the cluster's. */
export const CLUSTER_ONLY_VERBS: readonly string[] = ['get', 'describe', 'apply', 'delete', 'scale', 'rollout', 'events'];
/** Verbs that are the cluster's when a controller is configured, the node's (docker's) otherwise. */
export const SHARED_VERBS: readonly string[] = ['logs', 'diff'];

/**
 * Whether `verb` is the cluster verb here. `logs` and `diff` are when a controller is configured
 * (--server, BERTH_SERVER or ~/.berth/config) and --agent was not given without --server; the
 * node forms stay `berth container logs|diff`.
 */
export function isClusterVerb(verb: string, flags: { server?: string; agent?: string }, resolve: (flag?: string) => ServerAddress = serverFromEnvironment): boolean {
  if (CLUSTER_ONLY_VERBS.includes(verb)) return true;
  if (!SHARED_VERBS.includes(verb)) return false;
  if (flags.server !== undefined) return true;
  if (flags.agent !== undefined) return false;
  try {
    return resolve(undefined).source !== 'default';
  } catch {
    // A broken config file names a controller: the cluster verb reports what is wrong with it.
    return true;
  }
}

export const USAGE = `Cluster commands (kubectl's verbs and flags; the controller is --server HOST:PORT, else
$BERTH_SERVER, else "server: HOST:PORT" in ~/.berth/config, else 127.0.0.1:7443):
  apply -f FILE|DIR|- [-f ...] [--dry-run=client|server] [--prune] [--applyset NAME]
        [--wait[=5m]] [--watch] [-n NS] [-o yaml|json|name]   (exit 3: nothing changed)
  diff -f FILE|DIR|- [-n NS]            What apply would change (exit 0 none, 1 some, 2 error)
  get KIND[,KIND] [NAME...] | KIND/NAME... | all [-l SEL] [--field-selector S] [-n NS | -A]
      [-o wide|yaml|json|name] [-w] [--show-labels]
  describe KIND [NAME...] [-n NS]
  delete -f FILE|DIR | KIND NAME... | KIND -l SEL [-n NS] [--ignore-not-found]
  scale deployment/NAME --replicas=N
  rollout status|history|undo|pause|resume|restart deployment/NAME [--timeout D] [--to-revision N]
  logs POD|deployment/NAME [-c CONTAINER] [-f] [--tail N] [--timestamps]
  events [-n NS | -A] [--for KIND/NAME] [--types Warning] [-w]

`;

/** Run a cluster verb and set the process's exit status; never throws. */
export async function runClusterVerb(verb: string, argv: string[], serverFlag: string | undefined): Promise<void> {
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
    const server = serverFromEnvironment(serverFlag);
    const { connectCluster } = await import('./client');
    ctx = {
      client: connectCluster(server.address),
      out: (s) => void process.stdout.write(s),
      err: (s) => void process.stderr.write(s),
      now: () => new Date(),
      readStdin: () => fs.readFileSync(0, 'utf8'),
    };
    process.exitCode = await (await load())(ctx, argv);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = errorExit;
  } finally {
    ctx?.client.close();
  }
}
