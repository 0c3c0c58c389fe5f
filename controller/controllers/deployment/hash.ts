// A pod template's identity: the pod-template-hash label value and the ReplicaSet name suffix.
// Two templates that mean the same get the same hash: keys are sorted, and absent, undefined,
// empty lists and empty maps are all the same (as Kubernetes' semantic equality has it).

import { createHash } from 'node:crypto';
import type { PodTemplateSpec } from '../../../proto/resources';
import { POD_TEMPLATE_HASH_LABEL } from './types';

/** Letters and digits without vowels (no words) nor look-alikes, as Kubernetes' SafeEncodeString. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const HASH_LENGTH = 10;

/** A template as text, without its pod-template-hash label, so that equal templates give equal text. */
export function canonicalTemplate(template: PodTemplateSpec): string {
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  const withoutHash = { ...template, metadata: { ...template.metadata, labels } };
  return JSON.stringify(normalize(withoutHash) ?? {});
}

/** Whether two templates are the same but for the pod-template-hash label (EqualIgnoreHash). */
export function sameTemplate(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalTemplate(a) === canonicalTemplate(b);
}

/**
 * The template's hash: 10 characters of [bcdfghjklmnpqrstvwxz2456789], a valid label value and
 * name suffix. `salt` (a collision count) gives a different hash for the same template.
 */
export function templateHash(template: PodTemplateSpec, salt = 0): string {
  const digest = createHash('sha256').update(canonicalTemplate(template));
  if (salt > 0) digest.update(`\0${salt}`);
  let n = digest.digest().readBigUInt64BE(0);
  let out = '';
  for (let i = 0; i < HASH_LENGTH; i++) {
    out += SAFE_ALPHABET[Number(n % BigInt(SAFE_ALPHABET.length))];
    n /= BigInt(SAFE_ALPHABET.length);
  }
  return out;
}

/** Sorted keys; undefined, {} and [] dropped (returns undefined for "nothing"). */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    return value.map((v) => normalize(v) ?? null);
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = normalize((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}
