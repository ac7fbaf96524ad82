/**
 * Parsing model answers into validated shapes. Each parser returns either a value or the reason
 * it could not, worded so that it can be sent back to the model in one repair attempt.
 */
import { z } from 'zod';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const qaSchema = z.object({ question: z.string().trim().min(3), answer: z.string().trim().min(3) });
export type QaPair = z.infer<typeof qaSchema>;

/** Finds the first balanced JSON object in a reply, skipping code fences and chatter around it. */
export function extractJson(text: string): Parsed<unknown> {
  const start = text.indexOf('{');
  if (start < 0) return { ok: false, error: 'the reply holds no JSON object' };
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return { ok: true, value: JSON.parse(text.slice(start, i + 1)) };
      } catch (err) {
        return { ok: false, error: `the JSON object does not parse: ${(err as Error).message}` };
      }
    }
  }
  return { ok: false, error: 'the JSON object is not closed' };
}

function validate<T>(schema: z.ZodType<T>, value: unknown): Parsed<T> {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`).join('; ') };
}

export function parseQa(text: string, format: 'json' | 'text'): Parsed<QaPair> {
  if (format === 'json') {
    const json = extractJson(text);
    return json.ok ? validate(qaSchema, json.value) : json;
  }
  const m = /Question\s*:\s*([\s\S]+?)\s*\n?\s*Answer\s*:\s*([\s\S]+)$/i.exec(text.trim());
  if (!m) return { ok: false, error: 'the reply does not have the form "Question: …" then "Answer: …"' };
  return validate(qaSchema, { question: m[1], answer: m[2] });
}

const augmentSchema = z.object({ pairs: z.array(qaSchema).length(2, 'exactly two pairs are needed') });

export function parseAugmentation(text: string): Parsed<QaPair[]> {
  const json = extractJson(text);
  if (!json.ok) return json;
  const r = validate(augmentSchema, json.value);
  return r.ok ? { ok: true, value: r.value.pairs } : r;
}

const judgeSchema = z.object({ correspond: z.boolean(), reason: z.string().default('') });
export type JudgeVerdict = z.infer<typeof judgeSchema>;

export function parseJudge(text: string): Parsed<JudgeVerdict> {
  const json = extractJson(text);
  return json.ok ? validate(judgeSchema, json.value) : json;
}
