// Small readers over objects that several planners share: time stamps, ownership, references.

import type { ObjectReference, OwnerReference, Resource } from '../../proto/resources';
import type { EventSpec, ObjectRef } from './types';

/** Milliseconds since the epoch of an RFC 3339 time stamp; undefined when absent or unreadable. */
export function timeOf(stamp: string | undefined): number | undefined {
  if (!stamp) return undefined;
  const ms = Date.parse(stamp);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The owner reference with controller: true, if any (an object has at most one). */
export function controllerRef(obj: { metadata: { ownerReferences?: OwnerReference[] } }): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** Whether `obj` is controlled by `owner`: by uid when the owner has one, else by kind and name. */
export function isControlledBy(obj: { metadata: { ownerReferences?: OwnerReference[] } }, owner: Resource): boolean {
  const ref = controllerRef(obj);
  if (!ref) return false;
  if (owner.metadata.uid) return ref.uid === owner.metadata.uid;
  return ref.kind === owner.kind && ref.name === owner.metadata.name;
}

/** An owner reference naming `owner` as the controller of a new object. */
export function controllerReferenceTo(owner: Resource): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
  };
}

export function refOf(obj: Resource): ObjectRef {
  const ref: ObjectRef = { name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid !== undefined) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion !== undefined) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

export function objectReference(obj: Resource): ObjectReference {
  const ref: ObjectReference = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace !== undefined) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid !== undefined) ref.uid = obj.metadata.uid;
  return ref;
}

export function eventFor(obj: Resource, component: string, type: EventSpec['type'], reason: string, message: string): EventSpec {
  return { involvedObject: objectReference(obj), type, reason, message, source: { component } };
}

/** `namespace/name`, as Kubernetes prints an object in messages (klog.KObj). */
export function keyOf(obj: Resource): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name ?? ''}` : obj.metadata.name ?? '';
}

/** JSON with object keys sorted and undefined dropped: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Deep equality of JSON-like values, ignoring key order and undefined members. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
