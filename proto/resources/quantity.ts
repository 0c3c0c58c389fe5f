// Resource quantities as Kubernetes writes them: cpu in cores ("2", "0.5", "500m") and memory in
// bytes ("128Mi", "1Gi", "1G", "1000k", "1e3"). Parsing is exact (decimal digits, not floats:
// "0.1" cpu is 100m, never 101m) and rounds up to the unit, as Kubernetes' MilliValue/Value do.

import { BerthError } from '../errors';

export class QuantityError extends BerthError {
  constructor(message: string) {
    super('invalid-argument', message);
    this.name = 'QuantityError';
  }
}

/** Decimal suffixes (power of ten) and binary suffixes (power of two), Kubernetes' set. */
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// sign, digits with an optional fraction, then a suffix or an exponent.
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** An exact non-negative rational: numerator / denominator, both BigInt. */
interface Exact { num: bigint; den: bigint }

function parseExact(input: string | number, what: string, hint: string, where?: string): Exact {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  const at = where ? ` at ${where}` : '';
  const m = QUANTITY.exec(text);
  if (!m) throw new QuantityError(`invalid ${what} quantity ${JSON.stringify(input)}${at}: ${hint}`);
  const [, sign, digits, exponent, suffix] = m;
  const [whole, fraction = ''] = digits!.split('.');
  let num = BigInt(`${whole || '0'}${fraction}`);
  let den = 10n ** BigInt(fraction.length);
  if (sign === '-' && num !== 0n) throw new QuantityError(`invalid ${what} quantity ${JSON.stringify(input)}${at}: must not be negative`);
  let power10 = 0;
  if (exponent) power10 = Number(exponent.slice(1));
  else if (suffix && suffix in BINARY) num *= 2n ** BigInt(BINARY[suffix]!);
  else power10 = DECIMAL[suffix ?? '']!;
  if (Math.abs(power10) > 60) throw new QuantityError(`invalid ${what} quantity ${JSON.stringify(input)}${at}: exponent out of range`);
  if (power10 >= 0) num *= 10n ** BigInt(power10);
  else den *= 10n ** BigInt(-power10);
  return { num, den };
}

/** Numbers as they would be written: 2 -> "2", 0.5 -> "0.5", 1e21 -> "1e+21" (which the grammar reads). */
function numberText(n: number): string {
  return Number.isFinite(n) ? String(n).replace('e+', 'e') : 'NaN';
}

function ceilDiv(num: bigint, den: bigint): bigint {
  return (num + den - 1n) / den;
}

function toSafeNumber(n: bigint, input: string | number, what: string, where?: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new QuantityError(`invalid ${what} quantity ${JSON.stringify(input)}${where ? ` at ${where}` : ''}: too large`);
  }
  return Number(n);
}

/** Millicores of a cpu quantity: "500m" -> 500, "2" and 2 -> 2000, "0.5" -> 500; rounds up. */
export function parseCpu(input: string | number, where?: string): number {
  const q = parseExact(input, 'cpu', 'expected cores ("2", "0.5") or millicores ("500m")', where);
  return toSafeNumber(ceilDiv(q.num * 1000n, q.den), input, 'cpu', where);
}

/** Bytes of a memory quantity: "128Mi", "1Gi", "1G", "1000k", "1e3", 512; rounds up. */
export function parseMemory(input: string | number, where?: string): number {
  const q = parseExact(input, 'memory', 'expected bytes with an optional suffix ("128Mi", "1Gi", "1G", "1000k")', where);
  return toSafeNumber(ceilDiv(q.num, q.den), input, 'memory', where);
}

/** The shortest exact form of millicores: 2000 -> "2", 500 -> "500m", 1500 -> "1500m". */
export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

/**
 * The shortest exact form of bytes, preferring binary suffixes as memory is usually written:
 * 134217728 -> "128Mi", 1e9 -> "1G", 1500 -> "1500" (not exact in any larger unit).
 */
export function formatMemory(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [suffix, power] of Object.entries(BINARY).reverse()) {
    const unit = 2 ** power;
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  for (const [suffix, power] of [['E', 18], ['P', 15], ['T', 12], ['G', 9], ['M', 6], ['k', 3]] as const) {
    const unit = 10 ** power;
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

/** Bytes as Kubernetes prints a node's memory: whole kibibytes ("16331584Ki"). */
export function formatKibibytes(bytes: number): string {
  return `${Math.floor(bytes / 1024)}Ki`;
}
