/**
 * Answers construction prompts: a question of the requested task and an answer consistent with
 * the label the prompt states (or, for a contradiction fault, deliberately inconsistent with it).
 */
import { formatBox } from './answer-analysis';
import { ATTACK_CLASSES, PRETRAIN_QUESTION, findClass, type AttackClass, type TaskName } from './knowledge';
import type { ConstructionRequest, QaPair } from './prompt-parser';
import type { Prng } from './prng';

/** How an answer should be produced. */
export type AnswerMode = 'normal' | 'refusal' | 'contradiction' | 'wrong-box';

/** Refusal and hedge answers a cautious model gives instead of a judgment. */
export const REFUSALS: readonly string[] = [
  'As an AI language model, I cannot determine whether this face is real.',
  'It is difficult to determine whether the face in this picture is real or spoof.',
  "I'm sorry, but I can't tell whether this face is genuine from the picture alone.",
  'I am unable to determine the authenticity of this face without further information.',
  'It is not possible to say from a single picture whether this face is presented by a live person.',
  'As an AI, I cannot judge whether a face in a photograph is authentic.',
  'I do not have the ability to verify the identity or liveness of the person in this image.',
  'The authenticity of this face cannot be determined from the image provided.',
];

/** Question wordings per task (pretrain always asks its fixed question). */
export const QUESTIONS: Readonly<Record<TaskName, readonly string[]>> = {
  pretrain: [PRETRAIN_QUESTION],
  coarse: [
    'Is the face in this picture real or fake?',
    'Can the image be considered a genuine portrait or a spoof face?',
    'Is this a real face or a spoof?',
    'Does this picture show a live person or a presentation attack?',
    'Is the face in the image authentic or spoofed?',
    'Would you judge this face to be real or spoof?',
  ],
  fine: [
    'What is the type of facial attack shown in this image?',
    'Which kind of presentation attack does this picture show?',
    'What type of spoof attack, if any, is present in the image?',
    'Identify the attack type used on the face in this picture.',
    'Which attack category does this face image belong to?',
  ],
  reasoning: [
    'Why is the face real or spoof?',
    'Explain, attribute by attribute, whether the face is real or spoof.',
    'What reasons indicate that this face is real or spoof?',
    'Based on the facial attributes, explain why this face is real or a spoof.',
  ],
  localization: [
    'Can you locate the spoof area of the face in the image?',
    'Where is the spoof region in this picture?',
    'Give the bounding box of the spoofed area of the face.',
    'Which region of the image contains the spoof?',
  ],
};

const INSTRUMENTS: Readonly<Record<string, string>> = {
  Fakehead: 'a mannequin head',
  Print: 'a printed photograph of a face',
  Glasses: 'a pair of spoofing glasses',
  Replay: 'a face replayed on a phone screen',
  'Paper mask': 'a paper mask',
  'Flexible mask': 'a flexible silicone mask',
  'Rigid mask': 'a rigid plastic mask',
  'Partial Eye': 'a printed eye patch',
  'Partial Mouth': 'a printed mouth patch',
  Makeup: 'heavy makeup',
  Tattoo: 'a fake tattoo',
};

/** Classes whose instrument has visible screen or paper edges. */
const EDGED = new Set(['Print', 'Replay', 'Paper mask', 'Partial Eye', 'Partial Mouth']);

interface Label {
  authenticity: 'real' | 'spoof';
  /** Display name of the attack class (spoof only). */
  name?: string;
  cls?: AttackClass;
}

function instrumentOf(label: Label): string {
  if (label.cls && INSTRUMENTS[label.cls.name]) return INSTRUMENTS[label.cls.name] as string;
  return label.name
    ? `a ${label.name.toLowerCase()} presentation attack instrument`
    : 'a presentation attack instrument';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function coarseAnswer(label: Label, prng: Prng): string {
  if (label.authenticity === 'real') {
    return prng.pick([
      'The face in this picture is real: the skin texture, the natural shading and the depth of the facial features are consistent with a live person.',
      'The face is real. It belongs to a live person in front of the camera, with natural skin texture and no sign of a presentation attack.',
      'This is a real face: the lighting falls naturally across the facial features and there is no mask, screen or paper in front of the face.',
    ]);
  }
  const instrument = instrumentOf(label);
  return prng.pick([
    `The image is a spoof face: ${instrument} is presented to the camera to deceive the face detection system.`,
    `The face in this picture is a spoof, it shows ${instrument} used as a presentation attack instrument.`,
    `This is a spoof face. The picture reveals ${instrument}, so the face is fake.`,
  ]);
}

function fineAnswer(label: Label, prng: Prng): string {
  if (label.authenticity === 'real') {
    return prng.pick([
      'The face is bona fide: no attack is present, and the picture shows a live person in front of the camera.',
      'There is no facial attack in this image; the face is bona fide and belongs to a live person.',
      'No presentation attack is shown: this is a bona fide face of a live person.',
    ]);
  }
  const name = label.name ?? 'Unknown';
  const instrument = instrumentOf(label);
  return prng.pick([
    `The face spoof picture represents a ${name} Attack. This is indicated by ${instrument} presented to the camera, creating a face spoofed effect.`,
    `This picture shows a ${name} Attack: ${instrument} is used to deceive the face detection system.`,
    `The attack type is ${name} Attack, since ${instrument} can be seen in front of the camera.`,
  ]);
}

function judgeAttribute(attribute: string, label: Label): string {
  const a = attribute.toLowerCase();
  const real = label.authenticity === 'real';
  if (/light|illuminat|shad/.test(a)) {
    return real
      ? 'is even and natural, with soft shadows across the face'
      : 'is flat and artificial, with an unnatural glare';
  }
  if (/depth|three-dimension|3d|relief/.test(a)) {
    return real
      ? 'is clear, the face shows natural relief around the nose and cheeks'
      : 'is shallow, the face looks flat';
  }
  if (/screen|paper|edge|border/.test(a)) {
    if (real) return 'suggests that no phone screen or paper edge is involved';
    return label.cls && EDGED.has(label.cls.name)
      ? `reveals the edges of ${instrumentOf(label)}`
      : 'shows no screen or paper edge, although other cues give the attack away';
  }
  if (/shape|consisten|feature|geometr|proportion/.test(a)) {
    return real ? 'is coherent, with the eyes, nose and mouth in natural proportion' : 'is rigid and unnatural';
  }
  if (/texture|skin|surface|material/.test(a)) {
    return real ? 'is fine and natural, with visible pores' : 'is smooth and synthetic';
  }
  if (/eye|blink|gaze/.test(a)) {
    return real ? 'looks natural, with moist and lively eyes' : 'looks lifeless and printed';
  }
  return real ? 'looks natural and consistent' : 'looks artificial and inconsistent';
}

function reasoningAnswer(label: Label, attributes: readonly string[], prng: Prng): string {
  const links = ['According to the picture, the', 'The', 'Moreover, the', 'In addition, the'];
  const sentences = attributes.map((attribute, i) => {
    const lead =
      i === 0 ? links[0] : i === attributes.length - 1 && i > 1 ? 'Finally, the' : links[Math.min(i, links.length - 1)];
    return `${lead} "${attribute}" ${judgeAttribute(attribute, label)}.`;
  });
  const verdict = label.authenticity === 'real' ? 'real' : 'a spoof';
  const closing = prng.pick([
    `Analyzing these attributes, we can conclude that the face in the picture is ${verdict}.`,
    `Taking these attributes together, we conclude that the face is ${verdict}.`,
  ]);
  return [...sentences, closing].join(' ');
}

function localizationAnswer(label: Label, box: string | undefined, prng: Prng): string {
  if (label.authenticity === 'real') {
    return prng.pick([
      'There is no spoof region in this picture: the face is real and no presentation attack instrument is present.',
      'No spoof area can be located, because the face belongs to a live person and is real.',
    ]);
  }
  const instrument = instrumentOf(label);
  if (!box) return `The spoof area covers the part of the face where ${instrument} appears.`;
  return prng.pick([
    `The spoofing region is precisely identified at ${box}. Here, ${instrument} is placed to mimic human facial attributes.`,
    `The spoof area of the face is located at ${box}, where ${instrument} covers the face.`,
    `The spoof region lies within ${box}; this is where ${instrument} appears in the picture.`,
  ]);
}

function pretrainAnswer(label: Label, prng: Prng): string {
  if (label.authenticity === 'real') {
    return prng.pick([
      'The image shows a live person looking at the camera, with natural lighting on the face. No presentation attack instrument is visible, so the face is real.',
      'The image depicts a person facing the camera indoors; the skin texture and shading look natural. The face belongs to a live person, with no presentation attack instrument.',
    ]);
  }
  const instrument = instrumentOf(label);
  const description = label.cls?.description ?? '';
  return prng.pick([
    `The image shows ${instrument} presented to the camera as a presentation attack instrument. ${description}`.trim(),
    `The picture depicts a spoof face: ${instrument} is held in front of the camera. ${description}`.trim(),
  ]);
}

function randomBox(prng: Prng): number[] {
  const x1 = 40 + prng.int(200);
  const y1 = 40 + prng.int(200);
  return [x1, y1, x1 + 80 + prng.int(200), y1 + 80 + prng.int(200)];
}

/**
 * A box that fails the product's check: moved by its own size (no overlap with the truth), or
 * reaching past the image's top-left corner.
 */
function wrongBox(box: readonly number[], prng: Prng): number[] {
  const [x1 = 0, y1 = 0, x2 = 0, y2 = 0] = box;
  const w = Math.max(1, x2 - x1);
  const h = Math.max(1, y2 - y1);
  if (prng.int(2) === 0) return [x1 + w, y1 + h, x2 + w, y2 + h];
  return [x1 - x2 - 10, y1, x1 - 10, y2];
}

function labelOf(request: ConstructionRequest): Label {
  if (request.authenticity === 'real') return { authenticity: 'real' };
  const label: Label = { authenticity: 'spoof' };
  const cls = request.cls ?? (request.className ? findClass(request.className) : undefined);
  if (cls?.attack) {
    label.cls = cls;
    label.name = cls.name;
  } else if (request.className && !cls) {
    label.name = request.className;
  }
  return label;
}

function wrongAttack(label: Label, prng: Prng): Label {
  const others = ATTACK_CLASSES.filter((c) => c.name !== label.cls?.name && c.name !== label.name);
  const cls = prng.pick(others.length > 0 ? others : ATTACK_CLASSES);
  return { authenticity: 'spoof', cls, name: cls.name };
}

/** Answers a construction prompt with one question-answer pair. */
export function generatePair(request: ConstructionRequest, mode: AnswerMode, prng: Prng): QaPair {
  const task: TaskName = request.task ?? 'coarse';
  const question = prng.pick(QUESTIONS[task]);
  if (mode === 'refusal') return { question, answer: prng.pick(REFUSALS) };
  const truth = labelOf(request);
  // A contradiction states the opposite authenticity; for fine-grained spoofs it names a wrong attack.
  let label = truth;
  if (mode === 'contradiction') {
    if (truth.authenticity === 'real' || task === 'fine') label = wrongAttack(truth, prng);
    else label = { authenticity: 'real' };
  }
  let box = request.box ? formatBox(mode === 'wrong-box' ? wrongBox(request.box, prng) : request.box) : undefined;
  if (mode === 'contradiction' && truth.authenticity === 'real' && !box) box = formatBox(randomBox(prng));
  switch (task) {
    case 'pretrain':
      return { question, answer: capitalise(pretrainAnswer(label, prng)) };
    case 'fine':
      return { question, answer: fineAnswer(label, prng) };
    case 'reasoning':
      return { question, answer: reasoningAnswer(label, request.attributes, prng) };
    case 'localization':
      return { question, answer: localizationAnswer(label, box, prng) };
    case 'coarse':
    default:
      return { question, answer: coarseAnswer(label, prng) };
  }
}
