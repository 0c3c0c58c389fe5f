// The ingress status loop: carries out ./plan.ts for an Ingress when it changes, and for every
// Ingress when a node or an IngressClass does.

import type { ControlLoop } from '../run-controller';
import { queueKey, splitKey, writeStatusIfUnchanged } from '../run-controller';
import { desiredIngressStatus, ingressAddresses } from './plan';

export const ingressStatusLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    const all = () => {
      for (const ingress of caches.ingresses.list()) enqueue(queueKey(ingress.metadata.namespace, ingress.metadata.name));
    };
    caches.ingresses.onChange((_type, obj) => enqueue(queueKey(obj.metadata.namespace, obj.metadata.name)));
    caches.ingressClasses.onChange(all);
    caches.nodes.onChange(all);
  },
  async reconcile(ctx, key, written) {
    const [namespace, name] = splitKey(key);
    const ingress = ctx.caches.ingresses.get(namespace, name);
    if (!ingress || ingress.metadata.deletionTimestamp) return;
    const status = desiredIngressStatus(ingress, ctx.caches.ingressClasses.list(), ingressAddresses(ctx.caches.nodes.list()));
    if (status === undefined || JSON.stringify(status) === JSON.stringify(ingress.status ?? {})) return;
    await writeStatusIfUnchanged(ctx, ctx.caches.ingresses, written, ingress, status);
  },
};
