// Server-side apply: a set of documents made true in the store, each reported as created,
// configured or unchanged, and the apply set recorded so that a later apply with prune deletes
// exactly the objects this set applied before and no longer contains.
//
// What an apply owns: an object's labels, its annotations except those the system keeps
// (deployment.kubernetes.io/, berth.io/), and its spec. Status and the server's metadata stay.
// A pod's spec cannot change after creation (as in Kubernetes), except that the scheduler's
// nodeName and the priority admission resolved are kept.
//
// All or nothing: every document is validated, and every pod the apply would create admitted by
// its namespace's Pod Security level (as that namespace will be once applied), before anything is
// written; a refused pod refuses the whole apply, naming the pod.

import { isDeepStrictEqual } from 'node:util';
import type { CertificateSigningRequest, Container, CustomObject, CustomResourceDefinition, KindInfo, Namespace, PersistentVolumeClaim, Pod, Resource, Service } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { acceptedDefinitions, customKindInfo, isCustomKind, KINDS, kindInfo, withDefaults } from '../../proto/resources';
import { admitPod } from '../admission';
import { carryAllocations } from '../services';
import { ignoreNotFound } from './errors';
import { describeObject, infoOf, REGISTRY_PREFIX } from './keys';
import { isDefinition, validateResource, withSchemaDefaults } from '../../proto/manifests';
import type { Registry } from './registry';

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned';

export interface ApplyOutcome {
  action: ApplyAction;
  object: Resource;
}

export interface ApplyOptions {
  dryRun: boolean;
  /** The set this apply records; empty: nothing recorded, prune impossible. */
  applySet: string;
  prune: boolean;
  /**
   * Asked, before anything is written, for each object the apply would create or change and each
   * it would prune; it throws to refuse (authorization), and then nothing is stored.
   */
  authorize?: (verb: 'create' | 'patch' | 'delete', object: { info: KindInfo; namespace?: string | undefined; name: string }) => Promise<void>;
}

interface ApplySetMember {
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
}

/** Top-level fields an apply never takes from the document: identity, the server's metadata, status. */
const OWNED_ELSEWHERE = new Set(['apiVersion', 'kind', 'metadata', 'status']);

const SYSTEM_ANNOTATION_PREFIXES = ['deployment.kubernetes.io/', 'berth.io/', 'pv.kubernetes.io/', 'volume.kubernetes.io/', 'volume.beta.kubernetes.io/', 'kubernetes.io/limit-ranger'];

const applySetKey = (name: string) => `${REGISTRY_PREFIX}applysets/${name}`;

const identity = (o: { kind: string; namespace?: string; name: string }) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

/**
 * The kind of an applied object: a built-in or known custom kind, or one a definition in the same
 * apply makes (which the cluster does not have yet when the apply is a dry run).
 */
function kindIn(kind: string, definitions: readonly CustomResourceDefinition[]): KindInfo | undefined {
  const batch = definitions.find((d) => d.spec.names.kind === kind);
  return kindInfo(kind) ?? (batch ? customKindInfo(batch) : undefined);
}

/** Validate every document first: when any is invalid nothing is written. */
export function prepareDocuments(documents: unknown[]): Resource[] {
  const messages: string[] = [];
  const prepared: Resource[] = [];
  const seen = new Set<string>();
  const definitions = documents.filter(isDefinition);
  for (const doc of documents) {
    const issues = validateResource(doc, { definitions });
    if (issues.length > 0) {
      messages.push(...issues.map((i) => i.message));
      continue;
    }
    const obj = withCustomDefaults(withDefaults(doc as Resource), definitions);
    const id = identity({ kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' });
    if (seen.has(id)) messages.push(`${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}: appears twice in one apply`);
    seen.add(id);
    prepared.push(obj);
  }
  if (messages.length > 0) throw new BerthError('invalid-argument', messages.join('\n'));
  // Namespaces before what lives in them, definitions before their objects.
  const rank = (o: Resource) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
  return [...prepared].sort((a, b) => rank(a) - rank(b));
}

/** An object of a custom kind in its namespace (or none, cluster-scoped), its schema's defaults filled in. */
function withCustomDefaults(obj: Resource, definitions: readonly CustomResourceDefinition[]): Resource {
  const info = kindIn(obj.kind, definitions);
  if (!info || !('definition' in info)) return obj;
  const metadata = { ...obj.metadata };
  if (info.namespaced) metadata.namespace ||= 'default';
  else delete metadata.namespace;
  return withSchemaDefaults({ ...obj, metadata } as unknown as CustomObject, info.definition as CustomResourceDefinition) as unknown as Resource;
}

/**
 * Objects of a kind whose definition (in this apply) will not have its names accepted are refused
 * before anything is written, with the reason, rather than the definition stored and its objects not.
 */
async function refuseUnservedKinds(registry: Registry, definitions: CustomResourceDefinition[], objects: Resource[]): Promise<void> {
  const stored = (await registry.list<CustomResourceDefinition>('CustomResourceDefinition')).items;
  const created = (d: CustomResourceDefinition) => stored.find((s) => s.metadata.name === d.metadata.name)?.metadata.creationTimestamp ?? registry.now();
  const all = [...stored.filter((s) => !definitions.some((d) => d.metadata.name === s.metadata.name)),
    ...definitions.map((d) => ({ ...d, metadata: { ...d.metadata, creationTimestamp: created(d) } }))];
  const { refused } = acceptedDefinitions(all, KINDS);
  const messages = definitions.flatMap((d) => {
    const why = refused.get(d.metadata.name ?? '');
    return why && objects.some((o) => o.kind === d.spec.names.kind)
      ? [`${d.spec.names.kind} objects cannot be applied: the names of CustomResourceDefinition ${d.metadata.name} are not accepted: ${why}`]
      : [];
  });
  if (messages.length > 0) throw new BerthError('invalid-argument', messages.join('\n'));
}

/** The stored object, or undefined also when its kind is one this (dry-run) apply only defines. */
async function currentOf(registry: Registry, obj: Resource): Promise<Resource | undefined> {
  if (!kindInfo(obj.kind)) return undefined;
  return registry.tryGet(obj.kind, obj.metadata.namespace, obj.metadata.name!);
}

export async function apply(registry: Registry, documents: unknown[], options: ApplyOptions): Promise<ApplyOutcome[]> {
  // A kind this server has not learnt yet may have just been defined through another one.
  if (documents.some((d) => typeof (d as { kind?: unknown } | null)?.kind === 'string' && !kindInfo((d as { kind: string }).kind))) await registry.refreshCustomKinds();
  const objects = prepareDocuments(documents);
  const definitions = objects.filter((o): o is CustomResourceDefinition => o.kind === 'CustomResourceDefinition');
  if (definitions.length > 0) await refuseUnservedKinds(registry, definitions, objects);
  await admitNewPods(registry, objects);
  const outcomes: ApplyOutcome[] = [];
  const applying = new Set(objects.map((o) => identity({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name! })));
  const namespacesInApply = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  if (options.authorize) {
    for (const obj of objects) {
      const ref = { info: kindIn(obj.kind, definitions)!, namespace: obj.metadata.namespace, name: obj.metadata.name! };
      await options.authorize((await currentOf(registry, obj)) ? 'patch' : 'create', ref);
    }
    if (options.applySet && options.prune) {
      for (const member of await readApplySet(registry, options.applySet)) {
        const info = kindInfo(member.kind);
        if (info && !applying.has(identity(member))) await options.authorize('delete', { info, namespace: member.namespace, name: member.name });
      }
    }
  }

  for (const obj of objects) {
    const current = await currentOf(registry, obj);
    if (!current) {
      if (options.dryRun) {
        const ns = obj.metadata.namespace;
        if (ns && ns !== 'default' && !namespacesInApply.has(ns) && !(await registry.tryGet('Namespace', undefined, ns))) {
          throw new BerthError('not-found', `namespaces "${ns}" not found`);
        }
        outcomes.push({ action: 'created', object: obj });
      } else {
        outcomes.push({ action: 'created', object: await registry.create(obj) });
      }
      continue;
    }
    const next = merged(current, obj);
    if (isDeepStrictEqual(next, current)) {
      outcomes.push({ action: 'unchanged', object: current });
      continue;
    }
    outcomes.push({ action: 'configured', object: options.dryRun ? next : await registry.update(next) });
  }

  if (options.applySet) {
    const previous = await readApplySet(registry, options.applySet);
    if (options.prune) {
      for (const member of previous) {
        if (applying.has(identity(member)) || !kindInfo(member.kind)) continue; // a kind since removed has nothing left to prune
        const live = await registry.tryGet(member.kind, member.namespace, member.name);
        // Only the very object this set created: never one made later under the same name.
        if (!live || live.metadata.uid !== member.uid) continue;
        const deleted = options.dryRun ? live : await registry.delete(member.kind, member.namespace, member.name).catch(ignoreNotFound);
        if (deleted) outcomes.push({ action: 'pruned', object: deleted });
      }
    }
    if (!options.dryRun) {
      const members: ApplySetMember[] = outcomes.filter((o) => o.action !== 'pruned').map(({ object }) => ({
        kind: object.kind,
        namespace: object.metadata.namespace,
        name: object.metadata.name!,
        uid: object.metadata.uid!,
      }));
      // Without prune, members the files dropped stay recorded until a prune removes them.
      const kept = options.prune ? [] : previous.filter((m) => !applying.has(identity(m)));
      await writeApplySet(registry, options.applySet, [...members, ...kept]);
    }
  }
  return outcomes;
}

/**
 * Pod Security for the pods this apply creates, before anything is written (the registry checks
 * each create again). A namespace in the apply counts with the labels it is applied with. Pods
 * that exist already are not admitted again: their spec cannot change. A pod whose namespace does
 * not exist is left to the create, which says so.
 */
async function admitNewPods(registry: Registry, objects: Resource[]): Promise<void> {
  const applied = new Map(objects.filter((o): o is Namespace => o.kind === 'Namespace').map((ns) => [ns.metadata.name, ns]));
  const refusals: string[] = [];
  for (const pod of objects.filter((o): o is Pod => o.kind === 'Pod')) {
    const name = pod.metadata.namespace || 'default';
    if (await registry.tryGet('Pod', name, pod.metadata.name!)) continue;
    const namespace = applied.get(name) ?? await registry.tryGet<Namespace>('Namespace', undefined, name);
    if (!namespace && name !== 'default') continue;
    try {
      admitPod(pod, namespace?.metadata.labels);
    } catch (err) {
      refusals.push((err as Error).message);
    }
  }
  if (refusals.length > 0) throw new BerthError('permission-denied', refusals.join('\n'));
}

/** The stored object with what the applied document owns replaced. */
function merged(current: Resource, applied: Resource): Resource {
  const next = structuredClone(current) as Resource & { spec?: unknown };
  const appliedSpec = (applied as { spec?: unknown }).spec;
  const systemAnnotations = Object.fromEntries(Object.entries(current.metadata.annotations ?? {})
    .filter(([k]) => SYSTEM_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))));
  const annotations = { ...systemAnnotations, ...applied.metadata.annotations };
  next.metadata.labels = applied.metadata.labels;
  next.metadata.annotations = Object.keys(annotations).length > 0 ? annotations : undefined;
  if (!next.metadata.labels) delete next.metadata.labels;
  if (!next.metadata.annotations) delete next.metadata.annotations;
  if (current.kind === 'Pod') {
    const pod = current as Pod;
    const spec = { ...(appliedSpec as Pod['spec']) };
    if (pod.spec.nodeName) spec.nodeName = pod.spec.nodeName;
    // What admission resolved at creation (the priority of its class) is the server's too.
    for (const field of ['priority', 'preemptionPolicy', 'priorityClassName'] as const) {
      if (spec[field] === undefined && pod.spec[field] !== undefined) (spec as Record<string, unknown>)[field] = pod.spec[field];
    }
    // Requests and limits a LimitRange filled in at creation are the server's too.
    const withAdmittedResources = (applied: Container[] | undefined, stored: Container[] | undefined) => applied?.map((c) => {
      const was = stored?.find((s) => s.name === c.name)?.resources;
      if (!was) return c;
      const requests = { ...was.requests, ...c.resources?.requests };
      const limits = { ...was.limits, ...c.resources?.limits };
      return { ...c, resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) } };
    });
    if (pod.metadata.annotations?.['kubernetes.io/limit-ranger']) {
      spec.containers = withAdmittedResources(spec.containers, pod.spec.containers)!;
      if (spec.initContainers) spec.initContainers = withAdmittedResources(spec.initContainers, pod.spec.initContainers);
    }
    // Scheduling gates may be taken away (not added) while the pod waits for them, as in Kubernetes.
    const gatesBefore = (pod.spec.schedulingGates ?? []).map((g) => g.name);
    const gatesAfter = (spec.schedulingGates ?? []).map((g) => g.name);
    const withoutGates = ({ schedulingGates: _gates, ...rest }: Pod['spec']) => rest;
    if (!pod.spec.nodeName && gatesAfter.every((g) => gatesBefore.includes(g)) && gatesAfter.length < gatesBefore.length
      && isDeepStrictEqual(withoutGates(spec), withoutGates(pod.spec))) {
      next.spec = { ...withoutGates(pod.spec), ...(gatesAfter.length > 0 ? { schedulingGates: spec.schedulingGates } : {}) } as never;
      return next;
    }
    if (!isDeepStrictEqual(spec, pod.spec)) {
      throw new BerthError('invalid-argument',
        `${describeObject(infoOf('Pod'), pod.metadata.name!)} is invalid: spec: Forbidden: a pod's spec cannot change after creation; delete the pod and apply it again, or manage it with a Deployment`);
    }
    return next;
  }
  if (current.kind === 'CertificateSigningRequest') {
    // A request never changes once made (Kubernetes: its spec is immutable); who asked is the server's.
    const asked = ({ username: _u, groups: _g, uid: _i, extra: _e, ...rest }: CertificateSigningRequest['spec']) => rest;
    if (!isDeepStrictEqual(asked(appliedSpec as CertificateSigningRequest['spec']), asked((current as CertificateSigningRequest).spec))) {
      throw new BerthError('invalid-argument', `${describeObject(infoOf(current.kind), current.metadata.name!)} is invalid: spec: Forbidden: field is immutable`);
    }
    return next;
  }
  if (appliedSpec !== undefined) next.spec = appliedSpec;
  // A custom object is kept at the version it is applied as (its versions convert as strategy None:
  // only apiVersion differs), so an object moves on with its definition's served versions.
  if (isCustomKind(current.kind)) next.apiVersion = applied.apiVersion;
  // Kinds whose content is not under spec (a ConfigMap's data, a Role's rules, a binding's
  // subjects, a slice's endpoints): the document's own top-level fields are what it owns.
  const body = next as unknown as Record<string, unknown>;
  for (const key of Object.keys(body)) if (!OWNED_ELSEWHERE.has(key) && key !== 'spec' && !(key in applied)) delete body[key];
  for (const [key, value] of Object.entries(applied)) if (!OWNED_ELSEWHERE.has(key) && key !== 'spec') body[key] = structuredClone(value);
  // The cluster IP and node ports the server chose are the Service's, not the file's.
  if (current.kind === 'Service') return carryAllocations(current as Service, next as Service);
  if (current.kind === 'PersistentVolumeClaim' || current.kind === 'PersistentVolume' || current.kind === 'StorageClass') checkStorageChange(current, next);
  return next;
}

/**
 * What the binder and the default class set stays (a claim's volumeName and class, a volume's
 * claimRef); beyond that a claim's spec, a StorageClass's provisioner and parameters are
 * immutable, with Kubernetes' messages. `next` is changed in place.
 */
function checkStorageChange(current: Resource, next: Resource): void {
  // Kubernetes names the kind here: PersistentVolumeClaim "data" is invalid: ...
  const forbidden = (field: string, detail: string) => new BerthError('invalid-argument', `${current.kind} "${current.metadata.name}" is invalid: ${field}: Forbidden: ${detail}`);
  if (current.kind === 'PersistentVolumeClaim' && next.kind === 'PersistentVolumeClaim') {
    next.spec.volumeName ??= current.spec.volumeName;
    next.spec.storageClassName ??= current.spec.storageClassName;
    if (next.spec.volumeName === undefined) delete next.spec.volumeName;
    if (next.spec.storageClassName === undefined) delete next.spec.storageClassName;
    const withoutRequests = (spec: PersistentVolumeClaim['spec']) => ({ ...spec, resources: { ...spec.resources, requests: undefined } });
    if (!isDeepStrictEqual(withoutRequests(current.spec), withoutRequests(next.spec))) {
      throw forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims');
    }
  } else if (current.kind === 'PersistentVolume' && next.kind === 'PersistentVolume') {
    if (!next.spec.claimRef && current.spec.claimRef) next.spec.claimRef = current.spec.claimRef;
  } else if (current.kind === 'StorageClass' && next.kind === 'StorageClass') {
    for (const field of ['provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode'] as const) {
      if (!isDeepStrictEqual(current[field], next[field])) throw forbidden(field, `updates to ${field} are forbidden.`);
    }
  }
}

async function readApplySet(registry: Registry, name: string): Promise<ApplySetMember[]> {
  const kv = await registry.store.get(applySetKey(name));
  if (!kv) return [];
  return (JSON.parse(kv.value.toString('utf8')) as { members: ApplySetMember[] }).members;
}

async function writeApplySet(registry: Registry, name: string, members: ApplySetMember[]): Promise<void> {
  const value = Buffer.from(JSON.stringify({ members }));
  const kv = await registry.store.get(applySetKey(name));
  if (kv) await registry.store.update(applySetKey(name), value, kv.modRevision);
  else await registry.store.create(applySetKey(name), value);
}
