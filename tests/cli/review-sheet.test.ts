/**
 * Reading a filled-in review sheet (CSV or JSONL) and cutting its decisions into update-sized chunks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chunks, readSheet, SHEET_COLUMNS, writeSheet, type SheetRow } from '../../cli/review';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fasforge-sheet-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const row = (id: string, over: Partial<SheetRow> = {}): SheetRow => ({
  ...(Object.fromEntries(SHEET_COLUMNS.map((c) => [c, ''])) as SheetRow),
  id,
  task: 'coarse',
  question: 'Is this face real, "or" a spoof?',
  answer: 'A spoof, with a comma, and a\nline break.',
  ...over,
});

test.each(['sheet.csv', 'sheet.jsonl'])('a %s round-trips and yields only the decided rows', (name) => {
  const file = path.join(dir, name);
  writeSheet(file, [
    row('b:1:coarse', { decision: 'Approve ' }),
    row('b:2:coarse', { decision: 'reject', reason: 'hedges, then guesses' }),
    row('b:3:coarse', { decision: 'revise', new_answer: 'It is a print attack,\nclearly.' }),
    row('b:4:coarse'),
  ]);
  expect(readSheet(file)).toEqual({
    decisions: [
      { id: 'b:1:coarse', decision: 'approve' },
      { id: 'b:2:coarse', decision: 'reject', reason: 'hedges, then guesses' },
      { id: 'b:3:coarse', decision: 'revise', answer: 'It is a print attack,\nclearly.' },
    ],
    undecided: 1,
    refusals: [],
  });
});

test('bad JSONL lines and decided rows without an id are refused with their line', () => {
  const file = path.join(dir, 'bad.jsonl');
  fs.writeFileSync(file, '{"id":"b:1:coarse","decision":"approve"}\n{not json\n[1,2]\n{"decision":"approve"}\n');
  const read = readSheet(file);
  expect(read.decisions).toEqual([{ id: 'b:1:coarse', decision: 'approve' }]);
  expect(read.refusals.map((r) => r.id)).toEqual(['(line 2)', '(line 3)', '(row without id)']);
  expect(read.refusals[0]!.reason).toMatch(/^not JSON/);
});

test('chunks hold at most the given count and stay under the byte budget', () => {
  const small = Array.from({ length: 5 }, (_, i) => ({ id: `b:${i}:coarse`, decision: 'approve' as const }));
  expect(chunks(small, 2).map((c) => c.length)).toEqual([2, 2, 1]);
  const big = Array.from({ length: 4 }, (_, i) => ({
    id: `b:${i}:coarse`,
    decision: 'revise' as const,
    answer: 'x'.repeat(400),
  }));
  expect(chunks(big, 100, 1000).map((c) => c.length)).toEqual([2, 2]);
});

test.each([
  ['only-foo.csv', 'foo,bar\n1,2\n', /has no "id" or "decision" column \(it has: foo, bar\)/],
  ['header-only.csv', 'foo,bar\n', /has no "id" or "decision" column \(it has: foo, bar\)/],
  ['no-decision.jsonl', '{"id":"b:1:coarse"}\n', /has no "decision" column \(it has: id\)/],
  ['empty.csv', '', /holds no rows/],
  ['empty.jsonl', '\n', /holds no rows/],
])('a sheet %s without the decision columns or rows is an error naming what is missing', (name, text, message) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  expect(() => readSheet(file)).toThrow(message);
});
