// berth events [-n NS | -A] [--for KIND/NAME] [--types Normal,Warning] [-w] [-o yaml|json]
// kubectl events: the events oldest first, LAST SEEN "10s (x3 over 2m)", then (with -w) one
// line per new or repeated event until interrupted.

import type { Event } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { NAMESPACE_OPTIONS, namespaceOf, outputFlag } from './args';
import { age } from './age';
import { CliError } from '../common/errors';
import { onInterrupt } from './interrupt';
import { formatObjects, ordered, toJson, toYaml } from './output';
import { eventTime, involvedRef, sortEvents } from './printers';
import { parseTargets } from './resource-names';
import { Table } from '../common/table';
import type { Verb } from './types';

export interface EventFilter {
  kind?: string;
  name?: string;
  /** Empty: every type. */
  types: string[];
}

export function eventMatches(e: Event, f: EventFilter): boolean {
  if (f.kind && e.involvedObject?.kind !== f.kind) return false;
  if (f.name && e.involvedObject?.name !== f.name) return false;
  return f.types.length === 0 || f.types.includes(e.type);
}

/** One row of `berth events` (pure). */
export function eventRow(e: Event, now: Date, allNamespaces: boolean): string[] {
  const count = e.count ?? 1;
  const last = age(eventTime(e), now);
  const seen = count > 1 ? `${last} (x${count} over ${age(e.firstTimestamp || e.metadata.creationTimestamp, now)})` : last;
  return [...(allNamespaces ? [e.metadata.namespace ?? ''] : []), seen, e.type ?? '', e.reason ?? '', involvedRef(e), (e.message ?? '').trim()];
}

export const events: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    ...NAMESPACE_OPTIONS,
    for: { type: 'string' },
    types: { type: 'string' },
    watch: { type: 'boolean', short: 'w' },
    output: { type: 'string', short: 'o' },
  });
  if (positionals.length > 0) throw new CliError(`unexpected arguments: ${positionals.join(' ')} (use --for KIND/NAME)`);
  const output = outputFlag(values.output, ['yaml', 'json']) as 'yaml' | 'json' | undefined;
  const { namespace, all } = namespaceOf(values);
  const filter: EventFilter = { types: (values.types ?? '').split(',').map((t) => t.trim()).filter(Boolean) };
  for (const t of filter.types) if (t !== 'Normal' && t !== 'Warning') throw new CliError(`valid --types are Normal or Warning, not "${t}"`);
  let fieldSelector = '';
  if (values.for) {
    const [target] = parseTargets([values.for], 'berth events --for KIND/NAME').targets;
    if (!target || !values.for.includes('/')) throw new CliError(`--for takes KIND/NAME, not "${values.for}"`);
    filter.kind = target.info.kind;
    filter.name = target.name;
    fieldSelector = `involvedObject.kind=${filter.kind},involvedObject.name=${filter.name}`;
  }
  const header = [...(all ? ['NAMESPACE'] : []), 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];

  if (!values.watch) {
    const { items } = await ctx.client.list<Event>('Event', { namespace, fieldSelector });
    const list = sortEvents(items.filter((e) => eventMatches(e, filter)));
    if (output) {
      ctx.out(formatObjects(list, output, false));
      return 0;
    }
    if (list.length === 0) {
      ctx.err(all ? 'No events found.\n' : `No events found in ${namespace} namespace.\n`);
      return 0;
    }
    const now = ctx.now();
    const rows = list.map((e) => eventRow(e, now, all));
    ctx.out(new Table(header, rows).render(rows));
    return 0;
  }

  const stream = ctx.client.watch('Event', { namespace, fieldSelector });
  const stop = onInterrupt(() => stream.cancel());
  const table = new Table(header);
  const initial: Event[] = [];
  let synced = false;
  const seen = new Map<string, string>();
  let headed = false;
  const print = (e: Event) => {
    if (output === 'yaml') ctx.out(`---\n${toYaml(ordered(e))}`);
    else if (output === 'json') ctx.out(toJson(ordered(e)));
    else {
      if (!headed) ctx.out(table.line(header));
      headed = true;
      ctx.out(table.line(eventRow(e, ctx.now(), all)));
    }
  };
  try {
    for await (const w of stream) {
      if (w.type === 'SYNCED' && !synced) {
        synced = true;
        sortEvents(initial).forEach(print);
        continue;
      }
      if (!w.object || w.type === 'DELETED' || !eventMatches(w.object as Event, filter)) continue;
      const e = w.object as Event;
      const key = `${e.metadata.namespace}/${e.metadata.name}`;
      if (seen.get(key) === e.metadata.resourceVersion) continue;
      seen.set(key, e.metadata.resourceVersion ?? '');
      if (!synced) initial.push(e);
      else print(e);
    }
  } finally {
    stop();
  }
  return 0;
};
