// The persistent volume loop: every claim and volume -> plan (./plan.ts) -> bindings, volumes
// made and deleted, phases written. One key for the cluster, as the scheduler's: two claims may
// want the same volume, and one plan decides between them.

import type { PersistentVolume, PersistentVolumeClaim } from '../../../proto/resources';
import { BerthError } from '../../../proto/errors';
import { ignoreNotFound } from '../../objects';
import type { ControlLoop, ControllerContext } from '../run-controller';
import type { ObjectRef } from '../types';
import type { WrittenRevisions } from '../written';
import { plan } from './plan';
import type { VolumeAction } from './types';

const VOLUMES_KEY = 'volumes';

export const volumeLoop: ControlLoop = {
  workers: 1,
  watch(caches, enqueue) {
    const wake = () => enqueue(VOLUMES_KEY);
    caches.claims.onChange(wake);
    caches.volumes.onChange(wake);
    caches.storageClasses.onChange(wake);
    caches.attributeClasses.onChange(wake);
    // A node's local-path root may come after a claim picked it.
    caches.nodes.onChange((type, node, previous) => {
      if (type !== 'MODIFIED' || JSON.stringify(node.metadata.annotations) !== JSON.stringify(previous?.metadata.annotations)) wake();
    });
  },
  initialKeys: [VOLUMES_KEY],
  async reconcile(ctx, _key, written) {
    const { actions } = plan({
      claims: ctx.caches.claims.list(),
      volumes: ctx.caches.volumes.list(),
      classes: ctx.caches.storageClasses.list(),
      attributeClasses: ctx.caches.attributeClasses.list(),
      nodes: ctx.caches.nodes.list(),
    });
    for (const action of actions) await carryOut(ctx, action, written);
  },
};

async function carryOut(ctx: ControllerContext, action: VolumeAction, written: WrittenRevisions): Promise<void> {
  const { caches, registry } = ctx;
  switch (action.type) {
    case 'event':
      ctx.record(action.event);
      return;
    case 'bind': {
      const claim = caches.claims.get(action.claim.namespace, action.claim.name);
      if (!claim?.metadata.uid) return;
      const claimRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: action.claim.namespace ?? 'default', name: action.claim.name, uid: claim.metadata.uid };
      // The volume first: once it names the claim, no other claim can take it.
      const pv = await mutateVolume(ctx, action.volume, (v) => {
        if (v.spec.claimRef && v.spec.claimRef.uid && v.spec.claimRef.uid !== claim.metadata.uid) return undefined;
        return { ...v, spec: { ...v.spec, claimRef }, status: { ...v.status, phase: 'Bound' } };
      }, written);
      if (pv?.spec.claimRef?.uid !== claim.metadata.uid) return;
      written.note(caches.claims, await registry.mutate<PersistentVolumeClaim>('PersistentVolumeClaim', action.claim.namespace, action.claim.name, (c) => {
        if (c.metadata.uid !== claim.metadata.uid || (c.spec.volumeName && c.spec.volumeName !== pv.metadata.name)) return undefined;
        return {
          ...c,
          metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' } },
          spec: { ...c.spec, volumeName: pv.metadata.name },
          status: { ...c.status, phase: 'Bound', accessModes: pv.spec.accessModes ?? [], capacity: { storage: String(pv.spec.capacity?.storage ?? '0') } },
        };
      }).catch(ignoreNotFound));
      return;
    }
    case 'provision':
      written.note(caches.volumes, await registry.create<PersistentVolume>(action.volume).catch((err: unknown) => {
        // Made by an earlier pass the cache had not shown yet.
        if (err instanceof BerthError && err.code === 'already-exists') return undefined;
        throw err;
      }));
      return;
    case 'claim-status':
      written.note(caches.claims, await registry.mutate<PersistentVolumeClaim>('PersistentVolumeClaim', action.claim.namespace, action.claim.name,
        (c) => (c.metadata.uid === action.claim.uid || !action.claim.uid ? { ...c, status: action.status } : undefined)).catch(ignoreNotFound));
      return;
    case 'volume-phase':
      await mutateVolume(ctx, action.volume, (v) => ({ ...v, status: { phase: action.phase, ...(action.message ? { message: action.message } : {}) } }), written);
      return;
    case 'delete-volume': {
      // The cache may lag behind a claim just made: confirm it is gone with a live read.
      const claim = await registry.tryGet<PersistentVolumeClaim>('PersistentVolumeClaim', action.claim.namespace, action.claim.name);
      if (claim && claim.metadata.uid === action.claim.uid) return;
      written.note(caches.volumes, await registry.delete('PersistentVolume', undefined, action.volume.name).catch(ignoreNotFound));
      return;
    }
  }
}

async function mutateVolume(ctx: ControllerContext, ref: ObjectRef, change: (pv: PersistentVolume) => PersistentVolume | undefined, written: WrittenRevisions): Promise<PersistentVolume | undefined> {
  const result = await ctx.registry.mutate<PersistentVolume>('PersistentVolume', undefined, ref.name, (v) => (!ref.uid || v.metadata.uid === ref.uid ? change(v) : undefined)).catch(ignoreNotFound);
  written.note(ctx.caches.volumes, result);
  return result;
}
