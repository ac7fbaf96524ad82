/**
 * Parsing model replies: JSON extraction, the two-line text form, augmentation and judge verdicts.
 */
import { extractJson, parseAugmentation, parseJudge, parseQa } from '../../../activities/model-api/parse';

const pair = {
  question: 'Is the face in this picture real?',
  answer: 'No, it is a printed photo held up to the camera.',
};

describe('extractJson', () => {
  test('finds a JSON object inside a json code fence', () => {
    const reply = '```json\n' + JSON.stringify(pair, null, 2) + '\n```';
    expect(extractJson(reply)).toEqual({ ok: true, value: pair });
  });

  test('finds a JSON object surrounded by chatter', () => {
    const reply = `Sure! Here is the pair you asked for:\n${JSON.stringify(pair)}\nLet me know if you need anything else.`;
    expect(extractJson(reply)).toEqual({ ok: true, value: pair });
  });

  test('takes the whole object when it holds nested objects', () => {
    const value = {
      pairs: [
        { question: 'a?', answer: 'b' },
        { question: 'c?', answer: 'd' },
      ],
      meta: { deep: { x: 1 } },
    };
    expect(extractJson(`prefix ${JSON.stringify(value)} suffix {"second": true}`)).toEqual({ ok: true, value });
  });

  test('ignores braces and escaped quotes inside strings', () => {
    const value = {
      question: 'What does "}{" mean here?',
      answer: 'A brace } then { and a backslash \\ and a quote \\"',
    };
    expect(extractJson(`Reply: ${JSON.stringify(value)} done`)).toEqual({ ok: true, value });
  });

  test('reports an object that is never closed', () => {
    const r = extractJson('{"question": "Is it real?", "answer": "No, it is a');
    expect(r).toEqual({ ok: false, error: 'the JSON object is not closed' });
  });

  test('reports a reply with no JSON object', () => {
    expect(extractJson('The face is real.')).toEqual({ ok: false, error: 'the reply holds no JSON object' });
  });

  test('reports a balanced object that is not valid JSON', () => {
    const r = extractJson("{'question': 'x', 'answer': 'y',}");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^the JSON object does not parse: /);
  });
});

describe('parseQa in JSON form', () => {
  test('parses a pair inside a code fence with chatter', () => {
    const reply = 'Here you go:\n```json\n' + JSON.stringify(pair) + '\n```\nHope this helps.';
    expect(parseQa(reply, 'json')).toEqual({ ok: true, value: pair });
  });

  test('trims the question and the answer', () => {
    expect(parseQa('{"question": "  Real or spoof?  ", "answer": "\\n Spoof. "}', 'json')).toEqual({
      ok: true,
      value: { question: 'Real or spoof?', answer: 'Spoof.' },
    });
  });

  test('names the missing answer field', () => {
    const r = parseQa('{"question": "Is the face real?"}', 'json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^answer: /);
  });

  test('names the missing question field', () => {
    const r = parseQa('{"answer": "The face is real."}', 'json');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/question/);
      expect(r.error).not.toMatch(/answer/);
    }
  });

  test('rejects an answer that is too short and names the field', () => {
    const r = parseQa('{"question": "Is the face real?", "answer": "  "}', 'json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^answer: /);
  });

  test('passes on the error of an unclosed object', () => {
    expect(parseQa('```json\n{"question": "Is it real?", "answer": "No', 'json')).toEqual({
      ok: false,
      error: 'the JSON object is not closed',
    });
  });
});

describe('parseQa in text form', () => {
  test('parses the two-line form', () => {
    expect(parseQa(`Question: ${pair.question}\nAnswer: ${pair.answer}`, 'text')).toEqual({ ok: true, value: pair });
  });

  test('parses a question and an answer that run over several lines', () => {
    const reply =
      'Question: Looking at the lighting,\nis this face real?\nAnswer: It is a spoof.\nThe paper edges are visible\nat the bottom.';
    expect(parseQa(reply, 'text')).toEqual({
      ok: true,
      value: {
        question: 'Looking at the lighting,\nis this face real?',
        answer: 'It is a spoof.\nThe paper edges are visible\nat the bottom.',
      },
    });
  });

  test('accepts any case and spacing around the labels and surrounding whitespace', () => {
    expect(parseQa('\n  question :  Is it real?\n\nANSWER:   Yes, it is genuine.  \n', 'text')).toEqual({
      ok: true,
      value: { question: 'Is it real?', answer: 'Yes, it is genuine.' },
    });
  });

  test('rejects a reply without an answer line', () => {
    const r = parseQa(`Question: ${pair.question}`, 'text');
    expect(r).toEqual({ ok: false, error: 'the reply does not have the form "Question: …" then "Answer: …"' });
  });

  test('rejects a reply without labels', () => {
    expect(parseQa(`${pair.question}\n${pair.answer}`, 'text').ok).toBe(false);
  });

  test('rejects an answer line with nothing after it', () => {
    expect(parseQa(`Question: ${pair.question}\nAnswer:`, 'text').ok).toBe(false);
  });

  test('rejects a too-short answer and names the field', () => {
    const r = parseQa(`Question: ${pair.question}\nAnswer: ok`, 'text');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^answer: /);
  });
});

describe('parseAugmentation', () => {
  const two = { pairs: [pair, { question: 'Is this a genuine face?', answer: 'No, it is a print attack.' }] };

  test('accepts exactly two pairs', () => {
    expect(parseAugmentation('```json\n' + JSON.stringify(two) + '\n```')).toEqual({ ok: true, value: two.pairs });
  });

  test('rejects one pair', () => {
    expect(parseAugmentation(JSON.stringify({ pairs: [pair] }))).toEqual({
      ok: false,
      error: 'pairs: exactly two pairs are needed',
    });
  });

  test('rejects three pairs', () => {
    expect(parseAugmentation(JSON.stringify({ pairs: [pair, pair, pair] }))).toEqual({
      ok: false,
      error: 'pairs: exactly two pairs are needed',
    });
  });

  test('rejects a missing pairs field and names it', () => {
    const r = parseAugmentation(JSON.stringify(pair));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^pairs: /);
  });

  test('names the field of a bad pair by its path', () => {
    const r = parseAugmentation(JSON.stringify({ pairs: [pair, { question: 'Is it real?' }] }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^pairs\.1\.answer: /);
  });

  test('passes on the error of a reply with no JSON', () => {
    expect(parseAugmentation('I cannot help with that.')).toEqual({
      ok: false,
      error: 'the reply holds no JSON object',
    });
  });
});

describe('parseJudge', () => {
  test('parses a positive verdict with its reason', () => {
    expect(parseJudge('Verdict:\n{"correspond": true, "reason": "The answer addresses the question."}')).toEqual({
      ok: true,
      value: { correspond: true, reason: 'The answer addresses the question.' },
    });
  });

  test('parses a negative verdict and defaults a missing reason to empty', () => {
    expect(parseJudge('{"correspond": false}')).toEqual({ ok: true, value: { correspond: false, reason: '' } });
  });

  test('rejects a verdict that is not a boolean and names the field', () => {
    const r = parseJudge('{"correspond": "yes", "reason": "fine"}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^correspond: /);
  });

  test('rejects a reply without a verdict object', () => {
    expect(parseJudge('They correspond.')).toEqual({ ok: false, error: 'the reply holds no JSON object' });
  });
});
