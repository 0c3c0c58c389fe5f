// Objects over the key-value store: metadata kept by the server (uid, resourceVersion,
// generation, creationTimestamp), compare-and-swap updates, graceful deletion of pods, and watches
// that speak in ADDED / MODIFIED / DELETED of objects. Every pod is admitted here, on create, by
// its namespace's Pod Security level (admission/): this is the one place every creator (an apply,
// the ReplicaSet controller) goes through.
//
// Invariants: a stored document never holds its own resourceVersion (it is the key's modRevision,
// set on read); generation moves only when spec changes; an update names the resourceVersion it
// was based on and fails with `conflict` when the object moved on. Objects handed out are fresh
// copies: callers may change them.

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { isDefaultClass, isDefaultIngressClass, LEGACY_INGRESS_CLASS_ANNOTATION, withDefaults, type Ingress, type IngressClass, type LimitRange, type Namespace, type PersistentVolumeClaim, type Pod, type PriorityClass, type Resource, type ResourceQuota, type Service, type StorageClass, type ValidatingAdmissionPolicy, type ValidatingAdmissionPolicyBinding, type MutatingWebhookConfiguration, type ValidatingWebhookConfiguration, type EndpointSlice, SERVICE_NAME_LABEL, KINDS, matchesLabelSelector, acceptedDefinitions, customKindInfo, customKinds, definitionOf, definitionStatus, isCustomKind, kindInfo, setCustomKinds, type CustomObject, type CustomResourceDefinition, type KindInfo } from '../../proto/resources';
import { APPLIABLE_KINDS, validateResource, withSchemaDefaults } from '../../proto/manifests';
import { BerthError } from '../../proto/errors';
import { admitByPolicies, admitPod, mutateByWebhooks, validateByWebhooks, webhookCaller, type PolicyRequest, type WebhookCall, amounts, applyLimitRanges, asResourceList, chargeQuota, checkClaimLimits, quotaCounts, quotaKinds, quotaUsed, usageOf, withPriority } from '../admission';
import type { ServiceAllocations } from '../services';
import { StoreError, type Fence, type KeyValue, type Store, type StoreEvent, type WatchHandle } from '../store';
import { conflict, notFound, storeFailure } from './errors';
import { checkImmutable } from './immutable';
import { describeObject, infoOf, keyOfObject, listPrefix, objectKey } from './keys';
import type { Clock, DeleteOptions, ListOptions, ObjectEvent, ObjectFilter, ObjectWatchCallbacks } from './types';

/** Kinds whose spec is the desired state: a change of it moves metadata.generation. */
const hasGeneration = (obj: Resource): boolean => isCustomKind(obj.kind) || obj.kind === 'CustomResourceDefinition' || obj.kind === 'Deployment' || obj.kind === 'ReplicaSet' || obj.kind === 'ReplicationController' || obj.kind === 'Pod' || obj.kind === 'Job' || obj.kind === 'DaemonSet' || obj.kind === 'StatefulSet' || obj.kind === 'CronJob' || obj.kind === 'PodDisruptionBudget' || obj.kind === 'NetworkPolicy' || obj.kind === 'HorizontalPodAutoscaler';

export class Registry {
  constructor(
    readonly store: Store,
    private readonly clock: Clock = () => new Date(),
    private readonly fence?: () => Fence | undefined,
    /** Cluster IPs and node ports are taken and given back around each write of a Service. */
    readonly serviceAllocations?: ServiceAllocations,
    /** How admission webhooks are called (tests give their own). */
    private readonly callWebhook: WebhookCall = webhookCaller((svc) => this.serviceEndpoint(svc)),
  ) {}

  /**
   * The same registry, its writes fenced: each happens only while `fence()` still holds in the
   * store (the leader's lease at the revision it last renewed it), else fails with
   * failed-precondition. The controllers write through this one.
   */
  fenced(fence: () => Fence | undefined): Registry {
    return new Registry(this.store, this.clock, fence, this.serviceAllocations, this.callWebhook);
  }

  async tryGet<T extends Resource = Resource>(kind: string, namespace: string | undefined, name: string): Promise<T | undefined> {
    const kv = await this.store.get(objectKey(infoOf(kind), namespace, name));
    return kv ? (decode(kv) as T) : undefined;
  }

  async get<T extends Resource = Resource>(kind: string, namespace: string | undefined, name: string): Promise<T> {
    const obj = await this.tryGet<T>(kind, namespace, name);
    if (!obj) throw notFound(kind, name);
    return obj;
  }

  async list<T extends Resource = Resource>(kind: string, options: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const { items, revision } = await this.store.list(listPrefix(infoOf(kind), options.namespace));
    const objects = items.map(decode).filter((o) => !options.filter || options.filter(o));
    return { items: objects as T[], resourceVersion: String(revision) };
  }

  /**
   * Learn the cluster's custom kinds again from its CustomResourceDefinitions: the catalog every
   * lookup of a kind reads (proto/resources/custom-resources.ts) holds the accepted ones.
   */
  async refreshCustomKinds(): Promise<void> {
    const { items } = await this.list<CustomResourceDefinition>('CustomResourceDefinition');
    setCustomKinds(acceptedDefinitions(items, KINDS).accepted);
  }

  /**
   * The kind a name means. A name the catalog does not know is looked for again among the stored
   * definitions: another controller may have just made it.
   */
  async resolveKind(name: string): Promise<KindInfo> {
    const known = kindInfo(name);
    if (known) return known;
    await this.refreshCustomKinds();
    return infoOf(name);
  }

  /** A definition with the status the apiextensions controllers give it: its names accepted (or why not), established, versions stored. */
  private async withDefinitionStatus(crd: CustomResourceDefinition, previous?: CustomResourceDefinition): Promise<CustomResourceDefinition> {
    const { items } = await this.list<CustomResourceDefinition>('CustomResourceDefinition');
    const all = [...items.filter((d) => d.metadata.name !== crd.metadata.name), crd];
    const refusal = acceptedDefinitions(all, KINDS).refused.get(crd.metadata.name ?? '');
    const invalid = (detail: string) => new BerthError('invalid-argument', `CustomResourceDefinition.apiextensions.k8s.io "${crd.metadata.name}" is invalid: ${detail}`);
    // A served kind keeps its names: a change that would take one another kind answers to is refused,
    // rather than the kind (and its objects) going out of service.
    const wasAccepted = previous?.status?.conditions?.some((c) => c.type === 'NamesAccepted' && c.status === 'True');
    if (refusal && wasAccepted) throw invalid(`spec.names: Invalid value: ${refusal}`);
    for (const version of previous?.status?.storedVersions ?? []) {
      if (!crd.spec.versions.some((v) => v.name === version)) throw invalid(`status.storedVersions: Invalid value: "${version}": must appear in spec.versions (objects may be stored in it)`);
    }
    return { ...crd, status: definitionStatus(crd, refusal, this.now(), previous?.status) };
  }

  /**
   * An object of a custom kind as its definition has it stored: the schema's defaults filled in,
   * checked against the schema and rules (transition rules against `old`). With a status
   * subresource, a create's status is dropped and an update's kept (status is written apart).
   */
  private admitCustomObject<T extends Resource>(obj: T, old?: T): T {
    const crd = definitionOf(obj.kind)!;
    let out = withSchemaDefaults(obj as unknown as CustomObject, crd) as unknown as T & { status?: unknown };
    const version = crd.spec.versions.find((v) => `${crd.spec.group}/${v.name}` === obj.apiVersion);
    if (version?.subresources?.status) {
      const { status: _dropped, ...rest } = out;
      out = (old && (old as { status?: unknown }).status !== undefined ? { ...rest, status: (old as { status?: unknown }).status } : rest) as typeof out;
    }
    const issues = validateResource(out, { old });
    if (issues.length > 0) throw new BerthError('invalid-argument', issues.map((i) => i.message).join('\n'));
    return out;
  }

  /**
   * A claim that names no class gets the default one (Kubernetes' DefaultStorageClass admission):
   * the newest class marked default; with none, it stays without (and binds only classless volumes).
   */
  private async withDefaultClass(claim: PersistentVolumeClaim): Promise<PersistentVolumeClaim> {
    const { items } = await this.list<StorageClass>('StorageClass');
    const defaults = items.filter(isDefaultClass).sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
    if (defaults.length === 0) return claim;
    return { ...claim, spec: { ...claim.spec, storageClassName: defaults[0]!.metadata.name } };
  }

  /**
   * An Ingress that names no class gets the default one (Kubernetes' DefaultIngressClass
   * admission): the newest IngressClass annotated is-default-class; with none, it stays without.
   */
  private async withDefaultIngressClass(ingress: Ingress): Promise<Ingress> {
    const { items } = await this.list<IngressClass>('IngressClass');
    const defaults = items.filter(isDefaultIngressClass).sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
    if (defaults.length === 0) return ingress;
    return { ...ingress, spec: { ...ingress.spec, ingressClassName: defaults[0]!.metadata.name } };
  }

  /**
   * Charge a new object to every quota of its namespace that counts it (Kubernetes' ResourceQuota
   * admission): refused when it would exceed one. Each quota's status.used is raised by a write
   * conditional on the version read, so creates racing for the last room are serialized by the
   * store; a quota the controller has not counted yet is counted here from the live objects.
   * A create that fails afterwards leaves the charge until the quota controller recounts.
   */
  private async chargeQuotas(obj: Resource, plural: string, previous?: Resource): Promise<void> {
    // Every quota is checked before any is charged (a refusal charges nothing); a charge that
    // conflicts is tried again from a fresh read, the ones already made kept.
    const charged = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const { items } = await this.list<ResourceQuota>('ResourceQuota', { namespace: obj.metadata.namespace });
      const counting = items.filter((q) => Object.keys(q.spec.hard ?? {}).length > 0 && quotaCounts(q, obj) && !charged.has(q.metadata.uid!));
      const charges: ResourceQuota[] = [];
      for (const quota of counting) {
        const hard = Object.keys(quota.spec.hard!);
        const recorded = quota.status?.used;
        const used = recorded && hard.every((k) => k in recorded) ? amounts(recorded) : await this.liveQuotaUsage(quota);
        charges.push({ ...quota, status: { hard: quota.spec.hard, used: asResourceList(chargeQuota(quota, used, obj, plural, previous)) } });
      }
      try {
        for (const quota of charges) {
          await this.update(quota);
          charged.add(quota.metadata.uid!);
        }
        return;
      } catch (err) {
        if (err instanceof BerthError && err.code === 'conflict' && attempt < 20) continue;
        throw err;
      }
    }
  }

  /**
   * The object as the mutating webhooks that cover the write leave it (admission/webhooks.ts),
   * checked again as a manifest is when one changed it: a webhook cannot store what a user could not.
   */
  private async mutateByWebhooks<T extends Resource>(request: PolicyRequest & { object: T }): Promise<T> {
    const configs = (await this.list<MutatingWebhookConfiguration>('MutatingWebhookConfiguration')).items;
    if (configs.length === 0) return request.object;
    const patched = await mutateByWebhooks(configs, await this.withNamespace(request), this.callWebhook);
    if (patched === request.object) return request.object;
    const mutated = withServerFields(patched!, request.object);
    if (mutated.kind === 'Service' && !isDeepStrictEqual(specOf(mutated), specOf(request.object))) {
      throw new BerthError('invalid-argument', `a mutating admission webhook changed the spec of ${describeObject(infoOf('Service'), mutated.metadata.name!)}: its addresses and ports are allocated before, so berth refuses that`);
    }
    // Kinds a manifest cannot carry (Nodes, Leases, Events) have no manifest rules to meet.
    const issue = (APPLIABLE_KINDS as readonly string[]).includes(mutated.kind) ? validateResource(mutated)[0] : undefined;
    if (issue) throw new BerthError('invalid-argument', `the mutating admission webhooks made the object invalid: ${issue.message}`);
    return mutated;
  }

  /** Refuse a write a validating webhook that covers it denies (admission/webhooks.ts). */
  private async validateByWebhooks(request: PolicyRequest): Promise<void> {
    const configs = (await this.list<ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration')).items;
    if (configs.length > 0) await validateByWebhooks(configs, await this.withNamespace(request), this.callWebhook);
  }

  /** The request with its object's namespace, for namespace selectors. */
  private async withNamespace(request: PolicyRequest): Promise<PolicyRequest> {
    const namespaceName = (request.object ?? request.oldObject)?.metadata.namespace;
    if (request.namespace || !namespaceName) return request;
    const namespace = await this.tryGet<Namespace>('Namespace', undefined, namespaceName);
    return namespace ? { ...request, namespace } : request;
  }

  /** A ready endpoint of a Service's port, where a webhook behind the Service is called. */
  private async serviceEndpoint(svc: { namespace: string; name: string; port: number }): Promise<{ host: string; port: number }> {
    const service = await this.tryGet<Service>('Service', svc.namespace, svc.name);
    if (!service) throw new Error(`service "${svc.namespace}/${svc.name}" not found`);
    const port = (service.spec.ports ?? []).find((p) => p.port === svc.port);
    if (!port) throw new Error(`service "${svc.namespace}/${svc.name}" has no port ${svc.port}`);
    const slices = (await this.list<EndpointSlice>('EndpointSlice', { namespace: svc.namespace, filter: (o) => o.metadata.labels?.[SERVICE_NAME_LABEL] === svc.name })).items;
    for (const slice of slices) {
      const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? ''));
      const endpoint = slice.endpoints.find((e) => e.conditions?.ready !== false && e.addresses[0]);
      if (slicePort?.port !== undefined && endpoint) return { host: endpoint.addresses[0]!, port: slicePort.port };
    }
    throw new Error(`no endpoints available for service "${svc.name}"`);
  }

  /** Refuse a write a ValidatingAdmissionPolicy in force denies (admission/validating-policy.ts). */
  private async admitByPolicies(request: PolicyRequest): Promise<void> {
    const bindings = (await this.list<ValidatingAdmissionPolicyBinding>('ValidatingAdmissionPolicyBinding')).items;
    if (bindings.length === 0) return;
    const policies = (await this.list<ValidatingAdmissionPolicy>('ValidatingAdmissionPolicy')).items;
    await admitByPolicies(policies, bindings, await this.withNamespace(request), async (binding, policy, req) => {
      const ref = binding.spec.paramRef!;
      // A built-in kind at its version, or a custom kind (a ReplicaLimit) at any version its group serves.
      const { kind: paramKind, apiVersion } = policy.spec.paramKind!;
      const group = (v: string) => (v.includes('/') ? v.split('/')[0] : '');
      const kind = KINDS.find((k) => k.kind === paramKind && k.apiVersion === apiVersion)
        ?? customKinds().find((k) => k.kind === paramKind && group(k.apiVersion) === group(apiVersion));
      if (!kind) return undefined;
      const namespace = kind.namespaced ? ref.namespace ?? (req.object ?? req.oldObject)!.metadata.namespace : undefined;
      if (ref.name !== undefined) {
        const one = await this.tryGet(kind.kind, namespace, ref.name);
        return one ? [one] : undefined;
      }
      return (await this.list(kind.kind, { namespace, filter: (o) => matchesLabelSelector(o.metadata.labels, ref.selector) })).items;
    });
  }

  /** What a quota's objects use now, counted from the store. */
  async liveQuotaUsage(quota: ResourceQuota) {
    const objects: Resource[] = [];
    for (const kind of quotaKinds(quota)) objects.push(...(await this.list(kind, { namespace: quota.metadata.namespace })).items);
    return quotaUsed(quota, objects);
  }

  async create<T extends Resource>(obj: T): Promise<T> {
    const info = infoOf(obj.kind);
    const name = obj.metadata.name;
    if (!name) throw new BerthError('invalid-argument', `${obj.kind}: metadata.name is required`);
    const metadata = { ...obj.metadata };
    delete metadata.resourceVersion;
    delete metadata.deletionTimestamp;
    if (info.namespaced) metadata.namespace ||= 'default';
    else delete metadata.namespace;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = this.now();
    if (hasGeneration(obj)) metadata.generation = 1;
    // A Secret's stringData is folded into data before anything is stored, whoever writes it.
    let stored = (obj.kind === 'Secret' ? withDefaults({ ...obj, metadata }) : { ...obj, metadata }) as T;
    // A certificate request starts unapproved, whatever it says: its status is the approvers' and the signer's.
    if (stored.kind === 'CertificateSigningRequest') delete (stored as { status?: unknown }).status;
    if (stored.kind === 'CustomResourceDefinition') stored = await this.withDefinitionStatus(stored) as T;
    if (isCustomKind(stored.kind)) stored = this.admitCustomObject(stored);
    let namespace: Namespace | undefined;
    if (info.namespaced && metadata.namespace !== 'default') namespace = await this.requireNamespace(metadata.namespace!);
    else if (obj.kind === 'Pod') namespace = await this.tryGet<Namespace>('Namespace', undefined, 'default');
    if (stored.kind === 'Pod') {
      admitPod(stored as Pod, namespace?.metadata.labels);
      stored = withPriority(stored as Pod, (await this.list<PriorityClass>('PriorityClass')).items) as T;
    }
    if (stored.kind === 'PersistentVolumeClaim' && stored.spec.storageClassName === undefined) stored = await this.withDefaultClass(stored) as T;
    if (stored.kind === 'Ingress' && stored.spec.ingressClassName === undefined && !stored.metadata.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION]) stored = await this.withDefaultIngressClass(stored) as T;
    let ranges: LimitRange[] = [];
    if (stored.kind === 'Pod' || stored.kind === 'PersistentVolumeClaim') {
      ranges = (await this.list<LimitRange>('LimitRange', { namespace: metadata.namespace })).items;
      if (stored.kind === 'Pod') stored = applyLimitRanges(stored as Pod, ranges) as T;
      else checkClaimLimits(stored as PersistentVolumeClaim, ranges);
    }
    const mutated = await this.mutateByWebhooks({ operation: 'CREATE', object: stored, ...(namespace ? { namespace } : {}) });
    if (mutated !== stored) {
      stored = mutated;
      // What a webhook added (an injected sidecar) answers to the namespace's Pod Security level and LimitRanges too.
      if (stored.kind === 'Pod') {
        admitPod(stored as Pod, namespace?.metadata.labels);
        stored = applyLimitRanges(stored as Pod, ranges) as T;
      }
    }
    await this.admitByPolicies({ operation: 'CREATE', object: stored, ...(namespace ? { namespace } : {}) });
    await this.validateByWebhooks({ operation: 'CREATE', object: stored, ...(namespace ? { namespace } : {}) });
    if (info.namespaced) await this.chargeQuotas(stored, info.plural);
    let undo = async () => {};
    if (stored.kind === 'Service' && this.serviceAllocations) {
      if (await this.store.get(keyOfObject(stored))) throw new BerthError('already-exists', `${describeObject(info, name)} already exists`);
      const allocated = await this.serviceAllocations.allocate(stored as Service);
      stored = allocated.service as T;
      undo = allocated.undo;
    }
    try {
      const revision = await this.store.create(keyOfObject(stored), encode(stored), this.fence?.());
      if (stored.kind === 'CustomResourceDefinition') await this.refreshCustomKinds();
      return withVersion(stored, revision);
    } catch (err) {
      await undo();
      if (err instanceof StoreError && err.code === 'already-exists') {
        throw new BerthError('already-exists', `${describeObject(info, name)} already exists`, { cause: err });
      }
      throw storeFailure(err);
    }
  }

  /**
   * Replace an object, based on the resourceVersion it carries. Server-owned metadata (uid,
   * creationTimestamp, generation) comes from the stored object; generation moves when spec did.
   * With `keepStatus` the stored status stays (a spec write must not undo a status write).
   */
  async update<T extends Resource>(obj: T, options: { keepStatus?: boolean } = {}): Promise<T> {
    const current = await this.store.get(keyOfObject(obj));
    if (!current) throw notFound(obj.kind, obj.metadata.name ?? '');
    return this.replace(current, obj, options);
  }

  /** update() once the stored key-value is in hand (mutate has just read it). */
  private async replace<T extends Resource>(current: KeyValue, obj: T, options: { keepStatus?: boolean }): Promise<T> {
    const info = infoOf(obj.kind);
    const name = obj.metadata.name ?? '';
    const expected = obj.metadata.resourceVersion ? Number(obj.metadata.resourceVersion) : current.modRevision;
    if (expected !== current.modRevision) throw conflict(info.kind, name);
    const stored = decode(current) as T;
    let next = (obj.kind === 'Secret' ? withDefaults({ ...obj, metadata: { ...obj.metadata } }) : { ...obj, metadata: { ...obj.metadata } }) as T;
    next.metadata.uid = stored.metadata.uid;
    next.metadata.creationTimestamp = stored.metadata.creationTimestamp;
    next.metadata.namespace = stored.metadata.namespace;
    if (stored.metadata.deletionTimestamp) next.metadata.deletionTimestamp = stored.metadata.deletionTimestamp;
    checkImmutable(stored, next);
    if (options.keepStatus) (next as { status?: unknown }).status = (stored as { status?: unknown }).status;
    if (next.kind === 'CustomResourceDefinition') next = await this.withDefinitionStatus(next as CustomResourceDefinition, stored as CustomResourceDefinition) as T;
    // Defaults in before the generation is judged: leaving out a defaulted field changes nothing.
    if (isCustomKind(next.kind)) next = this.admitCustomObject(next, stored);
    if (hasGeneration(obj)) next.metadata.generation = (stored.metadata.generation ?? 1) + (desiredStateChanged(stored, next) ? 1 : 0);
    delete next.metadata.resourceVersion;
    let allocation: { undo(): Promise<void>; done(): Promise<void> } | undefined;
    if (next.kind === 'Service' && this.serviceAllocations) {
      const changed = await this.serviceAllocations.change(stored as Service, next as Service);
      next = changed.service as T;
      allocation = changed;
    }
    if (isDeepStrictEqual(next, withoutVersion(stored))) {
      await allocation?.undo();
      return stored; // nothing to write: no new revision for a no-op
    }
    // A write of the status alone is the status subresource's, and a pod's binding to a node the
    // binding subresource's: policies and webhooks on the kind cover neither (a webhook that is
    // down must not stop the scheduler, or status reports).
    if (!isDeepStrictEqual(withoutStatus(next), withoutStatus(withoutVersion(stored))) && !isBinding(stored, next)) {
      try {
        const mutated = await this.mutateByWebhooks({ operation: 'UPDATE', object: next, oldObject: stored });
        if (mutated !== next) {
          checkImmutable(stored, mutated);
          if (hasGeneration(mutated)) mutated.metadata.generation = (stored.metadata.generation ?? 1) + (isDeepStrictEqual(specOf(stored), specOf(mutated)) ? 0 : 1);
          if (mutated.kind === 'Pod' && !isDeepStrictEqual(specOf(mutated), specOf(next))) {
            admitPod(mutated as Pod, (await this.tryGet<Namespace>('Namespace', undefined, mutated.metadata.namespace ?? 'default'))?.metadata.labels);
          }
          next = mutated;
        }
        await this.admitByPolicies({ operation: 'UPDATE', object: next, oldObject: stored });
        await this.validateByWebhooks({ operation: 'UPDATE', object: next, oldObject: stored });
        // What the update adds to a quota's usage (a Service's node ports) is charged as a create's.
        if (info.namespaced && next.kind !== 'ResourceQuota' && addsUsage(stored, next)) await this.chargeQuotas(next, info.plural, stored);
      } catch (err) {
        await allocation?.undo();
        throw err;
      }
    }
    try {
      const revision = await this.store.update(current.key, encode(next), expected, this.fence?.());
      await allocation?.done();
      if (next.kind === 'CustomResourceDefinition') await this.refreshCustomKinds();
      return withVersion(next, revision);
    } catch (err) {
      await allocation?.undo();
      if (err instanceof StoreError && err.code === 'conflict') throw conflict(info.kind, name, err);
      if (err instanceof StoreError && err.code === 'not-found') throw notFound(obj.kind, name);
      throw storeFailure(err);
    }
  }

  /**
   * Read-modify-write with retries on conflict: `change` gets the current object and returns the
   * next one, or undefined for "nothing to do". Returns the stored result (undefined when the
   * object does not exist).
   */
  async mutate<T extends Resource>(kind: string, namespace: string | undefined, name: string, change: (current: T) => T | undefined, options: { keepStatus?: boolean } = {}): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(objectKey(infoOf(kind), namespace, name));
      if (!kv) return undefined;
      const current = decode(kv) as T;
      const next = change(structuredClone(current));
      if (!next) return current;
      try {
        return await this.replace(kv, next, options);
      } catch (err) {
        if (!(err instanceof BerthError && err.code === 'conflict') || attempt >= 20) throw err;
      }
    }
  }

  /**
   * Delete an object. A pod bound to a node is deleted gracefully: it gets a deletionTimestamp
   * and goes once its agent reports its containers removed (or the node is declared lost).
   * Returns the object as it was deleted or marked.
   */
  async delete<T extends Resource = Resource>(kind: string, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<T> {
    const info = infoOf(kind);
    const key = objectKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const current = await this.store.get(key);
      if (!current) throw notFound(kind, name);
      const expected = options.resourceVersion ? Number(options.resourceVersion) : current.modRevision;
      if (expected !== current.modRevision) throw conflict(info.kind, name);
      const obj = decode(current) as T;
      if (attempt === 0) {
        await this.admitByPolicies({ operation: 'DELETE', oldObject: obj });
        await this.validateByWebhooks({ operation: 'DELETE', oldObject: obj });
        if (obj.kind === 'CustomResourceDefinition') await this.deleteCustomObjects(obj as CustomResourceDefinition);
      }
      try {
        if (!options.force && isBoundPod(obj)) {
          if (obj.metadata.deletionTimestamp) return obj;
          obj.metadata.deletionTimestamp = this.now();
          const stored = withoutVersion(obj);
          const revision = await this.store.update(key, encode(stored), expected, this.fence?.());
          return withVersion(stored as T, revision);
        }
        const revision = await this.store.delete(key, expected, this.fence?.());
        if (obj.kind === 'Service') await this.serviceAllocations?.release(obj as Service);
        if (obj.kind === 'CustomResourceDefinition') await this.refreshCustomKinds();
        return withVersion(withoutVersion(obj) as T, revision);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'not-found') throw notFound(kind, name);
        const retriable = err instanceof StoreError && err.code === 'conflict' && !options.resourceVersion && attempt < 20;
        if (retriable) continue;
        if (err instanceof StoreError && err.code === 'conflict') throw conflict(info.kind, name, err);
        throw storeFailure(err);
      }
    }
  }

  /**
   * Every object of a definition's kind, deleted before the definition is (Kubernetes' customresourcecleanup
   * finalizer): a kind does not leave objects behind that nothing could read or delete any more.
   */
  private async deleteCustomObjects(crd: CustomResourceDefinition): Promise<void> {
    // By the definition's own keys (/registry/<group>/<plural>/, its name's alone), not by its
    // kind's name: whatever the catalog says of it now, nothing of it stays behind.
    const { items } = await this.store.list(listPrefix(customKindInfo(crd)));
    for (const kv of items) {
      await this.store.delete(kv.key, kv.modRevision, this.fence?.()).catch((err: unknown) => {
        if (!(err instanceof StoreError && (err.code === 'not-found' || err.code === 'conflict'))) throw err;
      });
    }
  }

  /** Changes to objects of a kind after `afterRevision`, as object events, filter applied. */
  watch(kind: string, options: ListOptions, afterRevision: number, callbacks: ObjectWatchCallbacks): WatchHandle {
    const filter = options.filter ?? (() => true);
    return this.store.watch(listPrefix(infoOf(kind), options.namespace), afterRevision, {
      onEvent: (event) => {
        const converted = toObjectEvent(event, filter);
        if (converted) callbacks.onEvent(converted);
      },
      onError: (err) => callbacks.onError(err),
    });
  }

  async revision(): Promise<number> {
    return this.store.revision();
  }

  private async requireNamespace(namespace: string): Promise<Namespace> {
    const ns = await this.tryGet<Namespace>('Namespace', undefined, namespace);
    if (!ns) throw new BerthError('not-found', `namespaces "${namespace}" not found`);
    if (ns.metadata.deletionTimestamp) {
      throw new BerthError('failed-precondition', `namespace "${namespace}" is being terminated`);
    }
    return ns;
  }

  /** The server's time, as it stamps objects. */
  now(): string {
    return this.clock().toISOString();
  }
}

function isBoundPod(obj: Resource): boolean {
  return obj.kind === 'Pod' && !!(obj as Pod).spec?.nodeName;
}

/** A pod bound to a node and nothing else changed: the binding subresource's write. */
function isBinding(stored: Resource, next: Resource): boolean {
  if (stored.kind !== 'Pod' || next.kind !== 'Pod' || stored.spec.nodeName || !next.spec.nodeName) return false;
  // Everything but the node (and the generation the registry counts for it) as it was.
  const unbound = (p: Pod) => withoutStatus({ ...p, metadata: { ...p.metadata, generation: undefined }, spec: { ...p.spec, nodeName: undefined } });
  return isDeepStrictEqual(unbound(next), unbound(withoutVersion(stored) as Pod));
}

/** A webhook's object with what only the server sets put back: kind, name, namespace, uid, times, generation. */
function withServerFields<T extends Resource>(mutated: Resource, original: T): T {
  const keep = original.metadata;
  const metadata = { ...mutated.metadata };
  for (const field of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'resourceVersion'] as const) {
    if (keep[field] === undefined) delete metadata[field];
    else (metadata as Record<string, unknown>)[field] = keep[field];
  }
  return { ...mutated, apiVersion: original.apiVersion, kind: original.kind, metadata } as T;
}

function specOf(obj: Resource): unknown {
  return (obj as { spec?: unknown }).spec;
}

/**
 * Whether a write changes what generation counts: the spec; for a custom kind everything but
 * metadata and status (Kubernetes' rule for custom resources, whose fields need not be under spec).
 */
function desiredStateChanged(stored: Resource, next: Resource): boolean {
  if (!isCustomKind(next.kind)) return !isDeepStrictEqual(specOf(stored), specOf(next));
  const body = ({ metadata: _m, status: _s, ...rest }: Resource & { status?: unknown }) => rest;
  return !isDeepStrictEqual(body(stored), body(next));
}

function toObjectEvent(event: StoreEvent, filter: ObjectFilter): ObjectEvent | undefined {
  if (event.type === 'delete') {
    const before = parse(event.prevValue ?? event.value);
    if (!before || !filter(before)) return undefined;
    return { type: 'DELETED', object: withVersion(before, event.revision), revision: event.revision };
  }
  const after = parse(event.value);
  if (!after) return undefined;
  const before = event.prevValue ? parse(event.prevValue) : undefined;
  const matchesNow = filter(after);
  const matchedBefore = before !== undefined && filter(before);
  const object = withVersion(after, event.revision);
  if (matchesNow && matchedBefore) return { type: 'MODIFIED', object, revision: event.revision };
  if (matchesNow) return { type: 'ADDED', object, revision: event.revision };
  // It no longer matches (labels changed, a pod moved off a node): to this watcher it is gone.
  if (matchedBefore) return { type: 'DELETED', object, revision: event.revision };
  return undefined;
}

function parse(value: Buffer): Resource | undefined {
  try {
    return JSON.parse(value.toString('utf8')) as Resource;
  } catch {
    return undefined;
  }
}

function decode(kv: KeyValue): Resource {
  const obj = parse(kv.value);
  if (!obj) throw new BerthError('internal', `stored object ${kv.key} is not JSON`);
  return withVersion(obj, kv.modRevision);
}

function encode(obj: Resource): Buffer {
  return Buffer.from(JSON.stringify(withoutVersion(obj)));
}

function withVersion<T extends Resource>(obj: T, revision: number): T {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/** Whether an update uses more of some quota resource than the object did (a Service turned NodePort). */
function addsUsage(before: Resource, after: Resource): boolean {
  const old = usageOf(before);
  for (const [key, n] of usageOf(after)) if (n > (old.get(key) ?? 0)) return true;
  return false;
}

/** An object without its status (and resourceVersion): what a spec or metadata write changes. */
function withoutStatus(obj: Resource): unknown {
  const { status: _status, ...rest } = obj as Resource & { status?: unknown };
  return { ...rest, metadata: { ...rest.metadata, resourceVersion: undefined } };
}

function withoutVersion<T extends Resource>(obj: T): T {
  const metadata = { ...obj.metadata };
  delete metadata.resourceVersion;
  return { ...obj, metadata };
}
