/**
 * Screenshots of the Temporal web UI showing a fasforge build, found through its search
 * attributes: the workflow list filtered by `FasforgeStage="done"` (docs/web-ui.png) and the
 * build's own page with its stage summaries (docs/web-ui-build.png). Drives Debian's headless
 * Chromium with playwright-core, installing the `chromium` package when it is missing and this
 * runs as root with apt-get; otherwise it says how to install it.
 *
 *   npm run ui:screenshot -- [--address 127.0.0.1:7233] [--ui http://127.0.0.1:8233]
 *                            [--namespace default] [--build <workflow id>] [--out docs/web-ui.png]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { chromium } from 'playwright-core';
import { BUILD_WORKFLOW, devUiUrl } from '../cli/build';

const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'];

function findChromium(explicit?: string): string {
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`no Chromium at ${explicit}`);
    return explicit;
  }
  const found = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (root && apt) {
    console.log("Chromium is missing; installing Debian's package: apt-get install -y chromium");
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit' });
    const installed = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
    if (r.status === 0 && installed) return installed;
  }
  throw new Error(
    "no headless Chromium found: install Debian's package (`sudo apt-get install -y chromium`) or pass --chromium <path>",
  );
}

/** The newest completed build; demo builds first, as the README's screenshot shows the demo. */
async function findBuild(address: string, namespace: string): Promise<string> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace });
    const query = `WorkflowType = '${BUILD_WORKFLOW}' AND FasforgeStage = 'done'`;
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query, pageSize: 50 })) {
      ids.push(w.workflowId);
      if (ids.length >= 50) break;
    }
    const id = ids.find((i) => i.startsWith('demo-')) ?? ids[0];
    if (!id) throw new Error(`no finished build at ${address} (${query}); run \`npm run demo\` first`);
    return id;
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '127.0.0.1:7233' },
      ui: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      build: { type: 'string' },
      out: { type: 'string', default: path.join(__dirname, '..', 'docs', 'web-ui.png') },
      chromium: { type: 'string' },
    },
  });
  const address = values.address!;
  const ui = (values.ui ?? devUiUrl(address)).replace(/\/$/, '');
  const namespace = values.namespace!;
  const buildId = values.build ?? (await findBuild(address, namespace));
  const out = path.resolve(values.out!);
  const buildOut = out.replace(/\.png$/, '') + '-build.png';
  fs.mkdirSync(path.dirname(out), { recursive: true });

  const browser = await chromium.launch({ executablePath: findChromium(values.chromium), headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
    const query = `FasforgeStage="done" AND FasforgeBuildId="${buildId}"`;
    const listUrl = `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
    console.log(`opening ${listUrl}`);
    await page.goto(listUrl, { waitUntil: 'networkidle' });
    await page.getByText(buildId, { exact: true }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: out });
    console.log(`saved ${out}`);

    const buildUrl = `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(buildId)}`;
    console.log(`opening ${buildUrl}`);
    // Taller, so the timeline with the stage summaries is in view below the input and result.
    await page.setViewportSize({ width: 1440, height: 1500 });
    await page.goto(buildUrl, { waitUntil: 'networkidle' });
    await page.getByText(BUILD_WORKFLOW).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: buildOut, fullPage: false });
    console.log(`saved ${buildOut}`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(`ui-screenshot: ${(err as Error).message}`);
  process.exit(1);
});
