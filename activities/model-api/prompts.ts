/**
 * Prompt rendering from the versioned templates in `config/prompts/`. Pure functions: the same
 * image, class and task always render the same prompt, which is what makes the response cache work.
 */
import type { PromptSet, TaxonomyClass } from '../../config/assets';
import type { Task } from '../../config/build-input';

export type Box = [number, number, number, number];

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`prompt template needs {{${key}}} but no value was given`);
    return value;
  });
}

/** The paper's box notation: absolute pixel corners as floats, `[92.0, 339.0, 352.0, 507.0]`. */
export function formatBox(box: Box): string {
  return `[${box.map((v) => (Math.round(v * 10) / 10).toFixed(1)).join(', ')}]`;
}

export interface ConstructionPromptInput {
  prompts: PromptSet;
  task: Task;
  cls: TaxonomyClass;
  box?: Box | null;
  responseFormat: 'json' | 'text';
}

export function renderConstructionPrompt({ prompts, task, cls, box, responseFormat }: ConstructionPromptInput): string {
  const t = prompts.tasks[task];
  if (task === 'localization' && !box) throw new Error('the localization task needs a spoof-region box');
  const answerHint = fill(t.answerHint, {
    attributes: (t.attributes ?? []).map((a) => `"${a}"`).join(', '),
    box: box ? formatBox(box) : '',
  });
  const examples = t.examples.map((e) => `Question: ${e.question}\nAnswer: ${e.answer}`).join('\n\n');
  return fill(prompts.construction, {
    authenticity: cls.attack ? 'spoof' : 'real',
    className: cls.attack ? cls.name : 'none (bona fide)',
    description: cls.description,
    questionType: t.questionType,
    answerHint,
    examples,
    replyFormat: prompts.replyFormat[responseFormat],
  });
}

/**
 * The Vicuna-style single prompt string Bunny was trained on, for completion endpoints. Later
 * turns (a repair) follow as `ASSISTANT: <reply></s>USER: <message> ASSISTANT:`.
 */
export function renderVicunaPrompt(
  system: string,
  prompt: string,
  withImage: boolean,
  history: readonly { role: 'assistant' | 'user'; content: string }[] = [],
): string {
  let out = `${system} USER: ${withImage ? '<image>\n' : ''}${prompt} ASSISTANT:`;
  for (const turn of history)
    out += turn.role === 'assistant' ? ` ${turn.content}</s>` : `USER: ${turn.content} ASSISTANT:`;
  return out;
}

export function renderAugmentPrompt(prompts: PromptSet, question: string, answer: string): string {
  return fill(prompts.augment, { pair: JSON.stringify({ question, answer }) });
}

export function renderJudgePrompt(
  prompts: PromptSet,
  question: string,
  answer: string,
  label?: { attack: boolean; className: string },
): string {
  const labelHint = label
    ? `The ground-truth label of the picture is ${label.attack ? 'spoof' : 'real'}${label.attack ? ` (${label.className})` : ''}.\n`
    : '';
  return fill(prompts.judge, { pair: JSON.stringify({ question, answer }), labelHint });
}

export function renderRepairPrompt(prompts: PromptSet, error: string, responseFormat: 'json' | 'text'): string {
  return fill(prompts.repair, { error, replyFormat: prompts.replyFormat[responseFormat] });
}
