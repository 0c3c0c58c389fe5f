// Which controller the cluster verbs talk to, and with what credentials. The kubeconfig comes from
// --kubeconfig, else $BERTH_CONFIG, else $KUBECONFIG (a ':'-separated list, merged as kubectl
// merges it), else ~/.berth/config. Its context (--context, else current-context) gives the server,
// the CA and the user's certificate or token. --server, then $BERTH_SERVER, override the server
// (not the credentials). A config of the older one-line form `server: HOST:PORT` still names a
// server, with no credentials.
//
// Whether a controller was configured at all decides what `berth logs` and `berth diff` mean.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError } from '../../proto/errors';
import { credentialsOf, mergeKubeconfigs, parseKubeconfig, type Credentials, type Kubeconfig } from '../../proto/trust/kubeconfig';
import { parseHostPort } from '../grpc/grpc-lite';
import { CliError } from '../common/errors';

/** Where `berth controller` listens unless told otherwise. */
export const DEFAULT_SERVER = '127.0.0.1:7443';

export type ServerSource = 'flag' | 'env' | 'config' | 'default';

export interface Connection {
  /** HOST:PORT. */
  address: string;
  /** 'default' means nobody configured a controller. */
  source: ServerSource;
  /** From the kubeconfig's context; undefined when there is none. */
  credentials?: Credentials;
  /** The kubeconfig file(s) read, for messages. */
  configFiles: string[];
}

export interface ConnectionFlags {
  server?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

export interface ConnectionInputs {
  flags: ConnectionFlags;
  env: NodeJS.ProcessEnv;
  /** The user's home directory (~/.berth/config lives there). */
  home: string;
  /** Read a file, or undefined when it does not exist. */
  readFile: (file: string) => string | undefined;
}

export const configPath = (home: string): string => path.join(home, '.berth', 'config');

/** The kubeconfig files to read, in kubectl's order of precedence. */
export function configFiles(inputs: Pick<ConnectionInputs, 'flags' | 'env' | 'home'>): string[] {
  if (inputs.flags.kubeconfig) return [inputs.flags.kubeconfig];
  if (inputs.env.BERTH_CONFIG) return [inputs.env.BERTH_CONFIG];
  const list = (inputs.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  return list.length > 0 ? list : [configPath(inputs.home)];
}

/** The controller's address, where it came from, and the credentials; a malformed input is an error naming its source. */
export function resolveConnection(inputs: ConnectionInputs): Connection {
  const files = configFiles(inputs);
  const configs: Kubeconfig[] = [];
  let legacyServer: string | undefined;
  for (const file of files) {
    const text = inputs.readFile(file);
    if (text === undefined) {
      if (inputs.flags.kubeconfig) throw new CliError(`--kubeconfig: ${file}: no such file`);
      continue;
    }
    const legacy = legacyServerOf(text);
    if (legacy !== undefined) {
      legacyServer ??= checked(legacy, `${file}: server`);
      continue;
    }
    configs.push(parseKubeconfig(text, file));
  }
  const merged = mergeKubeconfigs(configs);
  const mergedFile = files.find((f) => inputs.readFile(f) !== undefined) ?? files[0]!;
  let credentials: Credentials | undefined;
  if (merged.contexts.length > 0 || inputs.flags.context) {
    credentials = credentialsOf(merged, mergedFile, (f) => {
      const text = inputs.readFile(f);
      if (text === undefined) throw new BerthError('invalid-argument', `${mergedFile}: ${f}: no such file`);
      return text;
    }, inputs.flags.context);
  }
  const base = { configFiles: files, ...(credentials ? { credentials } : {}) };
  if (inputs.flags.server !== undefined) return { ...base, address: checked(stripScheme(inputs.flags.server), '--server'), source: 'flag' };
  if (inputs.env.BERTH_SERVER) return { ...base, address: checked(stripScheme(inputs.env.BERTH_SERVER), 'BERTH_SERVER'), source: 'env' };
  if (credentials) return { ...base, address: checked(credentials.server, `${mergedFile}: server`), source: 'config' };
  if (legacyServer) return { ...base, address: legacyServer, source: 'config' };
  return { ...base, address: DEFAULT_SERVER, source: 'default' };
}

const stripScheme = (s: string) => s.trim().replace(/^https:\/\//, '').replace(/\/$/, '');

/**
 * The `server:` of a config in the older form (a mapping with `server` and no `clusters`), undefined
 * for anything else (a kubeconfig, or an empty file).
 */
export function legacyServerOf(text: string): string | undefined {
  const simple = /^\s*server:\s*["']?([^"'\s#]+)["']?\s*(?:#.*)?$/m.exec(text);
  if (!simple || /^\s*clusters:/m.test(text)) return undefined;
  return simple[1];
}

function checked(address: string, from: string): string {
  if (!parseHostPort(address)) throw new CliError(`${from}: "${address}" is not HOST:PORT (for example ${DEFAULT_SERVER})`);
  return address.trim();
}

/** Read a file, or undefined when it does not exist; any other failure is an error naming it. */
export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** resolveConnection with this process's environment and files. */
export function connectionFromEnvironment(flags: ConnectionFlags): Connection {
  return resolveConnection({ flags, env: process.env, home: process.env.HOME || os.homedir(), readFile: readIfExists });
}
