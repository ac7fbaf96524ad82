/**
 * The generation activity: for each image in a batch and each task, asks the vision model for one
 * question–answer pair from the construction prompt, parses it (one repair attempt), checks it
 * against the ground-truth label (refusals, contradictions, wrong boxes) and stores it with its
 * verdicts; an inconsistent answer is dropped with its reason, or re-asked once first when the
 * build says so. Work already stored is skipped, so a retried batch makes no call twice.
 */
import type { PromptSet, SpecialWords, Taxonomy } from '../../config/assets';
import { findClass } from '../../config/assets';
import type { Task } from '../../config/build-input';
import type { Db } from '../../db/client';
import type { BatchCounts, GenerateInput } from '../contracts';
import {
  countVerdict,
  emptyBatch,
  existingIds,
  imagesInRange,
  writeRecords,
  type ImageRow,
  type RecordRow,
  type Verdict,
} from '../database/records';
import { heartbeat } from '../heartbeat';
import { ModelRejectedError, type ModelGateway, type ModelReply, type ModelRequest } from './gateway';
import { checkLabel, describeMismatch } from './label-check';
import { mapSettled, rethrowFirst } from './limit';
import { parseQa, type Parsed, type QaPair } from './parse';
import { renderConstructionPrompt, renderRepairPrompt, type Box } from './prompts';
import { createSpecialWordsFilter, type SpecialWordsFilter } from './special-words';

export interface GenerateDeps {
  db: Db;
  gateway: ModelGateway;
  taxonomy: Taxonomy;
  prompts: PromptSet;
  /** Refusal and hedge phrases; an answer holding one is dropped at the label check. */
  specialWords?: SpecialWords;
}

/** Reason of a localization job that cannot run: the image's source has no spoof-region file. */
export const NO_SPOOF_REGIONS = 'source_has_no_spoof_regions';

/** Records written per transaction: fewer round trips, and a lost write costs no model call (cached). */
const WRITE_EVERY = 8;

export const recordId = (buildId: string, imageSeq: number, task: Task) => `${buildId}:${imageSeq}:${task}`;

type Job = { image: ImageRow; task: Task; id: string };
type Outcome = { record: RecordRow; verdicts: Verdict[] };

export function createGenerateRecords(deps: GenerateDeps) {
  const refusals = createSpecialWordsFilter(deps.specialWords?.phrases ?? []);
  return async function generateRecords(input: GenerateInput): Promise<BatchCounts> {
    const counts = emptyBatch();
    const imgs = await imagesInRange(deps.db, input.buildId, input.range);
    const noRegions = new Set(input.sourcesWithoutRegions ?? []);
    const jobs: Job[] = [];
    const unanswerable: Job[] = [];
    for (const image of imgs) {
      for (const task of input.tasks) {
        const job = { image, task, id: recordId(input.buildId, image.seq, task) };
        if (task !== 'localization' || image.spoofBox) jobs.push(job);
        // An attack image whose source has no region file could have had a localization record.
        else if (noRegions.has(image.source) && isAttack(deps.taxonomy, image)) unanswerable.push(job);
      }
    }
    const done = await existingIds(
      deps.db,
      [...jobs, ...unanswerable].map((j) => j.id),
    );
    const skipped = unanswerable.filter((j) => !done.has(j.id)).map((j) => noRegionOutcome(input, j, deps.prompts));
    await writeRecords(deps.db, input.buildId, skipped);
    for (const s of skipped) countVerdict(counts, s.verdicts[0]!);
    const todo = jobs.filter((j) => !done.has(j.id));
    counts.alreadyDone = jobs.length + unanswerable.length - todo.length - skipped.length;

    // Finished records are written a few at a time, in one transaction each, one write after another.
    let finished = 0;
    let pending: Outcome[] = [];
    let writing: Promise<void> = Promise.resolve();
    const flush = () => {
      const rows = pending;
      pending = [];
      writing = writing.then(async () => {
        if (rows.length === 0) return;
        await writeRecords(deps.db, input.buildId, rows);
        for (const row of rows) countVerdict(counts, row.verdicts[row.verdicts.length - 1]!);
        finished += rows.length;
        heartbeat({ done: finished, total: todo.length });
      });
      return writing;
    };
    const results = await mapSettled(todo, input.generation.concurrency, async (job) => {
      const row = await generateOne(deps, refusals, input, job);
      // Read `pending` only now: a flush during the call replaced the array.
      pending.push(row);
      if (pending.length >= WRITE_EVERY) await flush();
    });
    await flush();
    rethrowFirst(results);
    return counts;
  };
}

function isAttack(taxonomy: Taxonomy, image: ImageRow): boolean {
  return !!findClass(taxonomy, image.className ?? '')?.attack;
}

function noRegionOutcome(input: GenerateInput, { image, task, id }: Job, prompts: PromptSet): Outcome {
  const v: Verdict = {
    stage: 'generate',
    verdict: 'dropped',
    reason: NO_SPOOF_REGIONS,
    detail: { source: image.source },
  };
  const record: RecordRow = {
    ...baseRecord(input, image, task, id, prompts, null),
    status: 'dropped',
    reason: NO_SPOOF_REGIONS,
  };
  return { record, verdicts: [v] };
}

function baseRecord(
  input: GenerateInput,
  image: ImageRow,
  task: Task,
  id: string,
  prompts: PromptSet,
  box: Box | null,
): RecordRow {
  return {
    id,
    buildId: input.buildId,
    imageSeq: image.seq,
    set: task === 'pretrain' ? 'pretrain' : 'sft',
    task,
    origin: 'generated',
    box,
    promptVersion: prompts.version,
    status: 'active',
    stage: 'generate',
  };
}

async function generateOne(
  { gateway, taxonomy, prompts }: GenerateDeps,
  refusals: SpecialWordsFilter,
  input: GenerateInput,
  { image, task, id }: Job,
): Promise<Outcome> {
  const cls = findClass(taxonomy, image.className ?? '');
  if (!cls) throw new Error(`image ${image.relPath} has class ${image.className}, which the taxonomy lacks`);
  const { generation: g } = input;
  const box = (task === 'localization' ? image.spoofBox : null) as Box | null;
  const base = baseRecord(input, image, task, id, prompts, box);
  const request: ModelRequest = {
    role: 'vision',
    model: input.model,
    system: prompts.system,
    prompt: renderConstructionPrompt({ prompts, task, cls, box, responseFormat: g.responseFormat }),
    image: { path: image.absPath, contentHash: image.contentHash ?? '' },
    style: g.requestStyle,
    responseFormat: g.responseFormat,
    temperature: g.temperature,
    maxTokens: g.maxTokens,
    stage: 'generate',
  };
  const follow = (reply: ModelReply, message: string): ModelRequest => ({
    ...request,
    history: [
      { role: 'assistant', content: reply.content },
      { role: 'user', content: renderRepairPrompt(prompts, message, g.responseFormat) },
    ],
  });
  const check = (qa: QaPair) =>
    refusalOf(refusals, qa.answer) ?? checkLabel(taxonomy, task, cls, qa.answer, box, g.minBoxIou, image);

  try {
    let reply = await gateway.complete(input.buildId, request);
    let parsed: Parsed<QaPair> = parseQa(reply.content, g.responseFormat);
    if (!parsed.ok && g.repair) {
      reply = await gateway.complete(input.buildId, follow(reply, parsed.error));
      parsed = parseQa(reply.content, g.responseFormat);
    }
    if (!parsed.ok) {
      const v: Verdict = {
        stage: 'generate',
        verdict: 'failed',
        reason: 'unparsable_output',
        detail: { error: parsed.error },
      };
      return { record: { ...base, model: reply.servedModel, status: 'failed', reason: v.reason }, verdicts: [v] };
    }
    let mismatch = check(parsed.value);
    let reasked: string | undefined;
    if (mismatch && g.inconsistent === 'reask') {
      reasked = mismatch;
      const again = await gateway.complete(input.buildId, follow(reply, describeMismatch(mismatch, cls, box)));
      const second = parseQa(again.content, g.responseFormat);
      if (second.ok) {
        reply = again;
        parsed = second;
        mismatch = check(second.value);
      }
    }
    const question = prompts.tasks[task].fixedQuestion ?? parsed.value.question;
    const record: RecordRow = { ...base, question, answer: parsed.value.answer, model: reply.servedModel };
    const generated: Verdict = { stage: 'generate', verdict: 'kept' };
    const detail = reasked ? { reasked, ...(mismatch ? { answer: parsed.value.answer } : {}) } : undefined;
    if (mismatch) {
      const v: Verdict = { stage: 'label_check', verdict: 'dropped', reason: mismatch, ...(detail ? { detail } : {}) };
      return {
        record: { ...record, status: 'dropped', stage: 'label_check', reason: mismatch },
        verdicts: [generated, v],
      };
    }
    const kept: Verdict = { stage: 'label_check', verdict: 'kept', ...(detail ? { detail } : {}) };
    return { record: { ...record, stage: 'label_check' }, verdicts: [generated, kept] };
  } catch (err) {
    if (!(err instanceof ModelRejectedError)) throw err;
    const v: Verdict = { stage: 'generate', verdict: 'failed', reason: err.reason, detail: { error: err.message } };
    return { record: { ...base, model: input.model, status: 'failed', reason: err.reason }, verdicts: [v] };
  }
}

function refusalOf(filter: SpecialWordsFilter, answer: string): string | undefined {
  return filter.match(answer) ? 'answer_refuses' : undefined;
}
