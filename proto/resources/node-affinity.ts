// Whether a node matches node selector terms (a PersistentVolume's nodeAffinity, a pod's required
// node affinity): any term may match, and a term matches when all its expressions hold, as
// Kubernetes' nodeaffinity helpers. matchFields know metadata.name only, as there. Pure.

import type { Node, NodeSelectorTerm } from './types';

type Requirement = NonNullable<NodeSelectorTerm['matchExpressions']>[number];

/** True when the node matches at least one term; a term with no expressions matches nothing. */
export function nodeMatchesTerms(node: Node, terms: readonly NodeSelectorTerm[]): boolean {
  return terms.some((term) => termMatches(node, term));
}

function termMatches(node: Node, term: NodeSelectorTerm): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return expressions.every((r) => requirementHolds(r, labels[r.key]))
    && fields.every((r) => r.key === 'metadata.name' && requirementHolds(r, node.metadata.name));
}

function requirementHolds(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      // Both sides must be integers; anything else does not match.
      if (value === undefined || values.length !== 1 || !/^-?[0-9]+$/.test(value) || !/^-?[0-9]+$/.test(values[0]!)) return false;
      return r.operator === 'Gt' ? BigInt(value) > BigInt(values[0]!) : BigInt(value) < BigInt(values[0]!);
    }
    default:
      return false;
  }
}

/** The one node a volume is pinned to by `kubernetes.io/hostname In [name]`, when its affinity says so simply. */
export function pinnedHostname(terms: readonly NodeSelectorTerm[] | undefined): string | undefined {
  if (terms?.length !== 1) return undefined;
  const exprs = terms[0]!.matchExpressions ?? [];
  const host = exprs.find((e) => e.key === 'kubernetes.io/hostname' && e.operator === 'In' && e.values?.length === 1);
  return host?.values?.[0];
}
