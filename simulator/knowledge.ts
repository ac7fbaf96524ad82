/**
 * What the simulator knows about the product: the attack taxonomy and the task catalogue, read
 * from the project's own config so that the simulator follows the prompts the product sends.
 */
import taxonomyJson from '../config/taxonomy.json';
import tasksJson from '../config/prompts/v1/tasks.json';

/** The five instruction tasks of FaceShield. */
export type TaskName = 'pretrain' | 'coarse' | 'fine' | 'reasoning' | 'localization';

/** All task names, in catalogue order. */
export const TASK_NAMES: readonly TaskName[] = ['pretrain', 'coarse', 'fine', 'reasoning', 'localization'];

/** One class of the taxonomy. */
export interface AttackClass {
  name: string;
  attack: boolean;
  synonyms: string[];
  description: string;
}

interface TaskEntry {
  questionType: string;
  fixedQuestion?: string;
  answerHint: string;
  attributes?: string[];
}

interface TasksFile {
  replyFormat: { json: string; text: string };
  tasks: Record<string, TaskEntry>;
}

const tasksFile = tasksJson as unknown as TasksFile;

/** Every taxonomy class. */
export const CLASSES: readonly AttackClass[] = (taxonomyJson as { classes: AttackClass[] }).classes;

/** The attack classes (everything but bona fide). */
export const ATTACK_CLASSES: readonly AttackClass[] = CLASSES.filter((c) => c.attack);

/** The reply-format sentences the product appends to a construction prompt. */
export const REPLY_FORMATS: { json: string; text: string } = tasksFile.replyFormat;

/** The question the pretrain task always asks. */
export const PRETRAIN_QUESTION: string = tasksFile.tasks.pretrain?.fixedQuestion ?? 'What does the image depict?';

/** The reasoning attributes the catalogue names, used when a prompt names none. */
export const DEFAULT_ATTRIBUTES: readonly string[] = tasksFile.tasks.reasoning?.attributes ?? [];

/** The `questionType` sentence of each task, as the construction prompt embeds it. */
export const QUESTION_TYPES: ReadonlyMap<string, TaskName> = new Map(
  TASK_NAMES.flatMap((name) => {
    const entry = tasksFile.tasks[name];
    return entry ? [[entry.questionType.toLowerCase(), name] as [string, TaskName]] : [];
  }),
);

/** Finds a class by its name or a synonym, case-insensitively. */
export function findClass(name: string): AttackClass | undefined {
  const wanted = name.trim().toLowerCase();
  return (
    CLASSES.find((c) => c.name.toLowerCase() === wanted) ??
    CLASSES.find((c) => c.synonyms.some((s) => s.toLowerCase() === wanted))
  );
}

/** Maps a free-form question type to a task: exact catalogue match first, then keywords. */
export function taskForQuestionType(questionType: string): TaskName | undefined {
  const text = questionType.trim().toLowerCase();
  const exact = QUESTION_TYPES.get(text);
  if (exact) return exact;
  if (/\b(where|locat\w*|region|area|bounding box)\b/.test(text)) return 'localization';
  if (/\b(why|reasons?|attributes?|explain\w*)\b/.test(text)) return 'reasoning';
  if (/\b(type|kind|category)\b/.test(text)) return 'fine';
  if (/\bdepict\w*|\bdescri\w*/.test(text)) return 'pretrain';
  if (/\b(real|spoof|fake|genuine|authentic\w*)\b/.test(text)) return 'coarse';
  return undefined;
}
