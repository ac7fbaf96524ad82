/**
 * Answers judge prompts: does the answer correspond to the question (and to the label hint, when
 * the prompt gives one)? Refusals, hedges, contradictions and off-topic answers do not correspond.
 */
import { classifyQuestion, findBoxes, isRefusal, namedAttackClasses, statedAuthenticity } from './answer-analysis';
import { findClass } from './knowledge';
import type { LabelHint, QaPair } from './prompt-parser';

/** The judge's verdict. */
export interface JudgeVerdict {
  correspond: boolean;
  reason: string;
}

/** Judges one pair, optionally against the ground-truth label. */
export function judgePair(pair: QaPair | undefined, label: LabelHint | undefined): JudgeVerdict {
  if (!pair) return { correspond: false, reason: 'No question and answer pair could be read from the request.' };
  const answer = pair.answer.trim();
  if (answer.length === 0) return { correspond: false, reason: 'The answer is empty.' };
  if (isRefusal(answer)) {
    return { correspond: false, reason: 'The answer refuses or hedges instead of giving a definite judgment.' };
  }
  const task = classifyQuestion(pair.question);
  const stated = statedAuthenticity(answer);
  if (label && stated && stated !== label.authenticity) {
    return {
      correspond: false,
      reason: `The answer says the face is ${stated}, but the picture is labelled ${label.authenticity}.`,
    };
  }
  if (label?.authenticity === 'real' && !stated) {
    const named = namedAttackClasses(answer);
    if (named.length > 0) {
      return {
        correspond: false,
        reason: `The answer describes ${named[0]?.name ?? 'an attack'} instrument, but the picture is labelled real.`,
      };
    }
  }
  switch (task) {
    case 'localization':
      if (findBoxes(answer).length === 0 && !(stated === 'real' && label?.authenticity !== 'spoof')) {
        return {
          correspond: false,
          reason: 'The question asks where the spoof area is, but the answer gives no bounding box.',
        };
      }
      break;
    case 'fine': {
      const named = namedAttackClasses(answer);
      if (named.length === 0 && stated !== 'real') {
        return { correspond: false, reason: 'The question asks for the attack type, but the answer names none.' };
      }
      const expected = label?.className ? findClass(label.className) : undefined;
      if (label?.authenticity === 'spoof' && expected?.attack && named.length > 0 && !named.includes(expected)) {
        const said = named.map((c) => c.name).join(', ');
        return { correspond: false, reason: `The answer names ${said}, but the picture shows ${expected.name}.` };
      }
      break;
    }
    case 'coarse':
    case 'reasoning':
      if (!stated) {
        return {
          correspond: false,
          reason: 'The question asks whether the face is real or spoof, but the answer does not say.',
        };
      }
      break;
    case 'pretrain':
      if (answer.split(/\s+/).length < 5) {
        return {
          correspond: false,
          reason: 'The question asks for a description, but the answer is too short to describe the picture.',
        };
      }
      break;
    default:
      break;
  }
  return {
    correspond: true,
    reason: 'The answer directly addresses the question and is consistent with the picture information.',
  };
}
