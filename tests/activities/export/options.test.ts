/**
 * Export options in the build file, and the box notations, without a database.
 */
import { boxText, renderBox, rewriteAnswerBoxes, type Box } from '../../../activities/export/boxes';
import { canonicalJson, versionId, withoutLocalPaths } from '../../../activities/export/manifest';
import { resolveExportOptions } from '../../../activities/export';
import { BuildInputError, parseBuildInput } from '../../../config/build-input';

const source = { name: 'siw', adapter: 'siw-mv2', root: '/data/siw' };

test('refuses an unknown format, a repeated format and an unknown box notation, naming the field', () => {
  const bad = (exp: unknown) => () => parseBuildInput({ sources: [source], export: exp });
  expect(bad({ formats: ['csv'] })).toThrow(BuildInputError);
  expect(bad({ formats: ['csv'] })).toThrow(/export\.formats\.0/);
  expect(bad({ formats: ['sharegpt', 'sharegpt'] })).toThrow(/export\.formats: list each format once/);
  expect(bad({ boxFormat: 'percent' })).toThrow(/export\.boxFormat/);
  expect(bad({ images: 'symlink' })).toThrow(/export\.images/);
});

test('applies the build defaults and then the command line overrides', () => {
  expect(resolveExportOptions({ dir: '/x', formats: ['llava-json'] })).toEqual({
    formats: ['llava-json'],
    boxFormat: 'absolute',
    images: 'copy',
  });
  // A build recorded before these options existed gets the defaults.
  expect(resolveExportOptions({}, { boxFormat: 'norm1' }).formats).toHaveLength(5);
  expect(resolveExportOptions({}, { boxFormat: 'norm1' }).boxFormat).toBe('norm1');
});

test('renders a box in the three notations and rewrites the answer text to match', () => {
  const box: Box = [92, 339, 352, 507];
  const size = { width: 640, height: 1000 };
  expect(boxText(renderBox(box, 'absolute', size), 'absolute')).toBe('[92.0, 339.0, 352.0, 507.0]');
  expect(renderBox(box, 'norm1', size)).toEqual([0.1438, 0.339, 0.55, 0.507]);
  expect(renderBox(box, 'norm1000', size)).toEqual([144, 339, 550, 507]);
  const answer = 'The mask covers [92.0, 339.0, 352.0, 507.0], the lower face.';
  expect(rewriteAnswerBoxes(answer, 'absolute', size)).toBe(answer);
  expect(rewriteAnswerBoxes(answer, 'norm1000', size)).toBe('The mask covers [144, 339, 550, 507], the lower face.');
  expect(rewriteAnswerBoxes(answer, 'norm1', size)).toBe(
    'The mask covers [0.1438, 0.3390, 0.5500, 0.5070], the lower face.',
  );
  expect(() => renderBox(box, 'norm1', { width: null, height: null })).toThrow(/needs the image size/);
});

test('derives the same version id from equal inputs in any key order, and another from other data', () => {
  const files = [{ path: 'sft.json', size: 3, sha256: 'a'.repeat(64) }];
  expect(versionId({ a: 1, b: { c: 2, d: 3 } }, files)).toBe(versionId({ b: { d: 3, c: 2 }, a: 1 }, files));
  expect(versionId({ a: 1 }, files)).not.toBe(versionId({ a: 1 }, [{ ...files[0]!, sha256: 'b'.repeat(64) }]));
  expect(canonicalJson({ z: 1, a: [{ y: 1, b: 2 }] })).toBe('{"a":[{"b":2,"y":1}],"z":1}');
});

test('replaces every absolute path in the recorded config', () => {
  const config = {
    sources: [{ name: 'siw', root: '/data/siw', spoofRegions: '/data/siw/boxes.json' }],
    export: { dir: '/out' },
    name: 'a/b',
  };
  expect(withoutLocalPaths(config)).toEqual({
    sources: [{ name: 'siw', root: '<local path>', spoofRegions: '<local path>' }],
    export: { dir: '<local path>' },
    name: 'a/b',
  });
});
