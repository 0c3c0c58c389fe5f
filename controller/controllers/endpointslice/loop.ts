// The EndpointSlice loop: a Service's key -> plan (./plan.ts) over the caches -> slices created,
// updated (conditional on the version read) and deleted; and for a Service without a selector,
// its Endpoints mirrored (./mirror.ts). Woken by the Service, by any pod it selects or selected
// (a label change moves a pod out), by its Endpoints, and by a change to one of its slices.

import type { EndpointSlice, Service } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import type { Caches } from '../../cache';
import { queueKey, splitKey, type ControlLoop } from '../run-controller';
import { isManaged, plan, selectedBy, serviceNameOf } from './plan';
import { isMirrored, mirrorPlan } from './mirror';

export function endpointSliceLoop(maxEndpointsPerSlice?: number): ControlLoop {
  return {
    workers: 2,
    watch(caches, enqueue) {
      caches.services.onChange((_type, svc) => enqueue(queueKey(svc.metadata.namespace, svc.metadata.name)));
      caches.endpoints.onChange((_type, ep) => enqueue(queueKey(ep.metadata.namespace, ep.metadata.name)));
      caches.endpointSlices.onChange((_type, slice) => {
        const name = serviceNameOf(slice);
        if (name && (isManaged(slice) || isMirrored(slice))) enqueue(queueKey(slice.metadata.namespace, name));
      });
      caches.pods.onChange((_type, pod, previous) => {
        for (const svc of servicesOf(caches, pod.metadata.namespace)) {
          if (selectedBy(svc, pod) || (previous && selectedBy(svc, previous))) enqueue(queueKey(svc.metadata.namespace, svc.metadata.name));
        }
      });
    },
    async reconcile(ctx, key, written) {
      const [namespace, name] = splitKey(key);
      const service = ctx.caches.services.get(namespace, name);
      const slices = ctx.caches.endpointSlices.list((s) => s.metadata.namespace === (namespace ?? 'default') && serviceNameOf(s) === name);
      const pods = service ? ctx.caches.pods.list((p) => p.metadata.namespace === service.metadata.namespace) : [];
      const { actions } = plan(service?.metadata.deletionTimestamp ? undefined : service, pods, slices, maxEndpointsPerSlice);
      // A Service without a selector: the slices mirror the Endpoints a user wrote for it.
      actions.push(...mirrorPlan(service, ctx.caches.endpoints.get(namespace, name), slices).actions);
      for (const action of actions) {
        switch (action.type) {
          case 'create':
            written.note(ctx.caches.endpointSlices, await ctx.registry.create<EndpointSlice>(action.slice).catch((err: unknown) => {
              // Made meanwhile under that name (another pass, a user): the next pass sees it.
              if (err instanceof BerthError && err.code === 'already-exists') return undefined;
              throw err;
            }));
            break;
          case 'update':
            written.note(ctx.caches.endpointSlices, await ctx.registry.update<EndpointSlice>(action.slice));
            break;
          case 'delete':
            written.note(ctx.caches.endpointSlices, await ctx.registry.delete('EndpointSlice', action.namespace, action.name).catch(ignoreNotFound));
            break;
        }
      }
    },
  };
}

function servicesOf(caches: Caches, namespace: string | undefined): Service[] {
  return caches.services.list((s) => s.metadata.namespace === (namespace ?? 'default'));
}
