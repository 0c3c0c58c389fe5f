// What the rest of the controller may import from the object layer (see types.ts for what it
// owns and its lifecycle). Keys and store encodings stay inside.

export { Registry } from './registry';
export type { Clock, ObjectFilter, ObjectEvent, ObjectWatchCallbacks, ListOptions, DeleteOptions } from './types';
export { infoOf, describeObject, keyOfObject } from './keys';
export { ignoreNotFound } from './errors';
export { apply, type ApplyAction, type ApplyOutcome, type ApplyOptions } from './apply';
export { deleteWithDependents, ensureNamespace } from './delete';
export { ensureSystemObjects } from './system-objects';
export { API_SERVICE_NAME, ensureApiService } from './api-service';
export { updateByUser } from './update';
export { recordEvent, eventRecorder, type EventRecord, type EventRecorder } from './events';
export { compileFilter } from './filters';
