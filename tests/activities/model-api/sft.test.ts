/**
 * SFT augmentation and filtering on crafted pairs, with a scripted text model and a real
 * PostgreSQL database: lineage and box checks on augmented pairs, the special-words verdict with
 * the phrase it matched, and the judge's verdict and reason.
 */
import { eq } from 'drizzle-orm';
import { writeRecords, type RecordRow } from '../../../activities/database/records';
import { ModelRejectedError, type ModelGateway, type ModelRequest } from '../../../activities/model-api/gateway';
import { createAugmentRecords, createFilterRecords } from '../../../activities/model-api/sft';
import { parseBuildInput } from '../../../config/build-input';
import { loadAssets } from '../../../config/assets';
import type { Db } from '../../../db/client';
import { records, verdicts } from '../../../db/schema';
import { seedImage, useTestDatabase } from '../../support/rows';

const assets = loadAssets();
const sft = parseBuildInput({ sources: [{ name: 's', adapter: 'siw-mv2', root: '/x' }] }).sft;
const range = { from: 0, to: Number.MAX_SAFE_INTEGER, count: 0 };

let db: Db;
useTestDatabase((testDb) => (db = testDb.database.db));

/** A text model that answers each prompt from a script keyed by a marker the prompt contains. */
function scripted(script: Record<string, string | Error>): ModelGateway & { prompts: ModelRequest[] } {
  const prompts: ModelRequest[] = [];
  return {
    prompts,
    async complete(_buildId, request) {
      prompts.push(request);
      const key = Object.keys(script).find((k) => request.prompt.includes(k));
      if (!key) throw new Error(`no scripted reply for ${request.prompt.slice(0, 200)}`);
      const reply = script[key]!;
      if (reply instanceof Error) throw reply;
      return { content: reply, servedModel: 'scripted-text-model', cacheHit: false, cacheKey: key };
    },
  };
}

function image(buildId: string, className: string, box?: [number, number, number, number]) {
  return seedImage(db, buildId, {
    className,
    relPath: `${className}/${Math.random()}.png`,
    absPath: '/x.png',
    spoofBox: box,
  });
}

const pairs = (...ps: [string, string][]) =>
  JSON.stringify({ pairs: ps.map(([question, answer]) => ({ question, answer })) });

describe('augmentRecords', () => {
  test('links each new pair to its parent, carries image, class, task and box over, and drops a pair whose box changed', async () => {
    const b = 'aug';
    const box: [number, number, number, number] = [40, 50, 120, 80];
    const print = await image(b, 'Print', box);
    const base = {
      buildId: b,
      imageSeq: print,
      set: 'sft',
      origin: 'generated',
      status: 'active',
      stage: 'judge',
    } as const;
    const parents: RecordRow[] = [
      {
        ...base,
        id: `${b}:loc`,
        task: 'localization',
        box,
        question: 'Where is the spoof?',
        answer: 'LOC1 at [40.0, 50.0, 120.0, 80.0].',
      },
      {
        ...base,
        id: `${b}:loc2`,
        task: 'localization',
        box,
        question: 'Where?',
        answer: 'LOC2 at [40.0, 50.0, 120.0, 80.0].',
      },
      { ...base, id: `${b}:coarse`, task: 'coarse', question: 'Real or fake?', answer: 'COARSE this is a spoof face.' },
      { ...base, id: `${b}:fine`, task: 'fine', question: 'Which attack?', answer: 'FINE a Print Attack.' },
    ];
    await writeRecords(
      db,
      b,
      parents.map((record) => ({ record, verdicts: [] })),
    );
    const gateway = scripted({
      LOC1: pairs(
        ['Where is the forged area?', 'The region is at [40.0, 50.0, 120.0, 80.0].'],
        ['Locate the spoof.', 'It lies at [41.0, 50.0, 120.0, 80.0].'],
      ),
      LOC2: pairs(['Where?', 'At [40, 50, 120, 80] exactly.'], ['Where is it?', 'Near the eyes.']),
      COARSE: pairs(
        ['Is it real?', 'The face is a spoof, a printed photo.'],
        ['Genuine?', 'The face is real and belongs to a live person.'],
      ),
      FINE: 'not json at all',
    });
    const augment = createAugmentRecords({ db, gateway, ...assets });
    const counts = await augment({ buildId: b, range, sft, model: 'text' });
    expect(counts).toMatchObject({ in: 4, kept: 3, failed: { unparsable_output: 1 }, created: 6 });

    const children = await db.select().from(records).where(eq(records.origin, 'augmented'));
    expect(children).toHaveLength(6);
    for (const c of children) {
      const parent = parents.find((p) => p.id === c.parentId)!;
      expect(c).toMatchObject({ imageSeq: parent.imageSeq, task: parent.task, set: 'sft', box: parent.box ?? null });
    }
    const childVerdicts = await db.select().from(verdicts).where(eq(verdicts.stage, 'augment_check'));
    const v = Object.fromEntries(childVerdicts.map((x) => [x.recordId.slice(b.length + 1), x]));
    expect(v['loc:aug1']).toMatchObject({ verdict: 'kept' });
    expect(v['loc:aug2']).toMatchObject({
      verdict: 'dropped',
      reason: 'localization_box_changed',
      detail: { expected: '[40.0, 50.0, 120.0, 80.0]', found: '[41.0, 50.0, 120.0, 80.0]' },
    });
    expect(v['loc2:aug1']).toMatchObject({ verdict: 'kept' });
    expect(v['loc2:aug2']).toMatchObject({ verdict: 'dropped', reason: 'localization_box_missing' });
    expect(v['coarse:aug1']).toMatchObject({ verdict: 'kept' });
    expect(v['coarse:aug2']).toMatchObject({ verdict: 'dropped', reason: 'coarse_answer_contradicts_label' });
    const dropped = children
      .filter((c) => c.status === 'dropped')
      .map((c) => c.reason)
      .sort();
    expect(dropped).toEqual([
      'coarse_answer_contradicts_label',
      'localization_box_changed',
      'localization_box_missing',
    ]);

    // A retry augments nothing twice.
    const calls = gateway.prompts.length;
    const again = await augment({ buildId: b, range, sft, model: 'text' });
    expect(again).toMatchObject({ in: 0, created: 0 });
    expect(gateway.prompts.length).toBe(calls);
  });
});

describe('filterRecords', () => {
  test('drops refusals with the phrase and field, stores the judge verdict and reason, and fails a record the model rejects', async () => {
    const b = 'flt';
    const bona = await image(b, 'Bonafide');
    const base = {
      buildId: b,
      imageSeq: bona,
      set: 'sft',
      task: 'coarse',
      origin: 'generated',
      status: 'active',
      stage: 'label_check',
    } as const;
    const rows: RecordRow[] = [
      { ...base, id: `${b}:refusal`, question: 'Is it real?', answer: 'I\u2019M   SORRY, but this is hard.' },
      { ...base, id: `${b}:hedge-q`, question: 'As an AI language model, is it real?', answer: 'OK1 it is real.' },
      { ...base, id: `${b}:good`, question: 'Is it real?', answer: 'GOOD the face is real.' },
      { ...base, id: `${b}:bad`, question: 'Is it real?', answer: 'BAD the weather is nice.' },
      { ...base, id: `${b}:garbled`, question: 'Is it real?', answer: 'GARBLED the face is real.' },
      { ...base, id: `${b}:rejected`, question: 'Is it real?', answer: 'REJECTED the face is real.' },
    ];
    await writeRecords(
      db,
      b,
      rows.map((record) => ({ record, verdicts: [] })),
    );
    const gateway = scripted({
      GOOD: JSON.stringify({ correspond: true, reason: 'The answer says whether the face is real.' }),
      BAD: JSON.stringify({ correspond: false, reason: 'The answer is about the weather.' }),
      GARBLED: '{"correspond": tru',
      REJECTED: new ModelRejectedError('400 from the text model', 'model_rejected_request'),
    });
    const filter = createFilterRecords({ db, gateway, ...assets });
    const counts = await filter({ buildId: b, range, sft: { ...sft, judgeSeesLabel: true }, model: 'text' });
    expect(counts).toEqual({
      in: 6,
      kept: 1,
      dropped: { special_words: 2, judge_rejected: 1 },
      failed: { judge_unparsable: 1, model_rejected_request: 1 },
      created: 0,
      alreadyDone: 0,
    });
    // The judge saw the ground-truth label, and never saw the refusals.
    expect(gateway.prompts.some((p) => p.prompt.includes('The ground-truth label of the picture is real.'))).toBe(true);
    expect(gateway.prompts.some((p) => p.prompt.includes('SORRY'))).toBe(false);

    const vs = await db.select().from(verdicts).where(eq(verdicts.buildId, b));
    const at = (id: string, stage: string) => vs.find((v) => v.recordId === `${b}:${id}` && v.stage === stage);
    expect(at('refusal', 'special_words')).toMatchObject({
      verdict: 'dropped',
      reason: 'special_words',
      detail: { phrase: "I'm sorry", field: 'answer', list: 'special-words-v2' },
    });
    expect(at('hedge-q', 'special_words')).toMatchObject({
      detail: { phrase: 'as an AI language model', field: 'question' },
    });
    expect(at('good', 'special_words')).toMatchObject({ verdict: 'kept' });
    expect(at('good', 'judge')).toMatchObject({
      verdict: 'kept',
      detail: { reason: 'The answer says whether the face is real.' },
    });
    expect(at('bad', 'judge')).toMatchObject({
      verdict: 'dropped',
      reason: 'judge_rejected',
      detail: { reason: 'The answer is about the weather.', model: 'scripted-text-model' },
    });
    expect(at('garbled', 'judge')).toMatchObject({ verdict: 'failed', reason: 'judge_unparsable' });
    expect(at('rejected', 'judge')).toMatchObject({ verdict: 'failed', reason: 'model_rejected_request' });
    const status = Object.fromEntries(
      (await db.select().from(records).where(eq(records.buildId, b))).map((r) => [r.id.slice(b.length + 1), r.status]),
    );
    expect(status).toEqual({
      refusal: 'dropped',
      'hedge-q': 'dropped',
      good: 'active',
      bad: 'dropped',
      garbled: 'failed',
      rejected: 'failed',
    });

    const again = await filter({ buildId: b, range, sft, model: 'text' });
    expect(again.in).toBe(0);
    expect(await db.select().from(verdicts).where(eq(verdicts.buildId, b))).toHaveLength(vs.length);
  });
});
