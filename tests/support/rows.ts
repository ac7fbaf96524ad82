/**
 * Database setup for tests on a real PostgreSQL: a fresh database per file, the image rows most
 * tests start from, and the check that no generation or augmentation job was done twice.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client';
import { images, records } from '../../db/schema';
import { createTestDatabase } from './env';

export type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/**
 * Declares `beforeAll`/`afterAll` that create a fresh migrated database for the enclosing file or
 * `describe` and drop it afterwards; `ready` receives it once it exists.
 */
export function useTestDatabase(ready: (testDb: TestDatabase) => void): void {
  let testDb: TestDatabase | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    ready(testDb);
  });
  afterAll(async () => {
    await testDb?.drop();
  });
}

export interface ImageRow {
  className: string;
  relPath: string;
  absPath?: string;
  source?: string;
  nativeLabel?: string;
  spoofBox?: [number, number, number, number];
}

/**
 * Inserts one `ok` image of a build (source `siw`, adapter `siw-mv2`, native label = class, file
 * under /data unless `absPath` says otherwise) and returns its seq.
 */
export async function seedImage(db: Db, buildId: string, image: ImageRow): Promise<number> {
  const [row] = await db
    .insert(images)
    .values({
      buildId,
      source: image.source ?? 'siw',
      adapter: 'siw-mv2',
      relPath: image.relPath,
      absPath: image.absPath ?? `/data/${image.relPath}`,
      nativeLabel: image.nativeLabel ?? image.className,
      className: image.className,
      spoofBox: image.spoofBox,
      status: 'ok',
    })
    .returning({ seq: images.seq });
  return row!.seq;
}

/**
 * Asserts a build did no job twice. Record ids are unique by construction, so repeated work shows
 * as the same job under another id: a second generated record for one image and task, or a third
 * augmentation of one parent.
 */
export async function expectNoJobDoneTwice(db: Db, buildId: string): Promise<void> {
  const [dup] = await queryRows<{ generated: string; augmented: string }>(
    db,
    sql`select
          (select count(*) from (select 1 from records where build_id = ${buildId} and origin = 'generated'
            group by image_seq, task having count(*) > 1) g) as generated,
          (select count(*) from (select 1 from records where build_id = ${buildId} and origin = 'augmented'
            group by parent_id having count(*) > 2) a) as augmented`,
  );
  expect({ generated: Number(dup!.generated), augmented: Number(dup!.augmented) }).toEqual({
    generated: 0,
    augmented: 0,
  });
}

/**
 * Inserts one `ok` image per `[className, absPath]` file and, for each image, one active pretrain
 * record per answer (ids `<build>:<image index>:<answer index>`, at stage `label_check`), as the
 * CLIP filter finds them; returns the records' seqs in insertion order.
 */
export async function seedPretrainRecords(
  db: Db,
  buildId: string,
  files: readonly (readonly [className: string, absPath: string])[],
  answers: readonly string[],
  options: { source: string; relPath: (index: number, absPath: string) => string },
): Promise<number[]> {
  const rows = await db
    .insert(images)
    .values(
      files.map(([className, absPath], i) => ({
        buildId,
        source: options.source,
        adapter: 'siw-mv2',
        relPath: options.relPath(i, absPath),
        absPath,
        nativeLabel: className,
        className,
        status: 'ok',
      })),
    )
    .returning({ seq: images.seq });
  const inserted = await db
    .insert(records)
    .values(
      rows.flatMap((img, i) =>
        answers.map((answer, t) => ({
          id: `${buildId}:${i}:${t}`,
          buildId,
          imageSeq: img.seq,
          set: 'pretrain',
          task: 'pretrain',
          origin: 'generated',
          answer,
          status: 'active',
          stage: 'label_check',
        })),
      ),
    )
    .returning({ seq: records.seq });
  return inserted.map((r) => r.seq);
}
