// LimitRange admission (Kubernetes' LimitRanger), pure. A pod made in a namespace with
// LimitRanges first gets the defaults of every Container item for what its containers leave unset
// (a limit from `default`, a request from `defaultRequest`; a request the user left out beside a
// limit is that limit, as the API defaults it), then is checked against every item's bounds:
// each container's requests and limits against min, max and maxLimitRequestRatio, the pod's sums
// against Pod items; a claim's storage request against PersistentVolumeClaim items. Any breach
// refuses the object (Forbidden), in Kubernetes' words.

import { BerthError } from '../../proto/errors';
import type { Container, LimitRange, LimitRangeItem, PersistentVolumeClaim, Pod, ResourceList } from '../../proto/resources';
import { amountOf, formatAmount } from './resource-amounts';

/** The resources a container's requirements can carry. */
const CONTAINER_RESOURCES = ['cpu', 'memory'] as const;

/** The pod with the defaults of `ranges` filled in; throws permission-denied naming every breach. */
export function applyLimitRanges(pod: Pod, ranges: readonly LimitRange[]): Pod {
  const items = ranges.flatMap((r) => r.spec.limits);
  if (items.length === 0) return pod;
  const containerItems = items.filter((i) => i.type === 'Container');
  const set: string[] = [];
  const withDefaults = (c: Container): Container => {
    if (containerItems.length === 0) return c;
    const requests = { ...c.resources?.requests } as Record<string, string>;
    const limits = { ...c.resources?.limits } as Record<string, string>;
    const setRequests: string[] = [];
    const setLimits: string[] = [];
    for (const r of CONTAINER_RESOURCES) {
      if (requests[r] === undefined && limits[r] !== undefined) requests[r] = limits[r]!;
      for (const item of containerItems) {
        if (limits[r] === undefined && item.default?.[r] !== undefined) {
          limits[r] = String(item.default[r]);
          setLimits.push(r);
        }
        if (requests[r] === undefined && item.defaultRequest?.[r] !== undefined) {
          requests[r] = String(item.defaultRequest[r]);
          setRequests.push(r);
        }
      }
    }
    if (setRequests.length) set.push(`${setRequests.join(', ')} request for ${isInit(pod, c) ? 'init container' : 'container'} ${c.name}`);
    if (setLimits.length) set.push(`${setLimits.join(', ')} limit for ${isInit(pod, c) ? 'init container' : 'container'} ${c.name}`);
    const resources = { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
    return Object.keys(resources).length ? { ...c, resources } : c;
  };
  const spec = { ...pod.spec, containers: pod.spec.containers.map(withDefaults), ...(pod.spec.initContainers ? { initContainers: pod.spec.initContainers.map(withDefaults) } : {}) };
  const annotations = set.length ? { ...pod.metadata.annotations, 'kubernetes.io/limit-ranger': `LimitRanger plugin set: ${set.join('; ')}` } : pod.metadata.annotations;
  const out: Pod = { ...pod, metadata: { ...pod.metadata, ...(annotations ? { annotations } : {}) }, spec };

  const problems: string[] = [];
  for (const item of items) {
    if (item.type === 'Container') {
      for (const c of [...(out.spec.initContainers ?? []), ...out.spec.containers]) {
        problems.push(...boundProblems(item, 'Container', (c.resources?.requests ?? {}) as ResourceList, (c.resources?.limits ?? {}) as ResourceList));
      }
    } else if (item.type === 'Pod') {
      problems.push(...boundProblems(item, 'Pod', podTotal(out, 'requests'), podTotal(out, 'limits')));
    }
  }
  if (problems.length > 0) throw forbidden('pods', pod.metadata.name, problems);
  return out;
}

/** A claim checked against the PersistentVolumeClaim items: its storage request within min and max. */
export function checkClaimLimits(claim: PersistentVolumeClaim, ranges: readonly LimitRange[]): void {
  const problems: string[] = [];
  const request: ResourceList = claim.spec.resources?.requests?.storage !== undefined ? { storage: claim.spec.resources.requests.storage } : {};
  for (const item of ranges.flatMap((r) => r.spec.limits).filter((i) => i.type === 'PersistentVolumeClaim')) {
    for (const [resource, bound] of Object.entries(item.min ?? {})) {
      if (request[resource] === undefined) problems.push(`minimum ${resource} usage per PersistentVolumeClaim is ${shown(resource, bound)}.  No request is specified`);
      else if (amountOf(resource, request[resource]!) < amountOf(resource, bound)) problems.push(`minimum ${resource} usage per PersistentVolumeClaim is ${shown(resource, bound)}, but request is ${shown(resource, request[resource]!)}`);
    }
    for (const [resource, bound] of Object.entries(item.max ?? {})) {
      if (request[resource] === undefined) problems.push(`maximum ${resource} usage per PersistentVolumeClaim is ${shown(resource, bound)}.  No request is specified`);
      else if (amountOf(resource, request[resource]!) > amountOf(resource, bound)) problems.push(`maximum ${resource} usage per PersistentVolumeClaim is ${shown(resource, bound)}, but request is ${shown(resource, request[resource]!)}`);
    }
  }
  if (problems.length > 0) throw forbidden('persistentvolumeclaims', claim.metadata.name, problems);
}

const isInit = (pod: Pod, c: Container) => (pod.spec.initContainers ?? []).includes(c);
const shown = (resource: string, value: string | number) => formatAmount(resource, amountOf(resource, value));

/** One item's min, max and ratio against observed requests and limits (Kubernetes' min/max/ratio constraints). */
function boundProblems(item: LimitRangeItem, type: 'Container' | 'Pod', requests: ResourceList, limits: ResourceList): string[] {
  const out: string[] = [];
  const req = (r: string) => (requests[r] !== undefined ? amountOf(r, requests[r]!) : undefined);
  const lim = (r: string) => (limits[r] !== undefined ? amountOf(r, limits[r]!) : undefined);
  for (const [r, bound] of Object.entries(item.min ?? {})) {
    const min = amountOf(r, bound);
    const rq = req(r);
    const lm = lim(r);
    if (rq === undefined) out.push(`minimum ${r} usage per ${type} is ${shown(r, bound)}.  No request is specified`);
    else if (rq < min) out.push(`minimum ${r} usage per ${type} is ${shown(r, bound)}, but request is ${formatAmount(r, rq)}`);
    else if (lm !== undefined && lm < min) out.push(`minimum ${r} usage per ${type} is ${shown(r, bound)}, but limit is ${formatAmount(r, lm)}`);
  }
  for (const [r, bound] of Object.entries(item.max ?? {})) {
    const max = amountOf(r, bound);
    const rq = req(r);
    const lm = lim(r);
    if (lm === undefined) out.push(`maximum ${r} usage per ${type} is ${shown(r, bound)}.  No limit is specified`);
    else if (lm > max) out.push(`maximum ${r} usage per ${type} is ${shown(r, bound)}, but limit is ${formatAmount(r, lm)}`);
    else if (rq !== undefined && rq > max) out.push(`maximum ${r} usage per ${type} is ${shown(r, bound)}, but request is ${formatAmount(r, rq)}`);
  }
  for (const [r, bound] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const rq = req(r);
    const lm = lim(r);
    const ratio = amountOf('cpu', bound) / 1000;
    if (!rq) out.push(`${r} max limit to request ratio per ${type} is ${bound}, but no request is specified or request is 0`);
    else if (!lm) out.push(`${r} max limit to request ratio per ${type} is ${bound}, but no limit is specified or limit is 0`);
    else if (lm / rq > ratio) out.push(`${r} max limit to request ratio per ${type} is ${bound}, but provided ratio is ${(lm / rq).toFixed(6)}`);
  }
  return out;
}

/** A pod's total requests or limits of cpu and memory: its containers' sum, or its largest init container if more. */
function podTotal(pod: Pod, which: 'requests' | 'limits'): ResourceList {
  const out: ResourceList = {};
  for (const r of CONTAINER_RESOURCES) {
    const of = (c: Container) => c.resources?.[which]?.[r];
    const all = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
    if (!all.some((c) => of(c) !== undefined)) continue;
    const sum = pod.spec.containers.reduce((n, c) => n + (of(c) !== undefined ? amountOf(r, of(c)!) : 0), 0);
    const initPeak = (pod.spec.initContainers ?? []).reduce((n, c) => Math.max(n, of(c) !== undefined ? amountOf(r, of(c)!) : 0), 0);
    out[r] = formatAmount(r, Math.max(sum, initPeak));
  }
  return out;
}

function forbidden(resource: string, name: string | undefined, problems: string[]): BerthError {
  const why = problems.length === 1 ? problems[0]! : `[${problems.join(', ')}]`;
  return new BerthError('permission-denied', `${resource} "${name ?? ''}" is forbidden: ${why}`);
}
