/**
 * Turns the prompt of one request into the simulator's reply text, content faults included.
 * Pure: the reply depends only on the prompt, the reply mode and the request hash.
 */
import { augmentPair } from './augmentation';
import {
  contentFault,
  malformJson,
  malformText,
  wrongBoxFault,
  type ContentFault,
  type RenderedReply,
  type ResolvedFaults,
} from './faults';
import { generatePair, type AnswerMode } from './generation';
import { judgePair } from './judge';
import { isRepairPrompt, parsePrompt, detectReplyForm, type ParsedPrompt, type ReplyForm } from './prompt-parser';
import { Prng } from './prng';

/** What the responder needs from a request. */
export interface PromptInput {
  /** User turns, oldest first; the last one is answered. */
  userTurns: string[];
  /** True when the client asked for `response_format: {type: "json_object"}`. */
  jsonMode: boolean;
  hash: string;
}

/** The reply plus what the simulator made of the request (for tests and logs). */
export interface SimulatedReply extends RenderedReply {
  kind: ParsedPrompt['kind'];
  fault: ContentFault;
  /** True when the request was a repair (or re-ask) turn of an earlier request. */
  repair?: boolean;
}

const UNKNOWN_REPLY =
  'This is the fasforge simulator, not a real model; it only understands the fasforge construction, augmentation and judge prompts.';

function answerMode(fault: ContentFault): AnswerMode {
  return fault === 'malformed' || fault === 'none' ? 'normal' : fault;
}

/** The prompt to answer: the last user turn, or for a repair turn the request it repairs. */
function taskPrompt(userTurns: readonly string[]): { prompt: string; formHint?: string } {
  const last = userTurns[userTurns.length - 1] ?? '';
  if (!isRepairPrompt(last)) return { prompt: last };
  for (let i = userTurns.length - 2; i >= 0; i -= 1) {
    const turn = userTurns[i] ?? '';
    if (!isRepairPrompt(turn)) return { prompt: turn, formHint: last };
  }
  return { prompt: last };
}

/** Produces the reply text for a request. */
export function simulateReply(input: PromptInput, faults: ResolvedFaults): SimulatedReply {
  const reply = simulateTurn(input, faults);
  return isRepairPrompt(input.userTurns[input.userTurns.length - 1] ?? '') ? { ...reply, repair: true } : reply;
}

function simulateTurn(input: PromptInput, faults: ResolvedFaults): SimulatedReply {
  const { prompt, formHint } = taskPrompt(input.userTurns);
  const parsed = parsePrompt(prompt);
  const prng = new Prng(input.hash, 'content');
  const faultPrng = new Prng(input.hash, 'malform');

  switch (parsed.kind) {
    case 'construction': {
      let fault = contentFault(input.hash, faults, ['malformed', 'refusal', 'contradiction']);
      if (fault === 'none' && parsed.task === 'localization' && parsed.box && wrongBoxFault(input.hash, faults)) {
        fault = 'wrong-box';
      }
      const pair = generatePair(parsed, answerMode(fault), prng);
      const hinted = formHint ? detectReplyForm(formHint) : undefined;
      const form: ReplyForm = input.jsonMode ? 'json' : (hinted ?? parsed.form ?? 'text');
      if (fault === 'malformed') {
        const reply =
          form === 'json'
            ? malformJson({ ...pair }, () => ({ question: pair.question }), faultPrng)
            : malformText(pair.question, pair.answer, faultPrng);
        return { ...reply, kind: parsed.kind, fault };
      }
      const content = form === 'json' ? JSON.stringify(pair) : `Question: ${pair.question}\nAnswer: ${pair.answer}`;
      return { content, finishReason: 'stop', kind: parsed.kind, fault };
    }
    case 'augment': {
      const fault = contentFault(input.hash, faults, ['malformed', 'refusal', 'contradiction']);
      const source = parsed.pair ?? {
        question: 'What does the image depict?',
        answer: 'The image shows a face in front of the camera.',
      };
      const pairs = augmentPair(source, answerMode(fault), prng);
      if (fault === 'malformed') {
        const withoutAnswer = () => ({ pairs: pairs.map((p, i) => (i === 0 ? { question: p.question } : p)) });
        return { ...malformJson({ pairs }, withoutAnswer, faultPrng), kind: parsed.kind, fault };
      }
      return { content: JSON.stringify({ pairs }), finishReason: 'stop', kind: parsed.kind, fault };
    }
    case 'judge': {
      // A judge verdict states no authenticity, so only malformed replies apply to it.
      const fault = contentFault(input.hash, faults, ['malformed']);
      const verdict = judgePair(parsed.pair, parsed.label);
      if (fault === 'malformed') {
        return {
          ...malformJson({ ...verdict }, () => ({ reason: verdict.reason }), faultPrng),
          kind: parsed.kind,
          fault,
        };
      }
      return { content: JSON.stringify(verdict), finishReason: 'stop', kind: parsed.kind, fault: 'none' };
    }
    case 'unknown':
    default: {
      const json = input.jsonMode || parsed.form === 'json';
      return {
        content: json ? JSON.stringify({ answer: UNKNOWN_REPLY }) : UNKNOWN_REPLY,
        finishReason: 'stop',
        kind: 'unknown',
        fault: 'none',
      };
    }
  }
}
