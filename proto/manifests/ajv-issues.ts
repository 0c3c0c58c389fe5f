// ajv's errors turned into one-line messages a person can act on: one message per field, the
// wording of the schema's x-expected where it has one, and a single message for an anyOf/oneOf
// rather than one per branch. Pure: (errors, document) -> issues.

import type { ErrorObject } from 'ajv';
import { EXPECTED_KEYWORD } from './schemas';
import { formatPath, pointerToPath } from './path';
import type { PathSegment, FieldIssue } from './types';

/** Lower is more useful: when ajv reports several errors for one field, the most useful one is kept. */
const PRIORITY: Record<string, number> = {
  type: 0, required: 0, additionalProperties: 0, enum: 1, const: 1, anyOf: 1, oneOf: 1,
  pattern: 2, format: 2, minimum: 3, maximum: 3, exclusiveMinimum: 3, exclusiveMaximum: 3,
  minItems: 3, maxItems: 3, minLength: 4, maxLength: 4,
};

interface Candidate {
  issue: FieldIssue;
  priority: number;
}

export function issuesFromAjv(errors: readonly ErrorObject[], document: unknown): FieldIssue[] {
  const candidates = collapse([...errors], document);
  // One message per field, the most useful; order as ajv found them.
  const best = new Map<string, Candidate>();
  for (const c of candidates) {
    const held = best.get(c.issue.field);
    if (!held || c.priority < held.priority) best.set(c.issue.field, c);
  }
  const kept = new Set(best.values());
  return candidates.filter((c) => kept.has(c)).map((c) => c.issue);
}

function collapse(errors: ErrorObject[], document: unknown): Candidate[] {
  // Outermost combinators first, so a nested one is handled inside its chosen branch.
  const combinators = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const consumed = new Set<ErrorObject>();
  const replacements = new Map<ErrorObject, Candidate[]>();
  for (const c of combinators) {
    if (consumed.has(c)) continue;
    const members = errors.filter((e) => e !== c && !consumed.has(e) && isBranchError(e, c));
    for (const m of members) consumed.add(m);
    replacements.set(c, chooseBranch(c, members, document));
  }
  const out: Candidate[] = [];
  for (const e of errors) {
    if (consumed.has(e)) continue;
    const replaced = replacements.get(e);
    if (replaced) out.push(...replaced);
    else if (e.keyword === 'propertyNames' && errors.some((o) => o.propertyName === e.params.propertyName && o.instancePath === e.instancePath)) continue;
    else out.push(translate(e, document));
  }
  return out;
}

function isBranchError(e: ErrorObject, combinator: ErrorObject): boolean {
  const inside = e.instancePath === combinator.instancePath || e.instancePath.startsWith(combinator.instancePath + '/');
  return inside && e.schemaPath.startsWith(combinator.schemaPath + '/');
}

/** The single most useful report for a failed anyOf/oneOf. */
function chooseBranch(c: ErrorObject, members: ErrorObject[], document: unknown): Candidate[] {
  const path = pointerToPath(c.instancePath, document);
  const expected = expectedOf(c.parentSchema);
  const deeper = members.some((m) => m.instancePath !== c.instancePath);
  const single = (message: string): Candidate[] => [{ issue: valueIssue(path, message), priority: PRIORITY.anyOf }];
  // The schema's own wording says it best, unless a branch got inside the value (an object
  // branch whose fields are wrong), where the inner message is the useful one.
  if (expected && !deeper) return single(`must be ${expected}`);

  const branches = new Map<string, ErrorObject[]>();
  for (const m of members) {
    const index = m.schemaPath.slice(c.schemaPath.length + 1).split('/')[0];
    branches.set(index, [...(branches.get(index) ?? []), m]);
  }
  // A branch "fits" when the value has its type; the fitting branch with the fewest errors is
  // most likely what the author meant.
  const fitting = [...branches.values()]
    .filter((b) => !b.some((m) => m.keyword === 'type' && m.instancePath === c.instancePath))
    .sort((a, b) => a.length - b.length);
  if (fitting.length > 0) return collapse(fitting[0], document);
  if (expected) return single(`must be ${expected}`);
  const types = [...new Set(members.filter((m) => m.keyword === 'type').flatMap((m) => String(m.params.type).split(',')))];
  if (types.length > 0) return single(`must be ${types.map(typeWord).join(' or ')}`);
  return single(c.keyword === 'oneOf' ? 'must match exactly one of the allowed forms' : 'must match one of the allowed forms');
}

function translate(e: ErrorObject, document: unknown): Candidate {
  const path = pointerToPath(e.instancePath, document);
  const priority = PRIORITY[e.keyword] ?? 5;
  const expected = expectedOf(e.parentSchema);
  const p = e.params as Record<string, unknown>;
  if (e.propertyName !== undefined) {
    // A bad key (propertyNames): point at the key itself.
    const keyPath = [...path, e.propertyName];
    const message = expected ? `must be ${expected}` : `is not a valid key (${e.message ?? 'invalid'})`;
    return { issue: { field: formatPath(keyPath), detail: message, location: { path: keyPath, part: 'key' } }, priority };
  }
  switch (e.keyword) {
    case 'required': {
      const missing = String(p.missingProperty);
      return { issue: { field: formatPath([...path, missing]), detail: 'is required', location: { path, part: 'value' } }, priority };
    }
    case 'additionalProperties': {
      const unknown = String(p.additionalProperty);
      const keyPath = [...path, unknown];
      return { issue: { field: formatPath(keyPath), detail: `unknown field ${JSON.stringify(unknown)}`, location: { path: keyPath, part: 'key' } }, priority };
    }
    default:
      return { issue: valueIssue(path, messageOf(e, expected)), priority };
  }
}

function messageOf(e: ErrorObject, expected: string | undefined): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const types = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      if (expected && types.length > 1) return `must be ${expected}`;
      return `must be ${types.map(typeWord).join(' or ')}`;
    }
    case 'enum':
      return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'pattern':
    case 'format':
      return expected ? `must be ${expected}` : `must match the pattern ${String(p.pattern ?? p.format)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return expected ? `must be ${expected}` : `must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'uniqueItems':
      return 'must not contain duplicates';
    default:
      return e.message ?? `fails the schema's ${e.keyword} rule`;
  }
}

function valueIssue(path: PathSegment[], message: string): FieldIssue {
  return { field: formatPath(path), detail: message, location: { path, part: 'value' } };
}

function expectedOf(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const expected = (schema as Record<string, unknown>)[EXPECTED_KEYWORD];
  return typeof expected === 'string' ? expected : undefined;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean (true or false)',
  object: 'an object', array: 'a list', null: 'null',
};

function typeWord(type: string): string {
  return TYPE_WORDS[type] ?? type;
}
