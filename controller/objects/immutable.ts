// Kubernetes' rules for fields that never change: ConfigMaps and Secrets marked `immutable: true`
// (their data, and the mark), a VolumeAttributesClass's driverName and parameters (only a
// delete and a new object can change them), a CustomResourceDefinition's scope and kind. Pure.

import { isDeepStrictEqual } from 'node:util';
import type { ConfigMap, Resource, Secret } from '../../proto/resources';
import { BerthError } from '../../proto/errors';

/** Refuses (invalid-argument, Kubernetes' message) a change an immutable ConfigMap or Secret cannot take. */
export function checkImmutable(stored: Resource, next: Resource): void {
  if (stored.kind === 'CertificateSigningRequest' && next.kind === 'CertificateSigningRequest') {
    // What was asked, and by whom, never changes: an approval is of this request.
    if (!isDeepStrictEqual(stored.spec, next.spec)) throw new BerthError('invalid-argument', `certificatesigningrequests.certificates.k8s.io "${stored.metadata.name}" is invalid: spec: Forbidden: field is immutable`);
    return;
  }
  if (stored.kind === 'CustomResourceDefinition' && next.kind === 'CustomResourceDefinition') {
    // Objects are stored under the scope and named by the kind they were made with.
    const refuse = (field: string) => new BerthError('invalid-argument', `CustomResourceDefinition.apiextensions.k8s.io "${stored.metadata.name}" is invalid: ${field}: Invalid value: field is immutable`);
    if (stored.spec.scope !== next.spec.scope) throw refuse('spec.scope');
    if (stored.spec.names.kind !== next.spec.names.kind) throw refuse('spec.names.kind');
    return;
  }
  if (stored.kind === 'VolumeAttributesClass' && next.kind === 'VolumeAttributesClass') {
    for (const field of ['driverName', 'parameters'] as const) {
      if (!isDeepStrictEqual(stored[field], next[field])) throw new BerthError('invalid-argument', `VolumeAttributesClass.storage.k8s.io "${stored.metadata.name}" is invalid: ${field}: Invalid value: field is immutable`);
    }
    return;
  }
  if (stored.kind !== 'ConfigMap' && stored.kind !== 'Secret') return;
  const before = stored as ConfigMap | Secret;
  if (before.immutable !== true) return;
  const after = next as ConfigMap | Secret;
  const fields = before.kind === 'ConfigMap' ? ['data', 'binaryData'] as const : ['data', 'type'] as const;
  const refuse = (field: string) => new BerthError('invalid-argument',
    `${before.kind} "${before.metadata.name}" is invalid: ${field}: Forbidden: field is immutable when \`immutable\` is set`);
  if (after.immutable !== true) throw refuse('immutable');
  for (const field of fields) {
    if (!isDeepStrictEqual((before as unknown as Record<string, unknown>)[field], (after as unknown as Record<string, unknown>)[field])) throw refuse(field);
  }
}
