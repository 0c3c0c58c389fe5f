// The informers the controllers share, one per kind they read (client-go's shared informer
// factory, for a fixed set of kinds): every controller's change handlers hang off the same ones,
// so each kind is listed and watched once.

import type {
  CertificateSigningRequest, HorizontalPodAutoscaler, Ingress, IngressClass, VolumeAttributesClass,
  ControllerRevision, CronJob, DaemonSet, Deployment, EndpointSlice, Endpoints, Job, Lease, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, ReplicaSet, Service, ServiceAccount,
  PodDisruptionBudget, ReplicationController, ResourceQuota, StatefulSet, StorageClass,
} from '../../proto/resources';
import type { Registry } from '../objects';
import { Informer } from './informer';

export interface Caches {
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
  deployments: Informer<Deployment>;
  jobs: Informer<Job>;
  daemonSets: Informer<DaemonSet>;
  cronJobs: Informer<CronJob>;
  statefulSets: Informer<StatefulSet>;
  claims: Informer<PersistentVolumeClaim>;
  volumes: Informer<PersistentVolume>;
  storageClasses: Informer<StorageClass>;
  nodes: Informer<Node>;
  leases: Informer<Lease>;
  namespaces: Informer<Namespace>;
  serviceAccounts: Informer<ServiceAccount>;
  services: Informer<Service>;
  endpointSlices: Informer<EndpointSlice>;
  endpoints: Informer<Endpoints>;
  disruptionBudgets: Informer<PodDisruptionBudget>;
  resourceQuotas: Informer<ResourceQuota>;
  controllerRevisions: Informer<ControllerRevision>;
  replicationControllers: Informer<ReplicationController>;
  ingresses: Informer<Ingress>;
  ingressClasses: Informer<IngressClass>;
  autoscalers: Informer<HorizontalPodAutoscaler>;
  attributeClasses: Informer<VolumeAttributesClass>;
  certificateRequests: Informer<CertificateSigningRequest>;
}

/** Made stopped: add change handlers first, then startCaches (so the first list reaches them). */
export function newCaches(registry: Registry): Caches {
  return {
    pods: new Informer<Pod>(registry, 'Pod'),
    replicaSets: new Informer<ReplicaSet>(registry, 'ReplicaSet'),
    deployments: new Informer<Deployment>(registry, 'Deployment'),
    jobs: new Informer<Job>(registry, 'Job'),
    daemonSets: new Informer<DaemonSet>(registry, 'DaemonSet'),
    cronJobs: new Informer<CronJob>(registry, 'CronJob'),
    statefulSets: new Informer<StatefulSet>(registry, 'StatefulSet'),
    claims: new Informer<PersistentVolumeClaim>(registry, 'PersistentVolumeClaim'),
    volumes: new Informer<PersistentVolume>(registry, 'PersistentVolume'),
    storageClasses: new Informer<StorageClass>(registry, 'StorageClass'),
    nodes: new Informer<Node>(registry, 'Node'),
    leases: new Informer<Lease>(registry, 'Lease'),
    namespaces: new Informer<Namespace>(registry, 'Namespace'),
    serviceAccounts: new Informer<ServiceAccount>(registry, 'ServiceAccount'),
    services: new Informer<Service>(registry, 'Service'),
    endpointSlices: new Informer<EndpointSlice>(registry, 'EndpointSlice'),
    endpoints: new Informer<Endpoints>(registry, 'Endpoints'),
    disruptionBudgets: new Informer<PodDisruptionBudget>(registry, 'PodDisruptionBudget'),
    resourceQuotas: new Informer<ResourceQuota>(registry, 'ResourceQuota'),
    controllerRevisions: new Informer<ControllerRevision>(registry, 'ControllerRevision'),
    replicationControllers: new Informer<ReplicationController>(registry, 'ReplicationController'),
    ingresses: new Informer<Ingress>(registry, 'Ingress'),
    ingressClasses: new Informer<IngressClass>(registry, 'IngressClass'),
    autoscalers: new Informer<HorizontalPodAutoscaler>(registry, 'HorizontalPodAutoscaler'),
    attributeClasses: new Informer<VolumeAttributesClass>(registry, 'VolumeAttributesClass'),
    certificateRequests: new Informer<CertificateSigningRequest>(registry, 'CertificateSigningRequest'),
  };
}

/** Resolves once every cache holds its first list; when one fails, all are stopped. */
export async function startCaches(caches: Caches): Promise<void> {
  try {
    await Promise.all(all(caches).map((c) => c.start()));
  } catch (err) {
    stopCaches(caches);
    throw err;
  }
}

export function stopCaches(caches: Caches): void {
  for (const c of all(caches)) c.stop();
}

const all = (caches: Caches) => Object.values(caches) as Informer[];
