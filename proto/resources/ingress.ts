// Which Ingresses berth's own controller serves: shared by the agents (which route them) and the
// controller (which writes their status).

import { DEFAULT_INGRESS_CLASS_ANNOTATION, INGRESS_CONTROLLER, LEGACY_INGRESS_CLASS_ANNOTATION, type Ingress, type IngressClass } from './types';

/**
 * Whether berth's controller serves this Ingress: its class (spec.ingressClassName, or the older
 * kubernetes.io/ingress.class annotation) is one whose controller is berth's; with no class, while
 * berth's class is a default (the Ingress was made before any default class existed).
 */
export function servedByBerth(ingress: Ingress, classes: readonly IngressClass[]): boolean {
  const ours = (name: string) => classes.some((c) => c.metadata.name === name && c.spec.controller === INGRESS_CONTROLLER);
  const named = ingress.spec.ingressClassName ?? ingress.metadata.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION];
  if (named !== undefined) return ours(named);
  return classes.some((c) => c.spec.controller === INGRESS_CONTROLLER && c.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === 'true');
}
