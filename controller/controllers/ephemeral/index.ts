// The ephemeral volume controller's pure decision (its loop is ./loop.ts).
export { plan, type EphemeralAction } from './plan';
