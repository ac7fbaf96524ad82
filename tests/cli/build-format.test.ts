/**
 * What the build commands print: approve hints that name a non-default server, web UI links,
 * failure messages a person can read, and progress lines that line up.
 */
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { approveCommand, devUiUrl, resolveTarget, temporalFlags, workflowUrl } from '../../cli/build';
import { failureMessage, formatStageLine, shortFailure, staticBar } from '../../cli/progress';
import { parseEnv } from '../../config/env';

test('approve hints carry --address and --namespace only when they are not the defaults', () => {
  expect(approveCommand({ address: '127.0.0.1:7233', namespace: 'default' }, 'b1')).toBe(
    `temporal workflow signal --workflow-id b1 --name approveReview --input '{"reviewer":"<name>","note":"<what you checked>"}'`,
  );
  expect(temporalFlags({ address: 'temporal.internal:7233', namespace: 'fas' })).toBe(
    ' --address temporal.internal:7233 --namespace fas',
  );
  expect(temporalFlags({ address: '127.0.0.1:17370', namespace: 'default' })).toBe(' --address 127.0.0.1:17370');
});

test('web UI links follow the dev server convention unless TEMPORAL_UI_URL is set', () => {
  expect(devUiUrl('127.0.0.1:7233')).toBe('http://127.0.0.1:8233');
  const dev = resolveTarget(parseEnv({}), { address: '127.0.0.1:17670' });
  expect(workflowUrl(dev, 'my build')).toBe('http://127.0.0.1:18670/namespaces/default/workflows/my%20build');
  const cluster = resolveTarget(
    parseEnv({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_UI_URL: 'https://ui.example/' }),
  );
  expect(workflowUrl(cluster, 'b1')).toBe('https://ui.example/namespaces/default/workflows/b1');
});

test('a failure reads as its innermost application failure with its type', () => {
  const app = ApplicationFailure.nonRetryable('root /data/x does not exist', 'SourceError');
  const activity = new ActivityFailure(
    'Activity task failed',
    'prepareBuild',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    'b1',
    app,
  );
  const err = new WorkflowFailedError('Workflow execution failed', activity, RetryState.NON_RETRYABLE_FAILURE);
  expect(failureMessage(err)).toBe('root /data/x does not exist (SourceError)');
  expect(shortFailure(`Failed query: insert ...\nparams: ${'x'.repeat(5000)}`)).toBe(
    'Failed query: insert ... (full message with --verbose or --json)',
  );
});

test('progress lines show a bar, the batches and the counts', () => {
  expect(staticBar(1, 4, 8)).toBe('[##------]');
  const line = formatStageLine({
    stage: 'generate',
    state: 'running',
    batchesDone: 3,
    batchesTotal: 6,
    counts: { in: 30, kept: 28, dropped: {}, failed: { model_refusal: 2 } },
  });
  expect(line).toBe(
    'generate       [##########----------] running 3/6 batches    in 30  kept 28  (failed model_refusal 2)',
  );
});
