// How kinds and objects are named on the command line and in kubectl's output lines:
// `deploy`, `deployments`, `Deployment` all name one kind; `deployment.apps/web` names an object
// in apply's and scale's lines, `deployment.apps "web"` in delete's.

import { kindInfo, type KindInfo, type Resource } from '../../proto/resources';
import { CliError } from '../common/errors';

/** The kind a user typed, or an error in kubectl's words. */
export function resolveKind(name: string): KindInfo {
  const info = kindInfo(name.replace(/\.v1$/, '').replace(/\.(apps|batch|coordination\.k8s\.io|discovery\.k8s\.io|rbac\.authorization\.k8s\.io)$/, ''));
  if (!info) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return info;
}

const group = (info: KindInfo) => (info.apiVersion.includes('/') ? `.${info.apiVersion.split('/')[0]}` : '');

/** "deployment.apps", "pod": the kind as apply, scale and delete print it. */
export const kindWithGroup = (info: KindInfo): string => `${info.kind.toLowerCase()}${group(info)}`;

/** "deployment.apps/web". */
export function objectRef(obj: Pick<Resource, 'kind' | 'metadata'>): string {
  return `${kindWithGroup(resolveKind(obj.kind))}/${obj.metadata.name ?? ''}`;
}

/** `deployment.apps "web"`, as delete prints it. */
export const quotedRef = (info: KindInfo, name: string): string => `${kindWithGroup(info)} "${name}"`;

/** `deployments.apps "web"`, as the controller names an object in its errors. */
export const pluralRef = (info: KindInfo, name: string): string => `${info.plural}${group(info)} "${name}"`;

export interface Target {
  info: KindInfo;
  name: string;
}

/**
 * `KIND NAME...` or `KIND/NAME...`, as kubectl takes them. `allowKindOnly`: a bare KIND (no
 * names) is fine and comes back with no targets.
 */
export function parseTargets(positionals: string[], usage: string): { kind?: KindInfo; targets: Target[] } {
  if (positionals.length === 0) throw new CliError(`you must specify the type of resource and a name (${usage})`);
  if (positionals.some((p) => p.includes('/'))) {
    const targets = positionals.map((p) => {
      const slash = p.indexOf('/');
      if (slash <= 0 || slash === p.length - 1) throw new CliError(`arguments in resource/name form must have a single resource and name, got "${p}"`);
      return { info: resolveKind(p.slice(0, slash)), name: p.slice(slash + 1) };
    });
    return { targets };
  }
  const kind = resolveKind(positionals[0]!);
  return { kind, targets: positionals.slice(1).map((name) => ({ info: kind, name })) };
}

/** One `KIND/NAME` or `KIND NAME` of a given kind (scale, rollout): the name. */
export function singleTarget(positionals: string[], usage: string, kinds: string[]): Target {
  const { targets } = parseTargets(positionals, usage);
  if (targets.length !== 1) throw new CliError(`${usage} takes exactly one resource`);
  const target = targets[0]!;
  if (!kinds.includes(target.info.kind)) {
    throw new CliError(`${target.info.plural} cannot be used here (${usage}); it works on: ${kinds.map((k) => resolveKind(k).plural).join(', ')}`);
  }
  return target;
}
