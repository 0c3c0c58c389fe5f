// The ephemeral volume controller's decision, pure: a claim per generic ephemeral volume, named
// <pod>-<volume> and owned by the pod, from the template; none for a pod that is finished or
// going; a claim of that name the pod does not own is a conflict, never taken over.

import t from 'tap';
import { plan } from '../../controller/controllers/ephemeral';
import type { PersistentVolumeClaim, Pod } from '../../proto/resources';

const pod = (extra: Partial<Pod['metadata']> = {}, phase: 'Running' | 'Succeeded' = 'Running'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: 'pod-uid', ...extra },
  spec: {
    containers: [{ name: 'c', image: 'x' }],
    volumes: [
      { name: 'cache', emptyDir: {} },
      { name: 'scratch', ephemeral: { volumeClaimTemplate: { metadata: { labels: { a: 'b' } }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } } } } },
    ],
  },
  status: { phase },
});

const claim = (name: string, ownerUid?: string): PersistentVolumeClaim => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'shop', ...(ownerUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: ownerUid, controller: true }] } : {}) },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

t.test('a claim per ephemeral volume, from its template, owned by the pod', async (t) => {
  t.same(plan(pod(), []).actions, [{
    type: 'create',
    claim: {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'web-scratch', namespace: 'shop', labels: { a: 'b' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'pod-uid', controller: true }] },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } },
    },
  }]);
  t.same(plan(pod(), [claim('web-scratch', 'pod-uid')]).actions, [], 'made already');
  t.same(plan(pod(), [claim('web-scratch')]).actions, [{ type: 'conflict', claim: 'web-scratch' }], 'someone else\'s claim is not taken');
  t.same(plan(pod(), [claim('web-scratch', 'other-uid')]).actions, [{ type: 'conflict', claim: 'web-scratch' }], 'nor an earlier pod\'s of the same name');
  t.same(plan(pod({ deletionTimestamp: '2026-12-05T00:00:00Z' }), []).actions, [], 'a pod going gets none');
  t.same(plan(pod({}, 'Succeeded'), []).actions, [], 'a finished pod gets none');
});
