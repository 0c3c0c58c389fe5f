// Which kinds a manifest may carry, and the one-line answer when it carries another: checked
// before the schema, since the schema to use depends on the kind.

import { definitionOf, KINDS, kindInfo, type CustomResourceDefinition } from '../resources';
import { APPLIABLE_KINDS, type AppliableKind } from './schemas';
import type { FieldIssue } from './types';

/** Why a kind that exists cannot come from a manifest. */
const NOT_APPLIABLE: Record<string, string> = {
  Node: 'nodes are registered by their agents',
  Lease: 'leases are the heartbeats that agents renew',
  Event: 'events are recorded by the controller and the agents',
  ControllerRevision: 'controller revisions are recorded by the DaemonSet and StatefulSet controllers',
};

export type KindCheck = { ok: true; kind: AppliableKind } | { ok: true; definition: CustomResourceDefinition } | { ok: false; issues: FieldIssue[] };

/**
 * The document's appliable kind (or the definition of its custom kind), or the issues that say
 * why it has none. `definitions`: CustomResourceDefinitions that count besides the catalog's (those
 * applied in the same batch, before the cluster has them).
 */
export function checkKind(doc: Record<string, unknown>, definitions: readonly CustomResourceDefinition[] = []): KindCheck {
  const issues: FieldIssue[] = [];
  for (const field of ['apiVersion', 'kind'] as const) {
    if (!(field in doc) || doc[field] === null) {
      issues.push({ field, detail: 'is required', location: { path: [], part: 'value' } });
    } else if (typeof doc[field] !== 'string') {
      issues.push({ field, detail: 'must be a string', location: { path: [field], part: 'value' } });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  const kind = doc.kind as string;
  const apiVersion = doc.apiVersion as string;
  const at = (field: 'kind' | 'apiVersion', message: string): KindCheck => ({
    ok: false,
    issues: [{ field: '', detail: message, location: { path: [field], part: 'value' } }],
  });

  const known = KINDS.find((k) => k.kind === kind);
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  if (!known) {
    const definition = definitions.find((d) => d.spec.names.kind === kind && d.spec.group === group) ?? definitionOf(kind);
    if (definition) return { ok: true, definition };
    if (group.includes('.') && !group.endsWith('.k8s.io')) {
      return at('kind', `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)}: ensure CRDs are installed first`);
    }
    const near = kindInfo(kind);
    const hint = near && near.kind !== kind && isAppliable(near.kind) ? `; did you mean ${near.kind}?` : '';
    return at('kind', `kind ${JSON.stringify(kind)} is not known (apiVersion ${apiVersion}); known kinds: ${APPLIABLE_KINDS.join(', ')}${hint}`);
  }
  if (!isAppliable(known.kind)) return at('kind', `kind ${known.kind} cannot be applied: ${NOT_APPLIABLE[known.kind] ?? 'it is managed by the cluster'}`);
  if (apiVersion !== known.apiVersion) {
    return at('apiVersion', `apiVersion ${JSON.stringify(apiVersion)} is not served for kind ${known.kind}; use ${known.apiVersion}`);
  }
  return { ok: true, kind: known.kind };
}

function isAppliable(kind: string): kind is AppliableKind {
  return (APPLIABLE_KINDS as readonly string[]).includes(kind);
}
