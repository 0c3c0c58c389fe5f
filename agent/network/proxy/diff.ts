// From two rulesets to the nft script that turns the first into the second, changing nothing
// else: a chain whose rules differ is flushed and refilled, map and set elements are added and
// deleted one by one, and what is gone is deleted once nothing refers to it any more. Pure, and
// quick for a small change to a large table: what the planner kept (chains, element groups) is
// the same object in both rulesets and is skipped without being read.
//
// The script is one transaction (`nft -f`): the kernel applies all of it or none of it, so its
// order only has to satisfy nft's checks as it reads the lines: a chain or set exists before a
// rule names it, and is deleted only after the rules and elements that name it are gone.

import type { ElementGroup, NftChain, NftMap, NftSet, ProxyRuleset } from './types';

/** The table's comment: tells whoever lists the host's tables whose this one is. */
export const TABLE_COMMENT = 'berth';

/** Elements per `add element` line: fewer lines to parse, short enough for an error to point at. */
const ELEMENTS_PER_LINE = 500;

/**
 * The script that creates the whole table from nothing. With `replace`, it first removes any
 * table of that name (adding it first makes the delete succeed when there is none), so that one
 * transaction swaps the old table for the new one without a moment with no rules.
 */
export function renderRuleset(next: ProxyRuleset, table: string, options: { replace?: boolean } = {}): string {
  const t = `ip ${table}`;
  const lines: string[] = [];
  if (options.replace) lines.push(`add table ${t}`, `delete table ${t}`);
  lines.push(`add table ${t} { comment ${quote(TABLE_COMMENT)} ; }`);
  for (const [name, set] of Object.entries(next.sets)) lines.push(`add set ${t} ${name} ${setDefinition(set)}`);
  for (const [name, map] of Object.entries(next.maps)) lines.push(`add map ${t} ${name} ${mapDefinition(map)}`);
  // A chain with an anonymous map (a service's own numgen choice) comes right after the
  // chains it jumps to, with its rules: the kernel binds each anonymous set by walking the whole
  // transaction so far, so the shorter it is then the cheaper.
  const chains = Object.entries(next.chains);
  const created = new Set<string>();
  const create = (name: string) => {
    if (created.has(name) || !(name in next.chains)) return;
    created.add(name);
    lines.push(addChain(t, name, next.chains[name]!));
  };
  for (const [name, chain] of chains) {
    if (!hasAnonymousMap(chain)) continue;
    for (const rule of chain.rules) for (const m of rule.matchAll(JUMP)) create(m[1]!);
    create(name);
    for (const rule of chain.rules) lines.push(`add rule ${t} ${name} ${rule}`);
  }
  for (const [name] of chains) create(name);
  for (const [name, chain] of chains) if (!hasAnonymousMap(chain)) for (const rule of chain.rules) lines.push(`add rule ${t} ${name} ${rule}`);
  for (const [name, set] of Object.entries(next.sets)) pushElements(lines, 'add', t, name, set.elements);
  for (const [name, map] of Object.entries(next.maps)) pushElements(lines, 'add', t, name, map.elements.flatMap((g) => g.map(([k, v]) => `${k} : ${v}`)));
  return lines.join('\n') + '\n';
}

/**
 * The script from `previous` (what the table holds) to `next`: everything when there is no
 * previous, '' when nothing changed. A change nft cannot make in place (a map's type, a base
 * chain's hook) replaces the whole table, still in one transaction.
 */
export function diffRuleset(previous: ProxyRuleset | undefined, next: ProxyRuleset, table: string): string {
  if (!previous) return renderRuleset(next, table);
  const t = `ip ${table}`;
  for (const [name, map] of Object.entries(next.maps)) {
    const before = previous.maps[name];
    if (before && mapDefinition(before) !== mapDefinition(map)) return renderRuleset(next, table, { replace: true });
  }

  // Sets whose definition changed (an affinity timeout) are deleted and made again; the rules
  // naming them go first and come back after, so their chains count as changed.
  const redefinedSets = Object.keys(next.sets).filter((n) => previous.sets[n] && setDefinition(previous.sets[n]!) !== setDefinition(next.sets[n]!));
  const removedSets = Object.keys(previous.sets).filter((n) => !(n in next.sets));
  const newSets = Object.keys(next.sets).filter((n) => !(n in previous.sets));
  const namesSet = (chain: NftChain, set: string) => chain.rules.some((r) => r.includes(`@${set} `) || r.endsWith(`@${set}`));
  // One pass each way over the chains (for...in: no key arrays).
  const newChains: string[] = [];
  const changedChains: string[] = [];
  const removedChains: string[] = [];
  for (const name in next.chains) {
    const before = previous.chains[name];
    const after = next.chains[name]!;
    if (before === undefined) newChains.push(name);
    // The same object is a Service the planner did not plan again (plan.ts): the commonest case.
    else if (before === after && redefinedSets.length === 0) continue;
    else if (baseSpec(before) !== baseSpec(after)) return renderRuleset(next, table, { replace: true });
    else if (!sameRules(before, after) || redefinedSets.some((s) => namesSet(before, s))) changedChains.push(name);
  }
  for (const name in previous.chains) if (!(name in next.chains)) removedChains.push(name);

  const lines: string[] = [];
  for (const name of newSets) lines.push(`add set ${t} ${name} ${setDefinition(next.sets[name]!)}`);
  for (const [name, map] of Object.entries(next.maps)) if (!(name in previous.maps)) lines.push(`add map ${t} ${name} ${mapDefinition(map)}`);
  for (const name of newChains) lines.push(addChain(t, name, next.chains[name]!));
  // Emptied before anything they name goes: their old rules may jump to chains or read sets that are deleted below.
  for (const name of [...changedChains, ...removedChains]) lines.push(`flush chain ${t} ${name}`);
  for (const name of [...removedSets, ...redefinedSets]) lines.push(`delete set ${t} ${name}`);
  for (const name of redefinedSets) lines.push(`add set ${t} ${name} ${setDefinition(next.sets[name]!)}`);
  for (const name of [...newChains, ...changedChains]) for (const rule of next.chains[name]!.rules) lines.push(`add rule ${t} ${name} ${rule}`);

  for (const [name, set] of Object.entries(next.sets)) {
    const redefined = redefinedSets.includes(name);
    const old = previous.sets[name];
    if (old && !redefined && sameElements(old.elements, set.elements)) continue;
    const before = old && !redefined ? new Set(old.elements) : new Set<string>();
    const after = new Set(set.elements);
    pushElements(lines, 'delete', t, name, [...before].filter((e) => !after.has(e)));
    pushElements(lines, 'add', t, name, set.elements.filter((e) => !before.has(e)));
  }
  for (const [name, map] of Object.entries(next.maps)) {
    const { deleted, added } = diffElements(previous.maps[name]?.elements ?? [], map.elements);
    pushElements(lines, 'delete', t, name, deleted);
    pushElements(lines, 'add', t, name, added);
  }
  // Elements of removed maps go with their map, which only a changed program would drop.
  for (const name of Object.keys(previous.maps)) if (!(name in next.maps)) lines.push(`delete map ${t} ${name}`);
  // Last: by now no rule or map element refers to them. (Before Linux 6.2 the kernel noticed a
  // deleted element's reference to a chain only a moment later and refused this in the same
  // transaction: kube-proxy deletes such chains a sync later. The executor's full rewrite after a
  // failure covers those kernels.)
  for (const name of removedChains) lines.push(`delete chain ${t} ${name}`);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function addChain(t: string, name: string, chain: NftChain): string {
  const spec = baseSpec(chain);
  return spec ? `add chain ${t} ${name} { ${spec} }` : `add chain ${t} ${name}`;
}

function baseSpec(chain: NftChain): string {
  const b = chain.base;
  return b ? `type ${b.type} hook ${b.hook} priority ${b.priority} ;` : '';
}

function setDefinition(set: NftSet): string {
  const parts = [`type ${set.type} ;`];
  if (set.flags?.length) parts.push(`flags ${set.flags.join(',')} ;`);
  if (set.timeoutSeconds !== undefined) parts.push(`timeout ${set.timeoutSeconds}s ;`);
  if (set.comment) parts.push(`comment ${quote(set.comment)} ;`);
  return `{ ${parts.join(' ')} }`;
}

function mapDefinition(map: NftMap): string {
  return `{ ${map.typeof ? 'typeof' : 'type'} ${map.type} ;${map.comment ? ` comment ${quote(map.comment)} ;` : ''} }`;
}

function pushElements(lines: string[], op: 'add' | 'delete', t: string, name: string, elements: string[]): void {
  for (let i = 0; i < elements.length; i += ELEMENTS_PER_LINE) {
    lines.push(`${op} element ${t} ${name} { ${elements.slice(i, i + ELEMENTS_PER_LINE).join(', ')} }`);
  }
}

/**
 * The keys to delete and the "key : value" elements to add, looking inside the groups that are
 * not in both (a key is in one group of each). A key whose value changed is deleted and added:
 * nft refuses to add an existing key.
 */
function diffElements(before: readonly ElementGroup[], after: readonly ElementGroup[]): { deleted: string[]; added: string[] } {
  const deleted: string[] = [];
  const added: string[] = [];
  if (before === after) return { deleted, added };
  const kept = new Set(after);
  const gone = new Map<string, string>();
  for (const group of before) if (!kept.has(group)) for (const [k, v] of group) gone.set(k, v);
  const had = new Set(before);
  for (const group of after) {
    if (had.has(group)) continue;
    for (const [k, v] of group) {
      const old = gone.get(k);
      if (old !== undefined) gone.delete(k);
      if (old === v) continue; // the same element in a new group
      if (old !== undefined) deleted.push(k);
      added.push(`${k} : ${v}`);
    }
  }
  for (const k of gone.keys()) deleted.push(k);
  return { deleted, added };
}

/** The same elements in the same order: the commonest case, told without hashing. */
function sameElements(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRules(a: NftChain, b: NftChain): boolean {
  return a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);
}

const hasAnonymousMap = (chain: NftChain) => chain.rules.some((r) => r.includes('map {'));
/** The chains a rule jumps or goes to. */
const JUMP = /\b(?:goto|jump) ([^\s,}]+)/g;

/** nft's quoted strings take no escapes: a double quote cannot appear, so it is dropped. */
const quote = (s: string) => `"${s.replace(/"/g, '')}"`;
