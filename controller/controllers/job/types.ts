// The Job controller runs a Job's pods to completion, as Kubernetes' job controller: up to
// `parallelism` at once until `completions` have succeeded (Indexed: one success per index
// 0..completions-1, each pod told its index), replacing failed pods after a back-off (10 s
// doubling, at most 6 min) until more than backoffLimit have failed; activeDeadlineSeconds,
// podFailurePolicy (FailJob, Ignore, Count, FailIndex), suspend and ttlSecondsAfterFinished as
// Kubernetes has them. The Job's conditions and reasons are Kubernetes': Complete, Failed
// (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy), Suspended (JobSuspended,
// JobResumed). Ended pods are kept (their logs), and go with the Job.

import type { JobStatus, Pod } from '../../../proto/resources';
import type { EventAction, ObjectRef, Plan } from '../types';

export const JOB_CONTROLLER = 'job-controller';

/** The completion index of an Indexed Job's pod (annotation and label), and its env var. */
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** Labels every pod of a Job carries: Kubernetes' current names and the legacy ones. */
export const JOB_NAME_LABELS = ['batch.kubernetes.io/job-name', 'job-name'] as const;
export const CONTROLLER_UID_LABELS = ['batch.kubernetes.io/controller-uid', 'controller-uid'] as const;

/** The pod failure back-off: 10 s doubling per failure, at most 6 min (Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff). */
export const POD_FAILURE_BACKOFF_MS = { initial: 10_000, max: 360_000 } as const;

/** At most this many pods created or deleted by one plan. */
export const BURST_PODS = 500;

export type JobAction =
  | { type: 'create-pod'; pod: Pod }
  | { type: 'delete-pod'; pod: ObjectRef; reason: 'surplus' | 'job-finished' | 'suspended' }
  | { type: 'update-job-status'; job: ObjectRef; status: JobStatus }
  /** ttlSecondsAfterFinished passed: the Job goes, and its pods with it. */
  | { type: 'delete-job'; job: ObjectRef }
  | EventAction;

export type JobPlan = Plan<JobAction>;
