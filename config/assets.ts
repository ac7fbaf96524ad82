/**
 * The versioned assets: taxonomy, prompt templates and the special-words list. Each carries a
 * version string that records store, so a record always says which wording made it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Task } from './build-input';

const taxonomySchema = z.object({
  version: z.string(),
  classes: z.array(
    z.object({ name: z.string(), attack: z.boolean(), synonyms: z.array(z.string()), description: z.string() }),
  ),
  /**
   * Per adapter, native code → canonical class. `class: null` keeps the code as excluded with its
   * `reason`; a `<prefix>_*` key matches every code with that prefix not listed on its own.
   */
  native: z.record(
    z.string(),
    z.record(z.string(), z.object({ class: z.string().nullable(), name: z.string(), reason: z.string().optional() })),
  ),
});
export type Taxonomy = z.infer<typeof taxonomySchema>;
export type TaxonomyClass = Taxonomy['classes'][number];
export type NativeMapping = Taxonomy['native'][string][string];

const exampleSchema = z.object({ question: z.string(), answer: z.string() });
const taskTemplateSchema = z.object({
  questionType: z.string(),
  fixedQuestion: z.string().optional(),
  answerHint: z.string(),
  attributes: z.array(z.string()).optional(),
  examples: z.array(exampleSchema).min(1),
});
const taskFileSchema = z.object({
  version: z.string(),
  replyFormat: z.object({ json: z.string(), text: z.string() }),
  tasks: z.object({
    pretrain: taskTemplateSchema,
    coarse: taskTemplateSchema,
    fine: taskTemplateSchema,
    reasoning: taskTemplateSchema,
    localization: taskTemplateSchema,
  }),
});
export type TaskTemplate = z.infer<typeof taskTemplateSchema>;

export interface PromptSet {
  version: string;
  system: string;
  construction: string;
  augment: string;
  judge: string;
  repair: string;
  replyFormat: { json: string; text: string };
  tasks: Record<Task, TaskTemplate>;
}

const specialWordsSchema = z.object({ version: z.string(), phrases: z.array(z.string().min(1)).min(1) });
export type SpecialWords = z.infer<typeof specialWordsSchema>;

const configDir = __dirname;
const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(path.join(configDir, file), 'utf8'));
const readText = (file: string): string => fs.readFileSync(path.join(configDir, file), 'utf8').trimEnd();

let cache: { taxonomy: Taxonomy; prompts: PromptSet; specialWords: SpecialWords } | undefined;

export function loadAssets(): { taxonomy: Taxonomy; prompts: PromptSet; specialWords: SpecialWords } {
  if (cache) return cache;
  const taskFile = taskFileSchema.parse(readJson('prompts/v1/tasks.json'));
  cache = {
    taxonomy: taxonomySchema.parse(readJson('taxonomy.json')),
    specialWords: specialWordsSchema.parse(readJson('special-words.json')),
    prompts: {
      version: taskFile.version,
      system: readText('prompts/v1/system.txt'),
      construction: readText('prompts/v1/construction.txt'),
      augment: readText('prompts/v1/augment.txt'),
      judge: readText('prompts/v1/judge.txt'),
      repair: readText('prompts/v1/repair.txt'),
      replyFormat: taskFile.replyFormat,
      tasks: taskFile.tasks,
    },
  };
  return cache;
}

/** The taxonomy entry for one adapter's native code: exact key first, then the `<prefix>_*` wildcard. */
export function mapNativeCode(taxonomy: Taxonomy, adapter: string, code: string): NativeMapping | undefined {
  const table = taxonomy.native[adapter];
  if (!table) return undefined;
  const exact = table[code];
  if (exact) return exact;
  const cut = code.lastIndexOf('_');
  return cut > 0 ? table[`${code.slice(0, cut)}_*`] : undefined;
}

/** A canonical class by its name or one of its synonyms, ignoring case. */
export function classBySynonym(taxonomy: Taxonomy, label: string): TaxonomyClass | undefined {
  const l = label.trim().toLowerCase();
  return taxonomy.classes.find((c) => c.name.toLowerCase() === l || c.synonyms.some((s) => s.toLowerCase() === l));
}

export function findClass(taxonomy: Taxonomy, name: string): TaxonomyClass | undefined {
  return taxonomy.classes.find((c) => c.name === name);
}
