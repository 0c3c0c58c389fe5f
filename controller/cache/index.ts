// The cache: each kind the controllers read, kept in memory from a list and a watch of the
// registry (informer.ts), and the set of them the controllers share (caches.ts).
//
// Lifecycle: made when this controller starts leading (controllers/index.ts), change handlers
// added, then started; stopped with the controllers when leadership ends. Objects in a cache are
// shared and frozen: clone before changing.
//
// Imports: objects/ (the registry's list and watch), store/ (its error codes) and proto/.

export { Informer, type ChangeType, type ChangeHandler } from './informer';
export { newCaches, startCaches, stopCaches, type Caches } from './caches';
