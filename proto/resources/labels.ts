// Label selectors and field selectors, as Kubernetes parses and matches them.
//
// A selector string (`app=web,tier in (a,b),!canary`) and a LabelSelector object (matchLabels +
// matchExpressions) both compile to the same list of requirements, all of which must hold (AND).
// `a=b` and `a==b` are `a In (b)`; `a!=b` is `a NotIn (b)`, which also holds when a is absent.

import type { LabelSelector, LabelSelectorRequirement } from './types';
import { BerthError } from '../errors';

export type Requirement = LabelSelectorRequirement;
export type Labels = Readonly<Record<string, string>> | undefined;

export class SelectorError extends BerthError {
  /** 1-based character position of the bad part in the selector text, when parsing text. */
  readonly position: number | undefined;
  constructor(message: string, position?: number) {
    super('invalid-argument', message);
    this.name = 'SelectorError';
    this.position = position;
  }
}

// --- validation of keys and values (Kubernetes' qualified names and label values) ---

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is invalid, or undefined when it is valid. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `prefix "${prefix}" must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')`;
    }
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME.test(name)) return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** Why a label value is invalid, or undefined when it is valid (the empty value is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !NAME.test(value)) return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

// --- the selector text ---

type TokenKind = 'id' | 'in' | 'notin' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | 'end';
interface Token { kind: TokenKind; text: string; pos: number }

const SYMBOLS = ['==', '!=', '=', '!', '(', ')', ','] as const;
const SPECIAL = new Set(['=', '!', '(', ')', ',', '<', '>']);

function tokenize(text: string, fail: (msg: string, pos: number) => never): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const symbol = SYMBOLS.find((s) => text.startsWith(s, i));
    if (symbol) {
      tokens.push({ kind: symbol, text: symbol, pos: i + 1 });
      i += symbol.length;
      continue;
    }
    if (c === '<' || c === '>') fail(`operator "${c}" is not supported (use =, ==, !=, in, notin, exists or !)`, i + 1);
    const start = i;
    while (i < text.length && !/\s/.test(text[i]!) && !SPECIAL.has(text[i]!)) i++;
    const word = text.slice(start, i);
    const kind: TokenKind = word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'id';
    tokens.push({ kind, text: word, pos: start + 1 });
  }
  tokens.push({ kind: 'end', text: 'end of string', pos: text.length + 1 });
  return tokens;
}

const describe = (t: Token) => (t.kind === 'end' ? 'end of string' : JSON.stringify(t.text));

/**
 * Parse a selector such as `app=web,tier in (a,b),!canary,env!=prod`. The empty string selects
 * everything. Throws a SelectorError naming the position of the first bad part.
 */
export function parseLabelSelector(text: string): Requirement[] {
  const fail = (msg: string, pos: number): never => {
    throw new SelectorError(`invalid label selector ${JSON.stringify(text)}: ${msg} at position ${pos}`, pos);
  };
  const tokens = tokenize(text, fail);
  let at = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;
  const requirements: Requirement[] = [];
  if (peek().kind === 'end') return requirements;

  const key = (): string => {
    const t = next();
    if (t.kind !== 'id') fail(`expected a label key, found ${describe(t)}`, t.pos);
    const problem = labelKeyProblem(t.text);
    if (problem) fail(`label key "${t.text}": ${problem}`, t.pos);
    return t.text;
  };
  const value = (t: Token): string => {
    const problem = labelValueProblem(t.text);
    if (problem) fail(`label value "${t.text}": ${problem}`, t.pos);
    return t.text;
  };

  for (;;) {
    const first = peek();
    if (first.kind === '!') {
      next();
      requirements.push({ key: key(), operator: 'DoesNotExist' });
    } else {
      const k = key();
      const op = peek();
      switch (op.kind) {
        case ',':
        case 'end':
          requirements.push({ key: k, operator: 'Exists' });
          break;
        case '=':
        case '==':
        case '!=': {
          next();
          // `a=` selects the empty value, as in Kubernetes; "in" and "notin" are values here.
          const t = peek();
          const v = t.kind === 'id' || t.kind === 'in' || t.kind === 'notin' ? value(next()) : '';
          requirements.push({ key: k, operator: op.kind === '!=' ? 'NotIn' : 'In', values: [v] });
          break;
        }
        case 'in':
        case 'notin': {
          next();
          const open = next();
          if (open.kind !== '(') fail(`expected "(" after "${op.text}", found ${describe(open)}`, open.pos);
          const values = valueList(open);
          requirements.push({ key: k, operator: op.kind === 'in' ? 'In' : 'NotIn', values });
          break;
        }
        default:
          fail(`expected one of =, ==, !=, in, notin, "," or end of string after key "${k}", found ${describe(op)}`, op.pos);
      }
    }
    const sep = next();
    if (sep.kind === 'end') return requirements;
    if (sep.kind !== ',') fail(`expected "," or end of string, found ${describe(sep)}`, sep.pos);
    if (peek().kind === 'end') fail('expected a requirement after ","', peek().pos);
  }

  function valueList(open: Token): string[] {
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = next();
      if (t.kind === ')') {
        // `(a,)` and `(,a)` carry the empty value, as Kubernetes reads them.
        if (expectValue && values.length > 0) values.push('');
        break;
      }
      if (t.kind === ',') {
        if (expectValue) values.push('');
        expectValue = true;
        continue;
      }
      if ((t.kind === 'id' || t.kind === 'in' || t.kind === 'notin') && expectValue) {
        values.push(value(t));
        expectValue = false;
        continue;
      }
      fail(expectValue ? `expected a value, "," or ")", found ${describe(t)}` : `expected "," or ")", found ${describe(t)}`, t.pos);
    }
    const unique = [...new Set(values)];
    if (unique.length === 0) fail('the set of values for in/notin must not be empty', open.pos);
    return unique;
  }
}

// --- matching ---

/** Whether labels satisfy every requirement (an empty list selects everything). */
export function matchesRequirements(labels: Labels, requirements: readonly Requirement[]): boolean {
  return requirements.every((r) => matchesRequirement(labels, r));
}

function matchesRequirement(labels: Labels, r: Requirement): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.operator) {
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'In':
      return has && (r.values ?? []).includes(labels![r.key]!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(labels![r.key]!);
    default:
      return false;
  }
}

/** Whether labels match a selector string (parsed here; prefer parsing once for many objects). */
export function matchesSelectorText(labels: Labels, selector: string): boolean {
  return matchesRequirements(labels, parseLabelSelector(selector));
}

/**
 * The requirements of a LabelSelector object: matchLabels as `In (value)`, then matchExpressions.
 * Throws a SelectorError for an unknown operator, a missing or superfluous values list, or an
 * invalid key or value.
 */
export function selectorRequirements(selector: LabelSelector): Requirement[] {
  const out: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) throw new SelectorError(`invalid selector: matchLabels "${key}": ${problem}`);
    out.push({ key, operator: 'In', values: [value] });
  }
  (selector.matchExpressions ?? []).forEach((e, i) => {
    const where = `matchExpressions[${i}]`;
    const keyProblem = labelKeyProblem(e.key ?? '');
    if (keyProblem) throw new SelectorError(`invalid selector: ${where}.key "${e.key ?? ''}": ${keyProblem}`);
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (!e.values || e.values.length === 0) throw new SelectorError(`invalid selector: ${where}.values must not be empty for operator ${e.operator}`);
        for (const v of e.values) {
          const p = labelValueProblem(v);
          if (p) throw new SelectorError(`invalid selector: ${where}.values "${v}": ${p}`);
        }
        out.push({ key: e.key, operator: e.operator, values: [...e.values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (e.values && e.values.length > 0) throw new SelectorError(`invalid selector: ${where}.values must be empty for operator ${e.operator}`);
        out.push({ key: e.key, operator: e.operator });
        break;
      default:
        throw new SelectorError(`invalid selector: ${where}.operator "${String(e.operator)}" is not one of In, NotIn, Exists, DoesNotExist`);
    }
  });
  return out;
}

/**
 * Whether labels match a LabelSelector object. As in Kubernetes, an absent selector selects
 * nothing and an empty one ({}) selects everything.
 */
export function matchesLabelSelector(labels: Labels, selector: LabelSelector | undefined): boolean {
  if (!selector) return false;
  return matchesRequirements(labels, selectorRequirements(selector));
}

/** True when a selector has no matchLabels and no matchExpressions (it would select everything). */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  if (!selector) return true;
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** The text form of requirements: `app=web,tier in (a,b),!canary`; "" for none. */
export function formatRequirements(requirements: readonly Requirement[]): string {
  return requirements.map((r) => {
    const values = r.values ?? [];
    switch (r.operator) {
      case 'Exists': return r.key;
      case 'DoesNotExist': return `!${r.key}`;
      case 'In': return values.length === 1 ? `${r.key}=${values[0]}` : `${r.key} in (${values.join(',')})`;
      case 'NotIn': return values.length === 1 ? `${r.key}!=${values[0]}` : `${r.key} notin (${values.join(',')})`;
      default: return '';
    }
  }).join(',');
}

/** A LabelSelector as text, for display (`berth describe`, `kubectl get -o wide`'s SELECTOR). */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '<none>';
  return formatRequirements(selectorRequirements(selector));
}

// --- field selectors ---

/** The fields that can be selected on, and how to read each from any object (absent reads ""). */
export const FIELD_PATHS: Readonly<Record<string, (o: FieldSource) => string | undefined>> = {
  'metadata.name': (o) => o.metadata?.name,
  'metadata.namespace': (o) => o.metadata?.namespace,
  'spec.nodeName': (o) => o.spec?.nodeName,
  'status.phase': (o) => o.status?.phase,
  'involvedObject.kind': (o) => o.involvedObject?.kind,
  'involvedObject.name': (o) => o.involvedObject?.name,
  'involvedObject.uid': (o) => o.involvedObject?.uid,
};

/** The shape field selectors read: any resource (all fields optional). */
export interface FieldSource {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
  involvedObject?: { kind?: string; name?: string; uid?: string };
}

export interface FieldRequirement {
  path: string;
  operator: '=' | '!=';
  value: string;
}

/**
 * Parse `spec.nodeName=n1,status.phase!=Running`. `==` is `=`; a backslash escapes `,`, `=`, `!`
 * and itself in values. Throws a SelectorError naming the position of the bad part.
 */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const fail = (msg: string, pos: number): never => {
    throw new SelectorError(`invalid field selector ${JSON.stringify(text)}: ${msg} at position ${pos}`, pos);
  };
  const out: FieldRequirement[] = [];
  if (text.trim() === '') return out;
  for (const { part, start } of splitUnescaped(text)) {
    const m = /^(\s*)([^=!\s]*)\s*(==|!=|=)(.*)$/s.exec(part);
    if (!m) {
      const pos = start + part.length - part.trimStart().length;
      if (part.trim() === '') fail('expected a requirement, found nothing', pos);
      fail(`expected "path=value" or "path!=value", found ${JSON.stringify(part.trim())}`, pos);
    }
    const [, lead, path, op, rawValue] = m!;
    const pathPos = start + lead!.length;
    if (!path) fail(`expected a field path before "${op}"`, pathPos);
    if (!(path! in FIELD_PATHS)) {
      fail(`field label not supported: ${path} (supported: ${Object.keys(FIELD_PATHS).join(', ')})`, pathPos);
    }
    out.push({ path: path!, operator: op === '!=' ? '!=' : '=', value: unescape(rawValue!.trim()) });
  }
  return out;
}

function splitUnescaped(text: string): { part: string; start: number }[] {
  const parts: { part: string; start: number }[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === ',') {
      parts.push({ part: text.slice(start, i), start: start + 1 });
      start = i + 1;
    }
  }
  parts.push({ part: text.slice(start), start: start + 1 });
  return parts;
}

const unescape = (v: string) => v.replace(/\\(.)/g, '$1');

/** Whether an object satisfies every field requirement (a field the object lacks reads as ""). */
export function matchesFieldSelector(object: FieldSource, requirements: readonly FieldRequirement[]): boolean {
  return requirements.every((r) => {
    const actual = FIELD_PATHS[r.path]?.(object) ?? '';
    return r.operator === '=' ? actual === r.value : actual !== r.value;
  });
}
