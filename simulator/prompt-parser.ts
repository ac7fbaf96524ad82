/**
 * Recognises the product's prompts (config/prompts/v1) and pulls out what an MLLM would read from
 * them: the label, the task, the box and attributes of a construction prompt, the pair of an
 * augmentation or judge prompt, and the requested reply form.
 */
import { findBoxes, parseBox } from './answer-analysis';
import {
  DEFAULT_ATTRIBUTES,
  REPLY_FORMATS,
  findClass,
  taskForQuestionType,
  type AttackClass,
  type TaskName,
} from './knowledge';

/** The reply form a prompt asks for. */
export type ReplyForm = 'json' | 'text';

/** A question and answer pair. */
export interface QaPair {
  question: string;
  answer: string;
}

/** What a construction prompt asks for. */
export interface ConstructionRequest {
  kind: 'construction';
  authenticity: 'real' | 'spoof';
  /** The class name as the prompt spells it. */
  className?: string;
  /** The taxonomy class, when the name is known. */
  cls?: AttackClass;
  questionType: string;
  task?: TaskName;
  /** Box corners for localization, when the prompt gives one. */
  box?: number[];
  attributes: string[];
  form?: ReplyForm;
}

/** An augmentation prompt and the pair it carries. */
export interface AugmentRequest {
  kind: 'augment';
  pair?: QaPair;
}

/** The optional ground-truth hint of a judge prompt. */
export interface LabelHint {
  authenticity: 'real' | 'spoof';
  className?: string;
}

/** A judge prompt, its pair and its optional label hint. */
export interface JudgeRequest {
  kind: 'judge';
  pair?: QaPair;
  label?: LabelHint;
}

/** A prompt the simulator does not recognise. */
export interface UnknownRequest {
  kind: 'unknown';
  form?: ReplyForm;
}

/** Any parsed prompt. */
export type ParsedPrompt = ConstructionRequest | AugmentRequest | JudgeRequest | UnknownRequest;

/** Opening of the repair prompt (repair.txt); its request is the earlier user turn. */
export const REPAIR_MARKER = 'Your previous reply could not be used';

const CONSTRUCTION_MARKER = /This is an? (real|spoof) face picture\./i;
const AUGMENT_MARKER = /expert in data augmentation|generate two new question and answer pairs/i;
const JUDGE_MARKER = /Whether the question and answer correspond to each other/i;
const EXAMPLES_MARKER = /Here (?:is|are) some examples/i;

/**
 * The wording of the judge's label hint line: `The ground-truth label of the picture is spoof (Print).`
 * or `The ground-truth label of the picture is real.`
 */
export function labelHintLine(authenticity: 'real' | 'spoof', className?: string): string {
  return `The ground-truth label of the picture is ${authenticity}${className ? ` (${className})` : ''}.`;
}

const LABEL_HINT = /ground[- ]truth label of the picture is (real|spoof)(?:\s*\(([^)\n]+)\))?/i;

/** True when the text is the product's repair prompt. */
export function isRepairPrompt(text: string): boolean {
  return text.trimStart().startsWith(REPAIR_MARKER);
}

/** The reply form a text asks for, judged from the replyFormat sentences of tasks.json. */
export function detectReplyForm(text: string): ReplyForm | undefined {
  if (text.includes(REPLY_FORMATS.json)) return 'json';
  if (text.includes(REPLY_FORMATS.text)) return 'text';
  if (/reply with (?:one|a) JSON object|in (?:the same |a )?JSON format/i.test(text)) return 'json';
  if (/^\s*Question: <[^>]*>\s*$/m.test(text) && /^\s*Answer: <[^>]*>\s*$/m.test(text)) return 'text';
  return undefined;
}

/** Extracts the first balanced JSON object that starts at or after `from`. */
export function extractJsonObject(text: string, from = 0): unknown {
  for (let start = text.indexOf('{', from); start !== -1; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i += 1) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i += 1;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth += 1;
      else if (ch === '}') {
        depth -= 1;
        if (depth === 0) {
          try {
            return JSON.parse(text.slice(start, i + 1)) as unknown;
          } catch {
            break;
          }
        }
      }
    }
  }
  return undefined;
}

function readPair(text: string): QaPair | undefined {
  const at = text.search(/in a JSON format:/i);
  const value = extractJsonObject(text, at === -1 ? 0 : at);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.question === 'string' && typeof record.answer === 'string') {
      return { question: record.question, answer: record.answer };
    }
  }
  return undefined;
}

function splitAttributes(segment: string): string[] {
  const quoted = [...segment.matchAll(/"([^"]+)"|\u201c([^\u201d]+)\u201d/g)].map((m) => (m[1] ?? m[2] ?? '').trim());
  if (quoted.length > 0) return quoted.filter(Boolean);
  // Known names may contain "and", so take them out before splitting on separators.
  const found: Array<{ name: string; at: number }> = [];
  let rest = segment;
  for (const name of [...DEFAULT_ATTRIBUTES].sort((a, b) => b.length - a.length)) {
    const at = rest.toLowerCase().indexOf(name.toLowerCase());
    if (at !== -1) {
      found.push({ name, at });
      rest = `${rest.slice(0, at)}${'\u0000'.repeat(name.length)}${rest.slice(at + name.length)}`;
    }
  }
  for (const piece of rest.matchAll(/[^,;\u0000]+/g)) {
    const name = piece[0].replace(/^\s*(?:and|then)\s+/i, '').trim();
    if (/[A-Za-z]/.test(name)) found.push({ name, at: piece.index ?? 0 });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.name);
}

function parseConstruction(text: string, authenticity: 'real' | 'spoof'): ConstructionRequest {
  const examplesAt = text.search(EXAMPLES_MARKER);
  const head = examplesAt === -1 ? text : text.slice(0, examplesAt);
  const className = head.match(/The attack type is ([^.\n]+)\./i)?.[1]?.trim();
  const cls = className ? findClass(className) : undefined;
  const questionType = head.match(/instructions about ([^\n]+?)\.?\s*(?:\n|$)/i)?.[1]?.trim() ?? '';
  const boxText = head.match(/spoof (?:region|area) is (?:at|located at) (\[[^\]]*\])/i)?.[1] ?? findBoxes(head)[0];
  const attributeSegment = head.match(/attributes in turn:\s*([\s\S]*?)\.\s*(?:Then conclude|$)/i)?.[1];
  const attributes = attributeSegment ? splitAttributes(attributeSegment) : [];
  const request: ConstructionRequest = {
    kind: 'construction',
    authenticity,
    questionType,
    attributes: attributes.length > 0 ? attributes : [...DEFAULT_ATTRIBUTES],
  };
  const task = taskForQuestionType(questionType);
  const form = detectReplyForm(text);
  if (className) request.className = className;
  if (cls) request.cls = cls;
  if (task) request.task = task;
  if (boxText) request.box = parseBox(boxText);
  if (form) request.form = form;
  return request;
}

/** Parses one prompt text (the request's last user turn, or the original turn of a repair). */
export function parsePrompt(text: string): ParsedPrompt {
  if (JUDGE_MARKER.test(text)) {
    const pair = readPair(text);
    const hint = text.match(LABEL_HINT);
    const label: LabelHint | undefined = hint?.[1]
      ? { authenticity: hint[1].toLowerCase() as 'real' | 'spoof', ...(hint[2] ? { className: hint[2].trim() } : {}) }
      : undefined;
    return { kind: 'judge', ...(pair ? { pair } : {}), ...(label ? { label } : {}) };
  }
  if (AUGMENT_MARKER.test(text)) {
    const pair = readPair(text);
    return { kind: 'augment', ...(pair ? { pair } : {}) };
  }
  const construction = text.match(CONSTRUCTION_MARKER);
  if (construction?.[1]) {
    return parseConstruction(text, construction[1].toLowerCase() as 'real' | 'spoof');
  }
  const form = detectReplyForm(text);
  return { kind: 'unknown', ...(form ? { form } : {}) };
}
