/**
 * The generation activity: for each image in a batch and each task, asks the vision model for one
 * question–answer pair from the construction prompt, parses it (one repair attempt), checks it
 * against the ground-truth label and stores it with its verdicts. Work already stored is skipped.
 */
import type { PromptSet, Taxonomy } from '../../config/assets';
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
import { ModelRejectedError, type ModelGateway, type ModelRequest } from './gateway';
import { checkLabel } from './label-check';
import { mapSettled, rethrowFirst } from './limit';
import { parseQa } from './parse';
import { renderConstructionPrompt, renderRepairPrompt, type Box } from './prompts';

export interface GenerateDeps {
  db: Db;
  gateway: ModelGateway;
  taxonomy: Taxonomy;
  prompts: PromptSet;
}

export const recordId = (buildId: string, imageSeq: number, task: Task) => `${buildId}:${imageSeq}:${task}`;

export function createGenerateRecords(deps: GenerateDeps) {
  return async function generateRecords(input: GenerateInput): Promise<BatchCounts> {
    const counts = emptyBatch();
    const imgs = await imagesInRange(deps.db, input.buildId, input.range);
    const jobs = imgs.flatMap((image) =>
      input.tasks
        .filter((task) => task !== 'localization' || image.spoofBox)
        .map((task) => ({ image, task, id: recordId(input.buildId, image.seq, task) })),
    );
    const done = await existingIds(deps.db, jobs.map((j) => j.id));
    const todo = jobs.filter((j) => !done.has(j.id));
    counts.alreadyDone = jobs.length - todo.length;

    let finished = 0;
    const results = await mapSettled(todo, input.generation.concurrency, async (job) => {
      const row = await generateOne(deps, input, job.image, job.task, job.id);
      await writeRecords(deps.db, input.buildId, [row]);
      countVerdict(counts, row.verdicts[row.verdicts.length - 1]!);
      heartbeat({ done: ++finished, total: todo.length });
    });
    rethrowFirst(results);
    return counts;
  };
}

async function generateOne(
  { gateway, taxonomy, prompts }: GenerateDeps,
  input: GenerateInput,
  image: ImageRow,
  task: Task,
  id: string,
): Promise<{ record: RecordRow; verdicts: Verdict[] }> {
  const cls = findClass(taxonomy, image.className ?? '');
  if (!cls) throw new Error(`image ${image.relPath} has class ${image.className}, which the taxonomy lacks`);
  const { generation: g } = input;
  const box = (task === 'localization' ? image.spoofBox : null) as Box | null;
  const base: RecordRow = {
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
  };

  let reply;
  try {
    reply = await gateway.complete(input.buildId, request);
    let parsed = parseQa(reply.content, g.responseFormat);
    if (!parsed.ok && g.repair) {
      const history = [
        { role: 'assistant' as const, content: reply.content },
        { role: 'user' as const, content: renderRepairPrompt(prompts, parsed.error, g.responseFormat) },
      ];
      reply = await gateway.complete(input.buildId, { ...request, history });
      parsed = parseQa(reply.content, g.responseFormat);
    }
    if (!parsed.ok) {
      const v: Verdict = { stage: 'generate', verdict: 'failed', reason: 'unparsable_output', detail: { error: parsed.error } };
      return { record: { ...base, model: reply.servedModel, status: 'failed', reason: v.reason }, verdicts: [v] };
    }
    const question = prompts.tasks[task].fixedQuestion ?? parsed.value.question;
    const record: RecordRow = { ...base, question, answer: parsed.value.answer, model: reply.servedModel };
    const generated: Verdict = { stage: 'generate', verdict: 'kept' };
    const mismatch = checkLabel(taxonomy, task, cls, parsed.value.answer, box);
    if (mismatch) {
      const v: Verdict = { stage: 'label_check', verdict: 'dropped', reason: mismatch };
      return { record: { ...record, status: 'dropped', stage: 'label_check', reason: mismatch }, verdicts: [generated, v] };
    }
    return { record: { ...record, stage: 'label_check' }, verdicts: [generated, { stage: 'label_check', verdict: 'kept' }] };
  } catch (err) {
    if (!(err instanceof ModelRejectedError)) throw err;
    const v: Verdict = { stage: 'generate', verdict: 'failed', reason: err.reason, detail: { error: err.message } };
    return { record: { ...base, model: input.model, status: 'failed', reason: err.reason }, verdicts: [v] };
  }
}
