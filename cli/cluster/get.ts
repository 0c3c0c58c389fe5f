// berth get KIND[,KIND...]|all [NAME...] | KIND/NAME... [-l SEL] [--field-selector S] [-n NS | -A]
//           [-o wide|yaml|json|name] [-w] [--show-labels] [--ignore-not-found]

import type { KindInfo, Resource } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { NAMESPACE_OPTIONS, namespaceOf, outputFlag, type OutputFormat } from './args';
import { CliError } from '../common/errors';
import { errorText, isNotFound, ServerError } from './errors';
import { onInterrupt } from './interrupt';
import { formatObjects, ordered, toJson, toYaml } from './output';
import { columnsFor, sortEvents, type ColumnOptions } from './printers';
import { parseTargets, pluralRef, resolveKind, type Target } from './resource-names';
import { Table } from '../common/table';
import type { Verb, VerbContext } from './types';

export const GET_OPTIONS = {
  ...NAMESPACE_OPTIONS,
  selector: { type: 'string', short: 'l' },
  'field-selector': { type: 'string' },
  output: { type: 'string', short: 'o' },
  watch: { type: 'boolean', short: 'w' },
  'show-labels': { type: 'boolean' },
  'ignore-not-found': { type: 'boolean' },
} as const;

/** `get all`: the workload kinds, as kubectl's "all" category. */
export const ALL_KINDS = ['Pod', 'ReplicationController', 'Service', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'CronJob'];

export interface GetRequest {
  /** Kinds to list (no names given), in order. */
  kinds: KindInfo[];
  /** Objects named (KIND NAME... or KIND/NAME...). */
  targets: Target[];
  namespace: string | undefined;
  allNamespaces: boolean;
  labelSelector: string;
  fieldSelector: string;
  output: OutputFormat | undefined;
  watch: boolean;
  showLabels: boolean;
  ignoreNotFound: boolean;
}

/** Flags and arguments checked once (pure). */
export function getRequest(argv: string[]): GetRequest {
  const { values, positionals } = parseFlags(argv, GET_OPTIONS);
  if (positionals.length === 0) {
    throw new CliError('you must specify the type of resource to get. Use "berth get pods", "berth get deployments", "berth get nodes", ...');
  }
  let kinds: KindInfo[] = [];
  let targets: Target[] = [];
  if (positionals.some((p) => p.includes('/'))) {
    targets = parseTargets(positionals, 'berth get KIND/NAME').targets;
  } else {
    const first = positionals[0]!;
    kinds = first === 'all' ? ALL_KINDS.map(resolveKind) : first.split(',').filter(Boolean).map(resolveKind);
    const names = positionals.slice(1);
    if (names.length > 0) {
      if (kinds.length !== 1) throw new CliError('names cannot be given with several resource types; use KIND/NAME for each');
      targets = names.map((name) => ({ info: kinds[0]!, name }));
      kinds = [];
    }
  }
  const labelSelector = values.selector ?? '';
  if (targets.length > 0 && labelSelector) throw new CliError('name cannot be provided when a selector is specified');
  const watch = Boolean(values.watch);
  const watchedKinds = new Set([...kinds, ...targets.map((t) => t.info)].map((k) => k.kind));
  if (watch && watchedKinds.size > 1) throw new CliError(`watch is only supported on individual resources and resource collections, but ${watchedKinds.size} resource types were given`);
  const { namespace, all } = namespaceOf(values);
  return {
    kinds,
    targets,
    namespace,
    allNamespaces: all,
    labelSelector,
    fieldSelector: values['field-selector'] ?? '',
    output: outputFlag(values.output),
    watch,
    showLabels: Boolean(values['show-labels']),
    ignoreNotFound: Boolean(values['ignore-not-found']),
  };
}

const nsFor = (info: KindInfo, namespace: string | undefined) => (info.namespaced ? namespace : undefined);

/** Objects in the order kubectl shows them: by namespace and name; events by time. */
export function sortObjects(info: KindInfo, objects: Resource[]): Resource[] {
  if (info.kind === 'Event') return sortEvents(objects as never);
  const key = (o: Resource) => `${o.metadata.namespace ?? ''}\u0000${o.metadata.name ?? ''}`;
  return [...objects].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** "No resources found in default namespace." */
export function noResourcesMessage(req: Pick<GetRequest, 'namespace' | 'allNamespaces'>, kinds: KindInfo[]): string {
  const namespaced = kinds.some((k) => k.namespaced);
  return namespaced && !req.allNamespaces ? `No resources found in ${req.namespace} namespace.\n` : 'No resources found\n';
}

export const get: Verb = async (ctx, argv) => {
  const req = getRequest(argv);
  if (req.watch) return watchObjects(ctx, req);
  let status = 0;
  // Named objects: each fetched; a missing one is reported and the others still printed.
  const found: Array<{ info: KindInfo; objects: Resource[] }> = [];
  for (const t of req.targets) {
    try {
      const obj = await ctx.client.get(t.info.kind, nsFor(t.info, req.namespace ?? 'default'), t.name);
      const group = found.find((g) => g.info.kind === t.info.kind);
      if (group) group.objects.push(obj);
      else found.push({ info: t.info, objects: [obj] });
    } catch (err) {
      if (isNotFound(err) && req.ignoreNotFound) continue;
      if (!isNotFound(err)) throw err;
      ctx.err(`${errorText(err)}\n`);
      status = 1;
    }
  }
  for (const info of req.kinds) {
    let items: Resource[];
    try {
      ({ items } = await ctx.client.list(info.kind, {
        namespace: nsFor(info, req.namespace),
        labelSelector: req.labelSelector,
        fieldSelector: req.fieldSelector,
      }));
    } catch (err) {
      // Several kinds: one the user may not list is reported, the others still printed (kubectl's get all).
      if (req.kinds.length === 1 || (err as { code?: string }).code !== 'permission-denied') throw err;
      ctx.err(`${errorText(err)}\n`);
      status = 1;
      continue;
    }
    found.push({ info, objects: sortObjects(info, items) });
  }
  const all = found.flatMap((g) => g.objects);
  if (req.output === 'yaml' || req.output === 'json' || req.output === 'name') {
    // A named object that was not found prints nothing; an empty list prints an empty List.
    if (all.length > 0 || req.targets.length === 0) ctx.out(formatObjects(all, req.output, req.targets.length === 1 && req.kinds.length === 0));
    return status;
  }
  if (all.length === 0) {
    if (req.targets.length === 0 && status === 0) ctx.err(noResourcesMessage(req, req.kinds));
    return status;
  }
  // Several kinds asked for (get all, pods,deployments): names carry their kind.
  const several = new Set([...req.kinds, ...req.targets.map((t) => t.info)].map((k) => k.kind)).size > 1;
  const blocks: string[] = [];
  for (const g of found) {
    if (g.objects.length === 0) continue;
    const columns = columnsFor(g.info, columnOptions(req, several));
    const now = ctx.now();
    const rows = g.objects.map((o) => columns.row(o, now));
    blocks.push(new Table(columns.header, rows).render(rows));
  }
  ctx.out(blocks.join('\n'));
  return status;
};

function columnOptions(req: GetRequest, prefixNames: boolean): ColumnOptions {
  return { wide: req.output === 'wide', allNamespaces: req.allNamespaces, showLabels: req.showLabels, prefixNames };
}

/** get -w: the table (or the objects), then one line (or object) per change until interrupted. */
async function watchObjects(ctx: VerbContext, req: GetRequest): Promise<number> {
  const info = req.kinds[0] ?? req.targets[0]!.info;
  const names = new Set(req.targets.map((t) => t.name));
  const namespace = nsFor(info, req.targets.length > 0 ? (req.namespace ?? 'default') : req.namespace);
  const fieldSelector = [req.fieldSelector, names.size === 1 ? `metadata.name=${[...names][0]}` : ''].filter(Boolean).join(',');
  const stream = ctx.client.watch(info.kind, { namespace, labelSelector: req.labelSelector, fieldSelector });
  const stopWatching = onInterrupt(() => stream.cancel());
  const columns = columnsFor(info, columnOptions(req, false));
  const wanted = (o: Resource) => names.size === 0 || names.has(o.metadata.name ?? '');
  const seen = new Map<string, string>();
  const initial: Resource[] = [];
  let table = new Table(columns.header);
  let headed = false;
  let synced = false;

  const print = (obj: Resource) => {
    const now = ctx.now();
    if (req.output === 'yaml') ctx.out(`---\n${toYaml(ordered(obj))}`);
    else if (req.output === 'json') ctx.out(toJson(ordered(obj)));
    else if (req.output === 'name') ctx.out(formatObjects([obj], 'name', true));
    else {
      // Nothing at first: the header comes with the first row.
      if (!headed) ctx.out(table.line(columns.header));
      headed = true;
      ctx.out(table.line(columns.row(obj, now)));
    }
  };

  try {
    for await (const e of stream) {
      if (e.type === 'SYNCED') {
        if (!synced) {
          synced = true;
          const objects = sortObjects(info, initial);
          if (objects.length === 0 && req.targets.length > 0) {
            for (const name of names) throw new ServerError('not-found', `${pluralRef(info, name)} not found`);
          }
          if (!req.output || req.output === 'wide') {
            const now = ctx.now();
            const rows = objects.map((o) => columns.row(o, now));
            table = new Table(columns.header, rows);
            if (objects.length > 0) {
              ctx.out(table.render(rows));
              headed = true;
            } else {
              ctx.err(noResourcesMessage(req, [info]));
            }
          } else {
            objects.forEach(print);
          }
        }
        continue;
      }
      if (e.type === 'RESYNC' || !e.object || !wanted(e.object)) continue;
      const key = `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      if (!synced) {
        initial.push(e.object);
        seen.set(key, e.object.metadata.resourceVersion ?? '');
        continue;
      }
      // After a RESYNC the whole list comes again: print only what really changed.
      if (e.type === 'DELETED') seen.delete(key);
      else if (seen.get(key) === (e.object.metadata.resourceVersion ?? '')) continue;
      else seen.set(key, e.object.metadata.resourceVersion ?? '');
      print(e.object);
    }
  } finally {
    stopWatching();
  }
  return 0;
}

