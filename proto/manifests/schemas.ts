// The JSON Schemas of the appliable kinds (manifests/schemas), compiled once per process.
// Importing the JSON (rather than reading it at run time) makes tsc copy the schemas next to
// the compiled code, so dist/ works wherever it is installed.

import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import definitions from '../../manifests/schemas/definitions.json';
import namespace from '../../manifests/schemas/namespace.json';
import pod from '../../manifests/schemas/pod.json';
import deployment from '../../manifests/schemas/deployment.json';
import replicaset from '../../manifests/schemas/replicaset.json';
import replicationcontroller from '../../manifests/schemas/replicationcontroller.json';
import serviceaccount from '../../manifests/schemas/serviceaccount.json';
import role from '../../manifests/schemas/role.json';
import clusterrole from '../../manifests/schemas/clusterrole.json';
import rolebinding from '../../manifests/schemas/rolebinding.json';
import clusterrolebinding from '../../manifests/schemas/clusterrolebinding.json';
import service from '../../manifests/schemas/service.json';
import endpointslice from '../../manifests/schemas/endpointslice.json';
import configmap from '../../manifests/schemas/configmap.json';
import secret from '../../manifests/schemas/secret.json';
import job from '../../manifests/schemas/job.json';
import daemonset from '../../manifests/schemas/daemonset.json';
import cronjob from '../../manifests/schemas/cronjob.json';
import statefulset from '../../manifests/schemas/statefulset.json';
import persistentvolumeclaim from '../../manifests/schemas/persistentvolumeclaim.json';
import persistentvolume from '../../manifests/schemas/persistentvolume.json';
import storageclass from '../../manifests/schemas/storageclass.json';
import certificatesigningrequest from '../../manifests/schemas/certificatesigningrequest.json';
import volumeattributesclass from '../../manifests/schemas/volumeattributesclass.json';
import priorityclass from '../../manifests/schemas/priorityclass.json';
import poddisruptionbudget from '../../manifests/schemas/poddisruptionbudget.json';
import limitrange from '../../manifests/schemas/limitrange.json';
import resourcequota from '../../manifests/schemas/resourcequota.json';
import validatingadmissionpolicy from '../../manifests/schemas/validatingadmissionpolicy.json';
import validatingadmissionpolicybinding from '../../manifests/schemas/validatingadmissionpolicybinding.json';
import networkpolicy from '../../manifests/schemas/networkpolicy.json';
import validatingwebhookconfiguration from '../../manifests/schemas/validatingwebhookconfiguration.json';
import mutatingwebhookconfiguration from '../../manifests/schemas/mutatingwebhookconfiguration.json';
import ingress from '../../manifests/schemas/ingress.json';
import horizontalpodautoscaler from '../../manifests/schemas/horizontalpodautoscaler.json';
import ingressclass from '../../manifests/schemas/ingressclass.json';
import customresourcedefinition from '../../manifests/schemas/customresourcedefinition.json';
import endpoints from '../../manifests/schemas/endpoints.json';

/** The kinds a user may apply, in the order error messages list them. */
export const APPLIABLE_KINDS = ['Namespace', 'Pod', 'Deployment', 'ReplicaSet', 'ReplicationController', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob', 'HorizontalPodAutoscaler', 'Service', 'EndpointSlice', 'Endpoints', 'Ingress', 'IngressClass', 'NetworkPolicy', 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'PersistentVolume', 'StorageClass', 'VolumeAttributesClass', 'PriorityClass', 'PodDisruptionBudget', 'LimitRange', 'ResourceQuota', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'CertificateSigningRequest', 'CustomResourceDefinition'] as const;
export type AppliableKind = (typeof APPLIABLE_KINDS)[number];

/** The annotation keyword in the schemas that says in words what a value must look like. */
export const EXPECTED_KEYWORD = 'x-expected';

const SCHEMAS: Record<AppliableKind, object> = {
  Namespace: namespace, Pod: pod, Deployment: deployment, ReplicaSet: replicaset, ReplicationController: replicationcontroller, DaemonSet: daemonset, StatefulSet: statefulset, Job: job, CronJob: cronjob, HorizontalPodAutoscaler: horizontalpodautoscaler, Service: service, EndpointSlice: endpointslice, Endpoints: endpoints, Ingress: ingress, IngressClass: ingressclass, NetworkPolicy: networkpolicy, ConfigMap: configmap, Secret: secret,
  PersistentVolumeClaim: persistentvolumeclaim, PersistentVolume: persistentvolume, StorageClass: storageclass, VolumeAttributesClass: volumeattributesclass, PriorityClass: priorityclass, PodDisruptionBudget: poddisruptionbudget, LimitRange: limitrange, ResourceQuota: resourcequota,
  ValidatingAdmissionPolicy: validatingadmissionpolicy, ValidatingAdmissionPolicyBinding: validatingadmissionpolicybinding, ValidatingWebhookConfiguration: validatingwebhookconfiguration, MutatingWebhookConfiguration: mutatingwebhookconfiguration, ServiceAccount: serviceaccount,
  Role: role, ClusterRole: clusterrole, RoleBinding: rolebinding, ClusterRoleBinding: clusterrolebinding, CertificateSigningRequest: certificatesigningrequest, CustomResourceDefinition: customresourcedefinition,
};

let compiled: Record<AppliableKind, ValidateFunction> | undefined;
let shared: Ajv2020 | undefined;

function ajv(): Ajv2020 {
  if (!shared) {
    // verbose: errors carry their schema, where the x-expected wording is; allErrors: the user
    // fixes every mistake in one round.
    shared = new Ajv2020({ allErrors: true, verbose: true, strict: true });
    shared.addKeyword({ keyword: EXPECTED_KEYWORD, schemaType: 'string' });
    shared.addSchema(definitions);
  }
  return shared;
}

/** The schema validator of a kind; compiles all of them on first use. */
export function schemaValidator(kind: AppliableKind): ValidateFunction {
  if (!compiled) {
    const out = {} as Record<AppliableKind, ValidateFunction>;
    for (const kind of APPLIABLE_KINDS) out[kind] = ajv().compile(SCHEMAS[kind]);
    compiled = out;
  }
  return compiled[kind];
}

let customAjv: Ajv2020 | undefined;
const customValidators = new Map<string, ValidateFunction>();
const MAX_CUSTOM_VALIDATORS = 200;

/**
 * A validator for a custom kind's schema (already turned into JSON Schema, which may refer to
 * definitions.json), compiled once per `key` (the definition's uid, version and schema version;
 * the schema text when there is none): definitions change rarely, objects often.
 *
 * Its own ajv: a CustomResourceDefinition's author writes the schema, so ajv's strict mode (made
 * for berth's own schemas) would refuse shapes Kubernetes accepts, and patterns run on RE2 (as
 * Kubernetes runs them: linear time, so no pattern of a definition can stall the controller on an
 * object's value). When the cache is full the whole instance goes, with what ajv keeps inside it.
 */
export function customSchemaValidator(schema: object, key = JSON.stringify(schema)): ValidateFunction {
  let validate = customValidators.get(key);
  if (!validate) {
    if (!customAjv || customValidators.size >= MAX_CUSTOM_VALIDATORS) {
      customValidators.clear();
      customAjv = new Ajv2020({ allErrors: true, verbose: true, strict: false, validateFormats: false, code: { regExp: re2RegExp as never } });
      customAjv.addKeyword({ keyword: EXPECTED_KEYWORD, schemaType: 'string' });
      customAjv.addSchema(definitions);
    }
    validate = customAjv.compile(schema);
    customValidators.set(key, validate);
  }
  return validate;
}

/**
 * ajv's RegExp, by RE2 (re2js): test() finds the pattern anywhere, as JSON Schema's pattern does.
 * A definition's patterns are refused unless RE2 reads them (custom-resources.ts), so only berth's
 * own (definitions.json, for metadata: lookaheads RE2 has not) fall back to JavaScript's engine.
 */
function re2RegExp(pattern: string, flags: string): { test(s: string): boolean; toString(): string } {
  // Loaded here: only custom kinds' patterns need it.
  const { RE2JS } = require('re2js') as typeof import('re2js');
  try {
    const re = RE2JS.compile(pattern);
    // ajv keys its compiled patterns by toString(): each pattern must say its own.
    return { test: (s: string) => re.matcher(s).find(), toString: () => `/${pattern}/${flags}` };
  } catch {
    return new RegExp(pattern, flags);
  }
}
