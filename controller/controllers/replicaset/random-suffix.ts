// Random name suffixes for pods, as Kubernetes' generateName: 5 characters of an alphabet with
// no vowels (no words) and no look-alikes (no 0/o, 1/l), a subset of [a-z0-9].

import { randomInt } from 'node:crypto';

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}
