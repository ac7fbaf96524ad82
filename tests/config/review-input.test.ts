/**
 * The build input's `review` section: defaults, acceptance sampling and the timeout policy.
 */
import { parseBuildInput } from '../../config/build-input';

const base = { sources: [{ name: 'siw', adapter: 'siw-mv2', root: '/data/siw' }] };

test('by default the gate is required and waits for ever with a daily reminder', () => {
  expect(parseBuildInput(base).review).toEqual({ required: true, timeout: { action: 'wait', remindEvery: '1d' } });
});

test('sampling and a release-approved timeout resolve with their defaults', () => {
  const review = parseBuildInput({
    ...base,
    review: { sample: { perClass: 20 }, timeout: { action: 'release-approved', after: '7d' } },
  }).review;
  expect(review).toEqual({
    required: true,
    sample: { perClass: 20, seed: 'fasforge-review', maxRejectRate: 0.1 },
    timeout: { action: 'release-approved', after: '7d', remindEvery: '1d' },
  });
});

test.each([
  [{ timeout: { action: 'fail' } }, 'review.timeout.after: the fail and release-approved actions need "after"'],
  [{ timeout: { after: '2d' } }, 'review.timeout.after: "after" applies to the fail and release-approved actions'],
  [{ timeout: { action: 'fail', after: 'a week' } }, 'review.timeout.after: write a duration such as "90s"'],
  [{ sample: { perClass: 0 } }, 'review.sample.perClass'],
  [{ sample: { perClass: 5, maxRejectRate: 2 } }, 'review.sample.maxRejectRate'],
  [{ timeout: { action: 'later' } }, 'review.timeout.action'],
])('refuses %j with its path', (review, message) => {
  expect(() => parseBuildInput({ ...base, review })).toThrow(message);
});
