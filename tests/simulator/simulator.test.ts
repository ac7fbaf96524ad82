/**
 * End-to-end tests of the model simulator: prompts are built from the product's real templates
 * (config/prompts/v1) and sent with the real `openai` client or plain fetch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { labelHintLine, startSimulator, type RunningSimulator, type SimulatorOptions } from '../../simulator';
import taxonomy from '../../config/taxonomy.json';
import tasksJson from '../../config/prompts/v1/tasks.json';

type Task = 'pretrain' | 'coarse' | 'fine' | 'reasoning' | 'localization';
type Form = 'json' | 'text';

interface TaskEntry {
  questionType: string;
  answerHint: string;
  attributes?: string[];
  examples: Array<{ question: string; answer: string }>;
}

const PROMPT_DIR = join(__dirname, '../../config/prompts/v1');
const template = (name: string): string => readFileSync(join(PROMPT_DIR, `${name}.txt`), 'utf8');
const SYSTEM = template('system').trim();
const tasks = (tasksJson as unknown as { tasks: Record<Task, TaskEntry>; replyFormat: Record<Form, string> }).tasks;
const replyFormat = (tasksJson as unknown as { replyFormat: Record<Form, string> }).replyFormat;
const IMAGE = 'data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U';
const BOX = [92, 339, 352, 507];
const BOX_TEXT = '[92.0, 339.0, 352.0, 507.0]';
const REFUSAL = /as an ai|i cannot|i can't|unable to|difficult to determine|i'm sorry/i;

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? '');
}

function classDescription(className: string): string {
  return taxonomy.classes.find((c) => c.name === className)?.description ?? '';
}

/** A construction prompt exactly as the product fills construction.txt. */
function constructionPrompt(task: Task, className: string, form: Form, box: number[] = BOX): string {
  const entry = tasks[task];
  const attack = taxonomy.classes.find((c) => c.name === className)?.attack ?? true;
  const answerHint = fill(entry.answerHint, {
    attributes: (entry.attributes ?? []).join(', '),
    box: `[${box.map((n) => n.toFixed(1)).join(', ')}]`,
  });
  const examples = entry.examples.map((e) => `Question: ${e.question}\nAnswer: ${e.answer}`).join('\n');
  return fill(template('construction'), {
    authenticity: attack ? 'spoof' : 'real',
    className,
    description: classDescription(className),
    questionType: entry.questionType,
    answerHint,
    examples,
    replyFormat: replyFormat[form],
  });
}

function augmentPrompt(pair: { question: string; answer: string }): string {
  return fill(template('augment'), { pair: JSON.stringify(pair) });
}

function judgePrompt(
  pair: { question: string; answer: string },
  label?: { authenticity: 'real' | 'spoof'; className?: string },
): string {
  return fill(template('judge'), {
    pair: JSON.stringify(pair),
    labelHint: label ? `${labelHintLine(label.authenticity, label.className)}\n` : '',
  });
}

function userMessage(text: string): OpenAI.Chat.ChatCompletionMessageParam {
  return {
    role: 'user',
    content: [
      { type: 'image_url', image_url: { url: IMAGE } },
      { type: 'text', text },
    ],
  };
}

function parseText(content: string): { question: string; answer: string } {
  const match = content.match(/^Question: (.+)\nAnswer: (.+)$/);
  if (!match?.[1] || !match[2]) throw new Error(`not in the two-line form: ${content}`);
  return { question: match[1], answer: match[2] };
}

function parseJsonPair(content: string): { question: string; answer: string } {
  const value = JSON.parse(content) as { question?: unknown; answer?: unknown };
  if (typeof value.question !== 'string' || typeof value.answer !== 'string')
    throw new Error(`missing field: ${content}`);
  return { question: value.question, answer: value.answer };
}

async function postJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

const running: RunningSimulator[] = [];
async function simulator(options: SimulatorOptions = {}): Promise<{ sim: RunningSimulator; client: OpenAI }> {
  const sim = await startSimulator({ port: 0, ...options });
  running.push(sim);
  return { sim, client: new OpenAI({ baseURL: sim.url, apiKey: 'not-a-key', maxRetries: 0 }) };
}

afterAll(async () => {
  await Promise.all(running.map((sim) => sim.close()));
});

describe('simulator basics', () => {
  test('the same request gets the same response and the model name is marked as simulated', async () => {
    const { client } = await simulator({ seed: 'repeat' });
    const request = {
      model: 'llava-v1.5-13b',
      messages: [
        { role: 'system' as const, content: SYSTEM },
        userMessage(constructionPrompt('coarse', 'Print', 'json')),
      ],
      response_format: { type: 'json_object' as const },
    };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    expect(second).toEqual(first);
    expect(first.model).toBe('fasforge-simulator/llava-v1.5-13b');
    expect(first.usage?.prompt_tokens).toBeGreaterThan(576);
    expect(first.usage?.total_tokens).toBe((first.usage?.prompt_tokens ?? 0) + (first.usage?.completion_tokens ?? 0));
  });

  test('a different seed can change the wording but not the label', async () => {
    const answers = new Set<string>();
    for (const seed of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const { client } = await simulator({ seed });
      const reply = await client.chat.completions.create({
        model: 'm',
        messages: [userMessage(constructionPrompt('coarse', 'Replay', 'text'))],
      });
      const { answer } = parseText(reply.choices[0]?.message.content ?? '');
      expect(answer).toMatch(/spoof/i);
      answers.add(answer);
    }
    expect(answers.size).toBeGreaterThan(1);
  });

  test('the model list is served and an allow list rejects other models', async () => {
    const { client } = await simulator({ models: ['sim-vision', 'sim-text'] });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['sim-vision', 'sim-text']);
    await expect(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  test('an unknown prompt gets a generic but valid answer', async () => {
    const { client } = await simulator();
    const text = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'Tell me a joke.' }],
    });
    expect(text.choices[0]?.message.content).toMatch(/simulator/);
    const json = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'Tell me a joke.' }],
      response_format: { type: 'json_object' },
    });
    expect(() => JSON.parse(json.choices[0]?.message.content ?? '')).not.toThrow();
  });
});

describe('generation follows the label', () => {
  const classes = ['Bonafide', 'Print', 'Replay', 'Paper mask', 'Flexible mask', 'Partial Eye', 'Makeup'];
  const cases: Array<[Task, string, Form]> = [];
  for (const task of ['pretrain', 'coarse', 'fine', 'reasoning', 'localization'] as Task[]) {
    for (const className of classes) {
      if (task === 'localization' && className === 'Bonafide') continue;
      for (const form of ['json', 'text'] as Form[]) cases.push([task, className, form]);
    }
  }
  let client: OpenAI;
  beforeAll(async () => {
    ({ client } = await simulator({ seed: 'labels' }));
  });

  test.each(cases)(
    'a %s request for a %s face in %s form is answered consistently with its label',
    async (task, className, form) => {
      const real = className === 'Bonafide';
      const reply = await client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'system', content: SYSTEM }, userMessage(constructionPrompt(task, className, form))],
        ...(form === 'json' ? { response_format: { type: 'json_object' as const } } : {}),
      });
      const content = reply.choices[0]?.message.content ?? '';
      const { question, answer } = form === 'json' ? parseJsonPair(content) : parseText(content);
      expect(question.length).toBeGreaterThan(5);
      expect(answer).not.toMatch(REFUSAL);
      switch (task) {
        case 'pretrain':
          expect(question).toBe('What does the image depict?');
          if (real) expect(answer).toMatch(/live person/);
          else expect(answer).toMatch(/spoof|presentation attack instrument/i);
          break;
        case 'coarse':
          if (real) {
            expect(answer).toMatch(/\breal\b/);
            expect(answer).not.toMatch(/spoof(?! instrument)|fake/i);
          } else expect(answer).toMatch(/\bspoof\b/);
          break;
        case 'fine':
          if (real) expect(answer).toMatch(/bona fide/);
          else expect(answer).toContain(`${className} Attack`);
          break;
        case 'reasoning':
          for (const attribute of tasks.reasoning.attributes ?? []) expect(answer).toContain(`"${attribute}"`);
          expect(answer).toMatch(
            real
              ? /conclude that the face (in the picture )?is real\.$/
              : /conclude that the face (in the picture )?is a spoof\.$/,
          );
          break;
        case 'localization':
          expect(answer).toContain(BOX_TEXT);
          break;
      }
    },
  );

  test('a construction prompt asking for JSON is answered in JSON even without response_format', async () => {
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [userMessage(constructionPrompt('fine', 'Glasses', 'json'))],
    });
    expect(parseJsonPair(reply.choices[0]?.message.content ?? '').answer).toContain('Glasses Attack');
  });

  test('a repair turn is answered as the request it repairs', async () => {
    const original = constructionPrompt('localization', 'Rigid mask', 'text', [10, 20.5, 110, 220]);
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [
        userMessage(original),
        { role: 'assistant', content: 'Question: Where?' },
        { role: 'user', content: fill(template('repair'), { error: 'no Answer line', replyFormat: replyFormat.text }) },
      ],
    });
    expect(parseText(reply.choices[0]?.message.content ?? '').answer).toContain('[10.0, 20.5, 110.0, 220.0]');
  });
});

describe('completions endpoint', () => {
  test('a Vicuna-style prompt is answered in the text form it asks for', async () => {
    const { client } = await simulator({ seed: 'vicuna' });
    const prompt = `${SYSTEM} USER: <image>\n${constructionPrompt('fine', 'Tattoo', 'text')} ASSISTANT:`;
    const reply = await client.completions.create({ model: 'llava-v1.5-7b', prompt });
    expect(reply.model).toBe('fasforge-simulator/llava-v1.5-7b');
    expect(reply.object).toBe('text_completion');
    const { answer } = parseText(reply.choices[0]?.text ?? '');
    expect(answer).toContain('Tattoo Attack');
    expect(reply.usage?.prompt_tokens).toBeGreaterThan(576);
    const again = await client.completions.create({ model: 'llava-v1.5-7b', prompt });
    expect(again).toEqual(reply);
  });

  test('a repair continued as Vicuna turns is answered as the request it repairs', async () => {
    const { sim, client } = await simulator({ seed: 'vicuna', malformedRate: 1 });
    const first = `${SYSTEM} USER: <image>\n${constructionPrompt('fine', 'Tattoo', 'text')} ASSISTANT:`;
    const bad = (await client.completions.create({ model: 'm', prompt: first })).choices[0]?.text ?? '';
    const repair = template('repair')
      .replace('{{error}}', 'no answer line')
      .replace('{{replyFormat}}', replyFormat.text);
    await client.completions.create({ model: 'm', prompt: `${first} ${bad}</s>USER: ${repair} ASSISTANT:` });
    expect(sim.faults()).toEqual({ 'construction:malformed': 1, 'construction:repair:malformed': 1 });
  });
});

describe('transport faults', () => {
  const body = (tag: string) => ({
    model: 'm',
    messages: [userMessage(constructionPrompt('coarse', 'Print', 'text'))],
    user: tag,
  });

  test('a 429 carries retry-after and the retry of the same body succeeds', async () => {
    const { sim } = await simulator({ rateLimitRate: 1, retryAfterSeconds: 2 });
    const first = await postJson(`${sim.url}/chat/completions`, body('r1'));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
    const retry = await postJson(`${sim.url}/chat/completions`, body('r1'));
    expect(retry.status).toBe(200);
    expect(sim.stats()).toEqual({ requests: 2, byStatus: { '200': 1, '429': 1 } });
  });

  test('the openai client retries a 429 and a 500 through to an answer', async () => {
    const { sim } = await simulator({ rateLimitRate: 0.5, serverErrorRate: 0.5, retryAfterSeconds: 0.05 });
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'not-a-key', maxRetries: 1 });
    const reply = await client.chat.completions.create(
      body('r2') as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
    );
    expect(parseText(reply.choices[0]?.message.content ?? '').answer).toMatch(/spoof/);
    const stats = sim.stats();
    expect(stats.byStatus['200']).toBe(1);
    expect((stats.byStatus['429'] ?? 0) + (stats.byStatus['500'] ?? 0)).toBe(1);
  });
});

describe('fault rates', () => {
  test('fault rates are roughly honoured over 200 distinct requests and content faults repeat per body', async () => {
    const rates = {
      rateLimitRate: 0.2,
      serverErrorRate: 0.1,
      malformedRate: 0.1,
      refusalRate: 0.1,
      contradictionRate: 0.1,
    };
    const { sim } = await simulator({ seed: 'rates', ...rates, retryAfterSeconds: 0 });
    const counts = { 429: 0, 500: 0, malformed: 0, refusal: 0, contradiction: 0, ok: 0 };
    const classes = taxonomy.classes.map((c) => c.name);
    for (let i = 0; i < 200; i += 1) {
      const className = classes[i % classes.length] ?? 'Print';
      const request = {
        model: 'm',
        messages: [userMessage(constructionPrompt('coarse', className, 'json'))],
        response_format: { type: 'json_object' },
        user: `u${i}`,
      };
      let response = await postJson(`${sim.url}/chat/completions`, request);
      if (response.status === 429 || response.status === 500) {
        counts[response.status] += 1;
        response = await postJson(`${sim.url}/chat/completions`, request);
      }
      expect(response.status).toBe(200);
      const content =
        ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content ??
        '';
      let answer: string;
      try {
        answer = parseJsonPair(content).answer;
      } catch {
        counts.malformed += 1;
        continue;
      }
      const real = className === 'Bonafide';
      if (REFUSAL.test(answer)) counts.refusal += 1;
      else if (real ? /\bspoof\b/.test(answer) : /\breal\b/.test(answer)) counts.contradiction += 1;
      else counts.ok += 1;
      // Content is a pure function of the body: asking again gives the same content.
      if (i % 20 === 0) {
        const repeat = await postJson(`${sim.url}/chat/completions`, request);
        if (repeat.status === 200) {
          const again = ((await repeat.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]
            ?.message.content;
          expect(again).toBe(content);
        }
      }
    }
    expect(counts[429]).toBeGreaterThanOrEqual(20);
    expect(counts[429]).toBeLessThanOrEqual(65);
    expect(counts[500]).toBeGreaterThanOrEqual(5);
    expect(counts[500]).toBeLessThanOrEqual(40);
    for (const key of ['malformed', 'refusal', 'contradiction'] as const) {
      expect(counts[key]).toBeGreaterThanOrEqual(5);
      expect(counts[key]).toBeLessThanOrEqual(40);
    }
    expect(counts.ok).toBeGreaterThanOrEqual(100);
  });

  test('malformed text replies cannot be read as two lines', async () => {
    const { client } = await simulator({ malformedRate: 1 });
    for (let i = 0; i < 10; i += 1) {
      const reply = await client.chat.completions.create({
        model: 'm',
        messages: [userMessage(constructionPrompt('coarse', 'Print', 'text'))],
        user: `m${i}`,
      });
      expect(() => parseText(reply.choices[0]?.message.content ?? '')).toThrow();
    }
  });
});

describe('augmentation', () => {
  test('augmentation returns two paraphrased pairs that keep the box unchanged', async () => {
    const { client } = await simulator({ seed: 'augment' });
    const pair = {
      question: 'Can you locate the spoof area of the face in the image?',
      answer: `The spoofing region is precisely identified at ${BOX_TEXT}. Here, a mask is placed to mimic human facial attributes.`,
    };
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: augmentPrompt(pair) }],
      response_format: { type: 'json_object' },
    });
    const { pairs } = JSON.parse(reply.choices[0]?.message.content ?? '') as {
      pairs: Array<{ question: string; answer: string }>;
    };
    expect(pairs).toHaveLength(2);
    for (const p of pairs) {
      expect(p.answer).toContain(BOX_TEXT);
      expect(p.question).not.toBe(pair.question);
      expect(p.answer).not.toBe(pair.answer);
      expect(p.question).toMatch(/locate|where|region|area|box/i);
    }
    expect(pairs[0]?.question).not.toBe(pairs[1]?.question);
  });

  test('augmentation keeps quoted attribute names and the verdict of a reasoning answer', async () => {
    const { client } = await simulator({ seed: 'augment' });
    const example = tasks.reasoning.examples[0] ?? { question: '', answer: '' };
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: augmentPrompt(example) }],
    });
    const { pairs } = JSON.parse(reply.choices[0]?.message.content ?? '') as {
      pairs: Array<{ question: string; answer: string }>;
    };
    for (const p of pairs) {
      for (const attribute of tasks.reasoning.attributes ?? []) expect(p.answer).toContain(`"${attribute}"`);
      expect(p.answer).toMatch(/is a spoof\.$/);
    }
  });

  test('augmentation content faults put a refusal into an answer or break the JSON', async () => {
    const pair = {
      question: 'Is the face in this picture real or fake?',
      answer: 'The image is a spoof face made with a paper mask.',
    };
    const refusing = await simulator({ refusalRate: 1 });
    const refused = await refusing.client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: augmentPrompt(pair) }],
    });
    const { pairs } = JSON.parse(refused.choices[0]?.message.content ?? '') as { pairs: Array<{ answer: string }> };
    expect(pairs.filter((p) => REFUSAL.test(p.answer))).toHaveLength(1);
    const breaking = await simulator({ malformedRate: 1 });
    for (let i = 0; i < 6; i += 1) {
      const broken = await breaking.client.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: augmentPrompt(pair) }],
        user: `b${i}`,
      });
      const content = broken.choices[0]?.message.content ?? '';
      let valid = false;
      try {
        const value = JSON.parse(content) as { pairs?: Array<{ question?: unknown; answer?: unknown }> };
        valid =
          value.pairs?.length === 2 &&
          value.pairs.every((p) => typeof p.question === 'string' && typeof p.answer === 'string');
      } catch {
        valid = false;
      }
      expect(valid).toBe(false);
    }
  });
});

describe('judge', () => {
  let client: OpenAI;
  beforeAll(async () => {
    ({ client } = await simulator({ seed: 'judge' }));
  });
  async function judge(
    pair: { question: string; answer: string },
    label?: { authenticity: 'real' | 'spoof'; className?: string },
  ) {
    const reply = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: judgePrompt(pair, label) }],
      response_format: { type: 'json_object' },
    });
    return JSON.parse(reply.choices[0]?.message.content ?? '') as { correspond: boolean; reason: string };
  }

  test('the judge accepts a consistent pair', async () => {
    const verdict = await judge(tasks.fine.examples[1] ?? { question: '', answer: '' }, {
      authenticity: 'spoof',
      className: 'Print',
    });
    expect(verdict).toEqual({ correspond: true, reason: expect.any(String) });
  });

  test('the judge rejects refusals and hedges', async () => {
    for (const answer of [
      'As an AI language model, I cannot determine whether this face is real.',
      'It is difficult to determine whether this face is a spoof.',
    ]) {
      expect((await judge({ question: 'Is the face in this picture real or fake?', answer })).correspond).toBe(false);
    }
  });

  test('the judge rejects answers that contradict the label hint', async () => {
    const real = {
      question: 'Is the face in this picture real or fake?',
      answer: tasks.coarse.examples[1]?.answer ?? '',
    };
    expect((await judge(real, { authenticity: 'spoof', className: 'Print' })).correspond).toBe(false);
    expect((await judge(real, { authenticity: 'real' })).correspond).toBe(true);
    const spoof = {
      question: 'Is the face in this picture real or fake?',
      answer: tasks.coarse.examples[0]?.answer ?? '',
    };
    expect((await judge(spoof, { authenticity: 'real', className: 'Bonafide' })).correspond).toBe(false);
    const wrongType = tasks.fine.examples[0] ?? { question: '', answer: '' };
    expect((await judge(wrongType, { authenticity: 'spoof', className: 'Print' })).correspond).toBe(false);
    expect((await judge(wrongType, { authenticity: 'spoof', className: 'Rigid mask' })).correspond).toBe(true);
  });

  test('the judge rejects an answer that does not address the question', async () => {
    const noBox = {
      question: 'Can you locate the spoof area of the face in the image?',
      answer: 'The face is wearing a rigid mask made of plastic, which is a spoof.',
    };
    expect((await judge(noBox)).correspond).toBe(false);
    expect((await judge(tasks.localization.examples[0] ?? { question: '', answer: '' })).correspond).toBe(true);
  });

  test('the judge rejects generated refusals and contradictions and accepts normal generations', async () => {
    const normal = await simulator({ seed: 'gen' });
    const refusing = await simulator({ seed: 'gen', refusalRate: 1 });
    const contradicting = await simulator({ seed: 'gen', contradictionRate: 1 });
    for (const task of ['pretrain', 'coarse', 'fine', 'reasoning', 'localization'] as Task[]) {
      for (const className of ['Bonafide', 'Print', 'Partial Mouth', 'Fakehead']) {
        if (task === 'localization' && className === 'Bonafide') continue;
        const label = { authenticity: className === 'Bonafide' ? ('real' as const) : ('spoof' as const), className };
        const request = {
          model: 'm',
          messages: [userMessage(constructionPrompt(task, className, 'json'))],
          response_format: { type: 'json_object' as const },
        };
        const verdicts: boolean[] = [];
        for (const source of [normal, refusing, contradicting]) {
          const reply = await source.client.chat.completions.create(request);
          verdicts.push((await judge(parseJsonPair(reply.choices[0]?.message.content ?? ''), label)).correspond);
        }
        expect([task, className, verdicts]).toEqual([task, className, [true, false, false]]);
      }
    }
  });
});

describe('latency, hangs, wrong boxes, keys and the fault ledger', () => {
  test('latency is drawn from a log-normal around its mean, the same for the same seed and body', async () => {
    const { latencyFor, resolveFaults } = await import('../../simulator/faults');
    const faults = resolveFaults({ latencyMs: 200, latencySpread: 0.5 });
    const draws = Array.from({ length: 2000 }, (_, i) => latencyFor(`body-${i}`, 0, faults));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(180);
    expect(mean).toBeLessThan(220);
    expect(Math.min(...draws)).toBeLessThan(120);
    expect(Math.max(...draws)).toBeLessThanOrEqual(2000);
    expect(latencyFor('body-7', 0, faults)).toBe(draws[7]);
    expect(latencyFor('body-7', 1, faults)).not.toBe(draws[7]);
    expect(latencyFor('body-7', 0, resolveFaults({ latencyMs: 200 }))).toBe(200);
  });

  test('a hanging request gets no answer before the client gives up, and its retry succeeds', async () => {
    const { sim } = await simulator({ timeoutRate: 1, hangMs: 60_000 });
    const client = new OpenAI({ baseURL: sim.url, apiKey: 'k', maxRetries: 0, timeout: 300 });
    const body = { model: 'm', messages: [userMessage(constructionPrompt('coarse', 'Print', 'json'))] };
    await expect(client.chat.completions.create(body)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    const retried = await client.chat.completions.create(body);
    expect(parseJsonPair(retried.choices[0]?.message.content ?? '').answer).toMatch(/spoof/i);
    expect(sim.faults()).toEqual({ 'transport:timeout': 1 });
  });

  test('a hang ends with a 504 after hangMs when the client waits', async () => {
    const { sim } = await simulator({ timeoutRate: 1, hangMs: 50 });
    const res = await postJson(`${sim.url}/chat/completions`, { model: 'm', messages: [userMessage('hello')] });
    expect(res.status).toBe(504);
  });

  test('a wrong box is off the ground truth or outside the image, and repeats for the same body', async () => {
    const { sim, client } = await simulator({ wrongBoxRate: 1 });
    const boxes = new Set<string>();
    for (const cls of ['Print', 'Replay', 'Paper mask', 'Rigid mask', 'Partial Eye', 'Makeup']) {
      const body = { model: 'm', messages: [userMessage(constructionPrompt('localization', cls, 'json'))] };
      const answer = parseJsonPair(
        (await client.chat.completions.create(body)).choices[0]?.message.content ?? '',
      ).answer;
      const again = parseJsonPair(
        (await client.chat.completions.create(body)).choices[0]?.message.content ?? '',
      ).answer;
      expect(again).toBe(answer);
      const box = answer.match(/\[[^\]]+\]/)?.[0] ?? '';
      expect(box).not.toBe(BOX_TEXT);
      boxes.add(box.startsWith('[-') ? 'outside' : 'shifted');
    }
    expect([...boxes].sort()).toEqual(['outside', 'shifted']);
    // Six bodies, each sent twice.
    expect(sim.faults()).toEqual({ 'construction:wrong-box': 12 });
  });

  test('wrong boxes apply to localization only', async () => {
    const { sim, client } = await simulator({ wrongBoxRate: 1 });
    await client.chat.completions.create({
      model: 'm',
      messages: [userMessage(constructionPrompt('coarse', 'Print', 'json'))],
    });
    expect(sim.faults()).toEqual({});
  });

  test('a required API key refuses requests without it with a 401', async () => {
    const { sim } = await simulator({ apiKey: 'sk-right' });
    const wrong = new OpenAI({ baseURL: sim.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
    const right = new OpenAI({ baseURL: sim.url, apiKey: 'sk-right', maxRetries: 0 });
    expect((await right.models.list()).data.length).toBeGreaterThan(0);
  });

  test('the fault ledger tells a repair turn from its first turn', async () => {
    const { sim, client } = await simulator({ malformedRate: 1 });
    const first = userMessage(constructionPrompt('coarse', 'Print', 'json'));
    const reply = await client.chat.completions.create({ model: 'm', messages: [first] });
    const repair = {
      role: 'user' as const,
      content: template('repair').replace('{{error}}', 'bad').replace('{{replyFormat}}', replyFormat.json),
    };
    await client.chat.completions.create({
      model: 'm',
      messages: [first, { role: 'assistant', content: reply.choices[0]?.message.content ?? '' }, repair],
    });
    expect(sim.faults()).toEqual({ 'construction:malformed': 1, 'construction:repair:malformed': 1 });
  });

  test('rates outside 0..1 or transport rates summing above 1 are refused', async () => {
    await expect(startSimulator({ timeoutRate: 1.5 })).rejects.toThrow(/timeoutRate/);
    await expect(startSimulator({ rateLimitRate: 0.6, timeoutRate: 0.6 })).rejects.toThrow(
      /timeoutRate must not exceed 1/,
    );
    await expect(startSimulator({ latencySpread: -1 })).rejects.toThrow(/latencySpread/);
  });

  test('command-line flags map to simulator options', async () => {
    const { simulatorOptionsFrom, simulatorFlagHelp } = await import('../../simulator');
    expect(
      simulatorOptionsFrom({
        'latency-ms': '200',
        latencySpread: '0.3',
        'timeout-rate': '0.1',
        models: 'a, b',
        'api-key': 'k',
      }),
    ).toEqual({ latencyMs: 200, latencySpread: 0.3, timeoutRate: 0.1, models: ['a', 'b'], apiKey: 'k' });
    expect(() => simulatorOptionsFrom({ 'wrong-box-rate': 'lots' })).toThrow(
      '--wrong-box-rate expects a number, got "lots"',
    );
    for (const flag of [
      '--latency-ms',
      '--latency-spread',
      '--timeout-rate',
      '--hang-ms',
      '--wrong-box-rate',
      '--api-key',
    ]) {
      expect(simulatorFlagHelp()).toContain(flag);
    }
  });
});
