// CEL, the Common Expression Language, as Kubernetes' admission policies write it: parsed when a
// policy is validated (a syntax error refuses the document), planned once per expression text, and
// evaluated over documents seen as CEL sees Kubernetes objects (maps, lists, integers as int).
// The evaluator is @bufbuild/cel with its strings extension (Kubernetes' `startsWith`, `contains`,
// `indexOf`...); Kubernetes' own libraries (quantity, cidr, url, authorizer) are not there, so an
// expression calling them fails to evaluate and its policy's failurePolicy decides.
//
// The library is loaded on first use, not on import: the CLI validates manifests without paying
// for it unless a document holds an expression.

import type * as Cel from '@bufbuild/cel';

export class CelEvaluationError extends Error {
  constructor(readonly expression: string, message: string) {
    super(message);
    this.name = 'CelEvaluationError';
  }
}

interface Loaded {
  cel: typeof Cel;
  env: ReturnType<typeof Cel.celEnv>;
}

let loaded: Loaded | undefined;
function load(): Loaded {
  if (!loaded) {
    const cel = require('@bufbuild/cel') as typeof Cel;
    const { strings } = require('@bufbuild/cel/ext') as typeof import('@bufbuild/cel/ext');
    loaded = { cel, env: cel.celEnv({ funcs: strings }) };
  }
  return loaded;
}

/** Why an expression does not parse (one line, with its position), or undefined when it does. */
export function celSyntaxError(expression: string): string | undefined {
  try {
    load().cel.parse(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

/** A CEL value as it comes out of an expression (bool, string, int as bigint, lists, maps...). */
export type CelOutput = unknown;
export type CelProgram = (bindings: Record<string, unknown>) => CelOutput;

const programs = new Map<string, CelProgram>();
const MAX_PROGRAMS = 1000;

/** An expression, planned once: its program throws CelEvaluationError when it cannot be evaluated. */
export function compileCel(expression: string): CelProgram {
  let program = programs.get(expression);
  if (program) return program;
  const { cel, env } = load();
  let planned: (bindings: Record<string, unknown>) => unknown;
  try {
    planned = cel.plan(env, cel.parse(expression)) as typeof planned;
  } catch (err) {
    throw new CelEvaluationError(expression, `compilation failed: ${(err as Error).message.split('\n')[0]}`);
  }
  program = (bindings) => {
    const result = planned(bindings);
    if (cel.isCelError(result)) throw new CelEvaluationError(expression, result.message);
    return result;
  };
  if (programs.size >= MAX_PROGRAMS) programs.clear();
  programs.set(expression, program);
  return program;
}

/** A JSON document as CEL values: objects as maps, whole numbers as int (Kubernetes' integers). */
export function toCelValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCelValue(v)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

/** A CEL output as text, for a messageExpression. */
export function celText(value: CelOutput): string {
  return typeof value === 'string' ? value : String(value);
}

/**
 * How deep the expression nests list macros (all, exists, exists_one, map, filter): each is a
 * comprehension over its list, so a macro inside another costs the product of both lists. 0 when
 * it has none or does not parse.
 */
export function comprehensionDepth(expression: string): number {
  let parsed: unknown;
  try {
    parsed = load().cel.parse(expression);
  } catch {
    return 0;
  }
  const depth = (node: unknown): number => {
    if (node === null || typeof node !== 'object') return 0;
    const kind = (node as { exprKind?: { case?: string } }).exprKind?.case;
    let deepest = 0;
    for (const value of Object.values(node)) deepest = Math.max(deepest, depth(value));
    return kind === 'comprehensionExpr' ? deepest + 1 : deepest;
  };
  return depth(parsed);
}
