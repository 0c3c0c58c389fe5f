// CNI plugin invocation per the CNI spec: the plugin binary is exec'd with the CNI_* environment
// and its network configuration on stdin, and answers a result or an error as JSON on stdout.
// A network configuration list (conflist) is chained here, as libcni does: ADD in order, each
// plugin seeing the previous result as prevResult; DEL in reverse order.

import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import * as path from 'node:path';
import { BerthError, type ErrorCode } from '../../proto/errors';

/** The newest version the Debian 12 plugins (1.1.1) speak: 0.1.0 to 1.0.0. */
export const CNI_VERSION = '1.0.0';

/** One plugin's configuration inside a list: `type` names the binary, the rest is its own. */
export interface CniPluginConf {
  type: string;
  /** Runtime capabilities (e.g. portMappings) this plugin wants handed in `runtimeConfig`. */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniNetworkList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
}

/** A CNI 1.0.0 result; only the fields we read are typed. */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ interface?: number; address: string; gateway?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: unknown;
}

/** What the runtime knows about the attachment: the CNI_* variables and capability arguments. */
export interface CniRuntime {
  containerId: string;
  /** Namespace path; '' on a DEL whose namespace is already gone. */
  netns: string;
  ifName: string;
  /** Values for the plugins' declared capabilities, e.g. { portMappings: [...] }. */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniInvoker {
  /** Directories searched for plugin binaries, in order. */
  cniPath: string[];
  timeoutMs: number;
}

type Command = 'ADD' | 'DEL';

/** CNI well-known error codes (spec, "Error") that say the configuration or input is wrong. */
const INVALID_INPUT_CODES = new Set([1, 2, 4, 6, 7]);
/** Code 11: "try again later". */
const TRY_AGAIN_CODE = 11;

/**
 * ADD a network list. Every plugin binary is found first, so a missing one fails before anything
 * is made. On a plugin's failure the plugins already run, and the failing one (which may have left
 * half its work: the spec expects a DEL after a failed ADD), are DELeted in reverse before the
 * error is thrown, so a failed ADD leaves nothing behind.
 */
export async function addNetworkList(cni: CniInvoker, list: CniNetworkList, rt: CniRuntime): Promise<CniResult> {
  await findPlugins(cni, list);
  let prevResult: CniResult | undefined;
  for (const [i, plugin] of list.plugins.entries()) {
    try {
      prevResult = await invoke(cni, 'ADD', pluginConf(list, plugin, rt, prevResult), rt);
    } catch (err) {
      const rollback = await delPlugins(cni, list, list.plugins.slice(0, i + 1), rt, prevResult);
      if (rollback.length === 0) throw err;
      throw new BerthError(codeOf(err), `${(err as Error).message} (and rolling back failed: ${(rollback[0] as Error).message})`, { cause: err });
    }
  }
  if (prevResult === undefined) throw new BerthError('internal', `cni network ${list.name}: empty plugin list`);
  return prevResult;
}

/**
 * DEL a network list in reverse, giving every plugin the cached ADD result as prevResult (as
 * libcni does). Every plugin is tried even after one fails, so that as much as possible is
 * released; the first failure is thrown afterwards.
 */
export async function delNetworkList(cni: CniInvoker, list: CniNetworkList, rt: CniRuntime, prevResult: CniResult | undefined): Promise<void> {
  const failures = await delPlugins(cni, list, list.plugins, rt, prevResult);
  if (failures.length > 0) throw failures[0];
}

async function delPlugins(cni: CniInvoker, list: CniNetworkList, plugins: CniPluginConf[], rt: CniRuntime, prevResult: CniResult | undefined): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const plugin of [...plugins].reverse()) {
    try {
      await invoke(cni, 'DEL', pluginConf(list, plugin, rt, prevResult), rt);
    } catch (err) {
      failures.push(err);
    }
  }
  return failures;
}

/** The configuration a plugin sees: its own, plus the list's name and version, runtimeConfig and prevResult. */
function pluginConf(list: CniNetworkList, plugin: CniPluginConf, rt: CniRuntime, prevResult: CniResult | undefined): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, wanted] of Object.entries(plugin.capabilities ?? {})) {
    // Only declared capabilities are passed (spec: "Deriving runtimeConfig").
    if (wanted && rt.capabilityArgs?.[capability] !== undefined) runtimeConfig[capability] = rt.capabilityArgs[capability];
  }
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

/** Check that every plugin of a list is installed; throws not-found naming the first that is not. */
export async function findPlugins(cni: CniInvoker, list: CniNetworkList): Promise<void> {
  for (const plugin of list.plugins) await findPlugin(cni, plugin.type);
}

async function findPlugin(cni: CniInvoker, type: string): Promise<string> {
  // `type` comes from configuration: it must name a file, never a path.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) throw new BerthError('invalid-argument', `cni plugin type ${JSON.stringify(type)} is not a plain name`);
  for (const dir of cni.cniPath) {
    const candidate = path.join(dir, type);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  throw new BerthError('not-found', `cni plugin ${type}: no executable in ${cni.cniPath.join(':')}`);
}

/** Exec one plugin once. Resolves the parsed result (undefined for DEL), rejects with a BerthError naming the plugin. */
async function invoke(cni: CniInvoker, command: Command, conf: Record<string, unknown>, rt: CniRuntime): Promise<CniResult | undefined> {
  const type = conf.type as string;
  const where = `cni plugin ${type} ${command}`;
  const binary = await findPlugin(cni, type);
  const env = {
    // Plugins exec iptables, ip and their IPAM plugin: they need a PATH, nothing else of ours.
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: rt.containerId,
    CNI_NETNS: rt.netns,
    CNI_IFNAME: rt.ifName,
    CNI_PATH: cni.cniPath.join(':'),
  };
  const { status, stdout, stderr } = await run(binary, env, JSON.stringify(conf), cni.timeoutMs, where);
  if (status !== 0) throw pluginError(where, stdout, stderr, status);
  if (command === 'DEL') return undefined;
  try {
    return JSON.parse(stdout) as CniResult;
  } catch (err) {
    throw new BerthError('internal', `${where}: result is not JSON: ${oneLine(stdout)}`, { cause: err });
  }
}

/** The spec's error object ({ code, msg, details }) as a BerthError with the plugin's own message. */
function pluginError(where: string, stdout: string, stderr: string, status: number | string): BerthError {
  let parsed: { code?: number; msg?: string; details?: string } | undefined;
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    // not the spec's error object: fall back to whatever the plugin printed
  }
  if (parsed?.msg !== undefined) {
    const detail = parsed.details ? `: ${parsed.details}` : '';
    return new BerthError(codeOfCni(parsed.code, parsed.msg), `${where}: ${oneLine(parsed.msg + detail)}`);
  }
  const text = oneLine(stderr || stdout) || `exited with ${status}`;
  return new BerthError('internal', `${where}: ${text}`);
}

function codeOfCni(code: number | undefined, msg: string): ErrorCode {
  if (code !== undefined && INVALID_INPUT_CODES.has(code)) return 'invalid-argument';
  if (code === TRY_AGAIN_CODE) return 'unavailable';
  // host-local's exhaustion is a plain error (999); it is worth telling apart from a bug.
  if (/no IP addresses available/.test(msg)) return 'resource-exhausted';
  return 'internal';
}

const codeOf = (err: unknown): ErrorCode => (err instanceof BerthError ? err.code : 'internal');

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

interface RunResult { status: number | string; stdout: string; stderr: string }

function run(binary: string, env: NodeJS.ProcessEnv, input: string, timeoutMs: number, where: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new BerthError('internal', `${where}: ${e.message}`, { cause: e })));
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') {
        reject(new BerthError('unavailable', `${where}: no answer within ${timeoutMs} ms`));
        return;
      }
      resolve({ status: code ?? String(signal), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // A plugin that exits without reading its stdin makes the write fail with EPIPE; its exit status says more.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
