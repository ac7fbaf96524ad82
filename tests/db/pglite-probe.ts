/**
 * Run by migrations.test.ts in a child Node process (`node --import tsx`): PGlite loads its
 * WebAssembly with a dynamic import, which jest's VM context refuses without
 * --experimental-vm-modules. Opens the embedded database in the folder given as argv[2] twice,
 * writes on the first open, and prints what it found as one JSON line.
 */
import { eq, sql } from 'drizzle-orm';
import { openDatabase, queryRows, type Db } from '../../db/client';
import { builds, images, verdicts } from '../../db/schema';

async function inspect(db: Db) {
  const tables = (
    await queryRows<{ table_name: string }>(
      db,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    )
  ).map((r) => r.table_name);
  const [m] = await queryRows<{ n: string | number }>(db, sql`select count(*) as n from drizzle.__drizzle_migrations`);
  return { tables, migrations: Number(m?.n), builds: (await db.select().from(builds)).length };
}

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: pglite-probe.ts <data dir>');
  const first = await openDatabase({ embeddedDir: dir });
  const atFirstOpen = { kind: first.kind, location: first.location, ...(await inspect(first.db)) };
  await first.db.insert(builds).values({ id: 'pglite-build', config: { name: 'probe' } });
  const [image] = await first.db
    .insert(images)
    .values({
      buildId: 'pglite-build',
      source: 's',
      adapter: 'siw-mv2',
      relPath: 'a.png',
      absPath: '/a.png',
      nativeLabel: 'Live',
      spoofBox: [1, 2, 3, 4],
      status: 'ok',
    })
    .returning();
  await first.db
    .insert(verdicts)
    .values({ buildId: 'pglite-build', recordId: 'r1', stage: 'generate', verdict: 'kept', detail: { a: 1 } });
  const duplicate = await first.db
    .insert(verdicts)
    .values({ buildId: 'pglite-build', recordId: 'r1', stage: 'generate', verdict: 'dropped' })
    .onConflictDoNothing()
    .returning();
  const [build] = await first.db.select().from(builds).where(eq(builds.id, 'pglite-build'));
  await first.close();

  const second = await openDatabase({ embeddedDir: dir });
  const atSecondOpen = await inspect(second.db);
  const [v] = await second.db.select().from(verdicts);
  await second.close();

  process.stdout.write(
    `${JSON.stringify({
      atFirstOpen,
      inserted: {
        build: build ? { id: build.id, config: build.config, stage: build.stage } : null,
        imageSeq: image?.seq,
        spoofBox: image?.spoofBox,
        duplicateRows: duplicate.length,
      },
      atSecondOpen,
      verdictAfterReopen: v ? { verdict: v.verdict, detail: v.detail } : null,
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
