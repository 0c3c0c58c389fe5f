// Dynamic admission control (Kubernetes' MutatingAdmissionWebhook and ValidatingAdmissionWebhook):
// which webhooks a write goes to, what they are sent (an admission.k8s.io/v1 AdmissionReview) and
// what their answers do. Mutating webhooks are called one at a time in the order of their
// configurations' names, each seeing the object as the ones before left it, their JSONPatch applied
// in turn; validating webhooks are called all at once and any denial refuses the write. A webhook
// that cannot be called, or answers nonsense, refuses the write under failurePolicy Fail (the
// default) and is skipped under Ignore. The calls themselves are the caller's (webhook-client.ts).

import { randomUUID } from 'node:crypto';
import { applyPatch, type Operation } from 'fast-json-patch';
import { BerthError } from '../../proto/errors';
import { CelEvaluationError, compileCel } from '../../proto/cel';
import { KINDS, type MutatingWebhookConfiguration, type Resource, type ValidatingWebhookConfiguration, type Webhook } from '../../proto/resources';
import { celRequestBindings, matches, resourceOf, type AdmissionResource, type PolicyRequest } from './validating-policy';

/** What a webhook answered: the AdmissionReview's response. */
export interface AdmissionResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patchType?: string;
  /** Base64 of a JSON Patch (RFC 6902). */
  patch?: string;
  warnings?: string[];
}

/** Send `review` to the webhook; resolves with its response or fails with why it could not be called. */
export type WebhookCall = (webhook: Webhook, review: AdmissionReview) => Promise<AdmissionResponse>;

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    resource: { group: string; version: string; resource: string };
    requestKind: { group: string; version: string; kind: string };
    requestResource: { group: string; version: string; resource: string };
    name: string;
    namespace?: string;
    operation: PolicyRequest['operation'];
    userInfo: { username: string; groups: string[] };
    object: Resource | null;
    oldObject: Resource | null;
    dryRun: boolean;
    options: { apiVersion: 'meta.k8s.io/v1'; kind: string };
  };
}

/** The webhook configurations never go through webhooks (Kubernetes exempts them too: else one could lock itself in). */
const EXEMPT = new Set(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/**
 * Pass the write through the mutating webhooks that cover it: the object as they leave it (the same
 * object when none covers it or none changes it). Refuses (BerthError) when one denies or fails closed.
 */
export async function mutateByWebhooks(configs: readonly MutatingWebhookConfiguration[], request: PolicyRequest, call: WebhookCall): Promise<Resource | undefined> {
  let object = request.object;
  const resource = resourceFor(object ?? request.oldObject);
  if (!resource || !object) return object;
  const sorted = [...configs].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const config of sorted) {
    for (const webhook of config.webhooks ?? []) {
      const current: PolicyRequest = { ...request, object };
      if (!covers(webhook, current, resource)) continue;
      const review = reviewOf(current, resource);
      const response = await answer(webhook, review, call);
      if (!response) continue;
      if (response.patch) {
        if (response.patchType !== 'JSONPatch') throw failed(webhook, `unsupported patch type ${JSON.stringify(response.patchType)}`);
        object = patched(webhook, object, response.patch);
      }
    }
  }
  return object;
}

/** Pass the write through the validating webhooks that cover it, all at once: refuses when one denies or fails closed. */
export async function validateByWebhooks(configs: readonly ValidatingWebhookConfiguration[], request: PolicyRequest, call: WebhookCall): Promise<void> {
  const resource = resourceFor(request.object ?? request.oldObject);
  if (!resource) return;
  const covering = configs.flatMap((c) => c.webhooks ?? []).filter((w) => covers(w, request, resource));
  const results = await Promise.allSettled(covering.map((w) => answer(w, reviewOf(request, resource), call)));
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

function resourceFor(object: Resource | undefined): AdmissionResource | undefined {
  if (!object || EXEMPT.has(object.kind)) return undefined;
  const info = KINDS.find((k) => k.kind === object.kind);
  return info ? resourceOf(info) : undefined;
}

/** Whether the webhook's rules, selectors and matchConditions cover the request. */
export function covers(webhook: Webhook, request: PolicyRequest, resource: AdmissionResource): boolean {
  const match = { resourceRules: webhook.rules ?? [], ...(webhook.namespaceSelector ? { namespaceSelector: webhook.namespaceSelector } : {}), ...(webhook.objectSelector ? { objectSelector: webhook.objectSelector } : {}) };
  if (!matches(match, request, resource, false)) return false;
  if (!webhook.matchConditions?.length) return true;
  const bindings = celRequestBindings(request, resource);
  for (const condition of webhook.matchConditions) {
    try {
      if (compileCel(condition.expression)(bindings) !== true) return false;
    } catch (err) {
      if (!(err instanceof CelEvaluationError)) throw err;
      // An error decides as the webhook's failurePolicy does: call it (and so fail closed), or skip it.
      if ((webhook.failurePolicy ?? 'Fail') === 'Ignore') return false;
      throw failed(webhook, `matchCondition "${condition.name}" failed to evaluate: ${err.message}`);
    }
  }
  return true;
}

export function reviewOf(request: PolicyRequest, resource: AdmissionResource): AdmissionReview {
  const target = (request.object ?? request.oldObject)!;
  const kind = { group: resource.group, version: resource.version, kind: target.kind };
  const res = { group: resource.group, version: resource.version, resource: resource.resource };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind, resource: res, requestKind: kind, requestResource: res,
      name: target.metadata.name ?? '',
      ...(resource.namespaced ? { namespace: target.metadata.namespace ?? 'default' } : {}),
      operation: request.operation,
      userInfo: { username: '', groups: [] },
      object: request.object ?? null,
      oldObject: request.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: request.operation === 'CREATE' ? 'CreateOptions' : request.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions' },
    },
  };
}

/** The webhook's answer when it allows; a refusal (thrown) when it denies or fails closed; undefined when it failed open. */
async function answer(webhook: Webhook, review: AdmissionReview, call: WebhookCall): Promise<AdmissionResponse | undefined> {
  let response: AdmissionResponse;
  try {
    response = await call(webhook, review);
    if (response.uid !== review.request.uid) throw new Error(`expected response.uid="${review.request.uid}", got "${response.uid ?? ''}"`);
  } catch (err) {
    if ((webhook.failurePolicy ?? 'Fail') === 'Ignore') return undefined;
    throw failed(webhook, `failed to call webhook: ${(err as Error).message}`);
  }
  if (response.allowed !== true) {
    const message = response.status?.message || 'without explanation';
    throw new BerthError(response.status?.code === 400 || response.status?.code === 422 ? 'invalid-argument' : 'permission-denied', `admission webhook "${webhook.name}" denied the request: ${message}`);
  }
  return response;
}

function patched(webhook: Webhook, object: Resource, patch: string): Resource {
  try {
    const operations = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
    // validateOperation: a malformed operation is an error, not a silent no-op.
    return applyPatch(structuredClone(object), operations, true, false).newDocument;
  } catch (err) {
    throw failed(webhook, `the webhook's JSON patch cannot be applied: ${(err as Error).message}`);
  }
}

const failed = (webhook: Webhook, why: string) => new BerthError('internal', `Internal error occurred: failed calling webhook "${webhook.name}": ${why}`);
