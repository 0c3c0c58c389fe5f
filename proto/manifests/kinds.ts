// Which kinds a manifest may carry, and the one-line answer when it carries another: checked
// before the schema, since the schema to use depends on the kind.

import { KINDS, kindInfo } from '../resources';
import { APPLIABLE_KINDS, type AppliableKind } from './schemas';
import type { FieldIssue } from './types';

/** Why a kind that exists cannot come from a manifest. */
const NOT_APPLIABLE: Record<string, string> = {
  Node: 'nodes are registered by their agents',
  Lease: 'leases are the heartbeats that agents renew',
  Event: 'events are recorded by the controller and the agents',
  ControllerRevision: 'controller revisions are recorded by the DaemonSet and StatefulSet controllers',
};

export type KindCheck = { ok: true; kind: AppliableKind } | { ok: false; issues: FieldIssue[] };

/** The document's appliable kind, or the issues that say why it has none. */
export function checkKind(doc: Record<string, unknown>): KindCheck {
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
  if (!known) {
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
