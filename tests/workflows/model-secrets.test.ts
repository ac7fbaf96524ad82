/**
 * API keys live only in the worker's environment: a build against a simulator that requires a
 * distinctive bearer key succeeds, and afterwards the key is in no workflow history (the build's
 * and its children's, payloads decoded), in no row of any table, and in no log line.
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client';
import { createTestDatabase } from '../support/env';
import { envFor, startBuild, startWorkers, useBuildSuite } from '../support/model-build';

jest.setTimeout(300_000);

const KEY = 'sk-fasforge-test-9f3c1e7a5b2d4c68';

const suite = useBuildSuite({ simulator: { seed: 'model-secrets', apiKey: KEY }, fixture: true });

/** Every string in a value, with byte arrays (payload data) decoded as UTF-8. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

test('a key from the worker environment reaches the server but no history, table row or log line', async () => {
  const db = await createTestDatabase();
  const env = envFor(suite.h, db.url, suite.sim, { FASFORGE_VISION_API_KEY: KEY, FASFORGE_TEXT_API_KEY: KEY });
  const logged: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  const spy = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return write(chunk, ...(rest as []));
    });
  const workers = await startWorkers(suite.h, env, db.database);
  try {
    const build = await startBuild(suite.h, {
      name: 'secrets build',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
      generation: { batchSize: 3 },
    });
    const done = await build.finish();
    expect(done.summary.modelCalls.made).toBeGreaterThan(0);
    expect(suite.sim.stats().byStatus['401']).toBeUndefined();

    // The build and every child workflow it started.
    const ids: string[] = [];
    for await (const wf of suite.h.client.workflow.list())
      if (wf.workflowId.startsWith(build.id)) ids.push(wf.workflowId);
    expect(ids).toEqual(expect.arrayContaining([build.id, `${build.id}:generate`, `${build.id}:sft`]));
    for (const id of ids) {
      const history = strings(await suite.h.client.workflow.getHandle(id).fetchHistory());
      expect(history.some((s) => s.includes(KEY))).toBe(false);
      // The search does read decoded payloads: the build id is in every history.
      expect(history.some((s) => s.includes(build.id))).toBe(true);
      // …and the build's own input payload, which holds its name.
      if (id === build.id) expect(history.some((s) => s.includes('secrets build'))).toBe(true);
    }

    const tables = await queryRows<{ table_name: string }>(
      db.database.db,
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['model_calls', 'model_cache', 'records']));
    for (const { table_name } of tables) {
      const rows = await queryRows<{ n: string }>(
        db.database.db,
        sql`select count(*) as n from ${sql.identifier(table_name)} t where t::text like ${`%${KEY}%`}`,
      );
      expect({ table_name, rows: Number(rows[0]!.n) }).toEqual({ table_name, rows: 0 });
    }
    expect(logged.filter((l) => l.includes(KEY))).toEqual([]);
  } finally {
    spy.mockRestore();
    await workers.stop();
    await db.drop();
  }
});

test('a wrong key fails the build with what to fix, without the key in the message', async () => {
  const db = await createTestDatabase();
  const env = envFor(suite.h, db.url, suite.sim, {
    FASFORGE_VISION_API_KEY: 'sk-wrong-key-1234',
    FASFORGE_TEXT_API_KEY: 'sk-wrong-key-1234',
  });
  const workers = await startWorkers(suite.h, env, db.database);
  try {
    const build = await startBuild(suite.h, {
      name: 'wrong key',
      sources: [{ name: 'fixture', adapter: 'siw-mv2', root: suite.fixture.root, spoofRegions: suite.fixture.coco }],
    });
    const error = await build.finish().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeDefined();
    const messages = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
    expect(messages.join(' | ')).toMatch(/FASFORGE_VISION_API_KEY/);
    expect(messages.join(' | ')).not.toMatch(/sk-wrong-key-1234/);
  } finally {
    await workers.stop();
    await db.drop();
  }
});
