/**
 * What the build commands print: approve hints that name a non-default server, web UI links,
 * failure messages a person can read, and progress lines that line up.
 */
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import {
  approveCommand,
  cannotReachMessage,
  devUiUrl,
  followCommand,
  isConnectionError,
  resolveTarget,
  serverReason,
  statusExitCode,
  temporalFlags,
  workflowUrl,
} from '../../cli/build';
import { otherShellExports } from '../../cli/dev';
import { localAddressPort } from '../../cli/temporal-dev';
import {
  failureMessage,
  formatSnapshot,
  formatStageLine,
  retryingActivities,
  shortFailure,
  staticBar,
} from '../../cli/progress';
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

test('ids are quoted for a shell in the printed follow command', () => {
  expect(followCommand('my-first-build')).toBe('npx fasforge build status my-first-build --watch');
  expect(followCommand("Tom's build")).toBe(`npx fasforge build status 'Tom'\\''s build' --watch`);
  expect(followCommand('a;rm -rf x')).toBe(`npx fasforge build status 'a;rm -rf x' --watch`);
});

test('failed, cancelled, terminated and timed-out builds give exit status 1', () => {
  expect(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'].map((status) => statusExitCode({ status }))).toEqual([
    1, 1, 1, 1,
  ]);
  expect(['RUNNING', 'COMPLETED'].map((status) => statusExitCode({ status }))).toEqual([0, 0]);
});

test('a transport error from the SDK core reads as a plain message', () => {
  const raw = new Error(
    'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))',
  );
  raw.name = 'TransportError';
  expect(isConnectionError(raw)).toBe(true);
  expect(cannotReachMessage('127.0.0.1:18233', raw)).toBe(
    'cannot reach Temporal at 127.0.0.1:18233: connection refused; start it with npx fasforge dev, or set TEMPORAL_ADDRESS',
  );
  expect(isConnectionError(new Error('no workflow with id b1 in namespace default'))).toBe(false);
});

test("a refused list query shows the server's reason", () => {
  const grpc = Object.assign(new Error('3 INVALID_ARGUMENT: invalid query: syntax error at position 9'), {
    code: 3,
    details: 'invalid query: syntax error at position 9',
  });
  const err = new Error('Failed to list workflows', { cause: grpc });
  expect(serverReason(err)).toBe('invalid query: syntax error at position 9');
  expect(serverReason(new Error('Failed', { cause: new Error('13 INTERNAL: boom') }))).toBe('boom');
});

test('activities that failed and wait to retry are shown under their stage', () => {
  const pending = [
    { activityType: { name: 'generateRecords' }, attempt: 5, lastFailure: { message: 'Connection error.' } },
    { activityType: { name: 'generateRecords' }, attempt: 1, lastFailure: null },
  ];
  const retrying = retryingActivities('b1:generate', 'generate', pending);
  expect(retrying).toEqual([
    {
      workflowId: 'b1:generate',
      stage: 'generate',
      activity: 'generateRecords',
      attempt: 5,
      lastFailure: 'Connection error.',
    },
  ]);
  const lines = formatSnapshot({
    workflowId: 'b1',
    kind: 'build',
    workflowType: 'buildDatasetWorkflow',
    status: 'RUNNING',
    stage: 'generate',
    stages: [
      {
        stage: 'ingest',
        state: 'done',
        batchesDone: 1,
        batchesTotal: 1,
        counts: { in: 5, kept: 5, dropped: {}, failed: {} },
      },
      {
        stage: 'generate',
        state: 'running',
        batchesDone: 0,
        batchesTotal: 5,
        counts: { in: 0, kept: 0, dropped: {}, failed: {} },
      },
    ],
    retrying: [...retrying, ...retrying, { workflowId: 'b1', activity: 'prepareBuild', attempt: 2 }],
  });
  expect(lines.slice(2)).toEqual([
    expect.stringMatching(/^ {2}generate .* running 0\/5 batches/),
    '    retrying: generateRecords attempt 5: Connection error. (2 activities)',
    '  retrying: prepareBuild attempt 2',
  ]);
});

test('dev tells other shells the database it uses, quoted, and never an API key', () => {
  const env = parseEnv({
    FASFORGE_HOME: '/tmp/my home',
    DATABASE_URL: 'postgres://me:pw@db:5432/fas?sslmode=require&x=1',
    FASFORGE_VISION_API_KEY: 'sk-secret',
  });
  const line = otherShellExports(env, '127.0.0.1:7233');
  expect(line).toBe(
    `export TEMPORAL_ADDRESS=127.0.0.1:7233 FASFORGE_HOME='/tmp/my home' DATABASE_URL='postgres://me:pw@db:5432/fas?sslmode=require&x=1'`,
  );
  expect(otherShellExports(parseEnv({ FASFORGE_HOME: '/tmp/h' }), '127.0.0.1:1')).toBe(
    'export TEMPORAL_ADDRESS=127.0.0.1:1 FASFORGE_HOME=/tmp/h',
  );
  expect(line).not.toContain('sk-secret');
});

test('a loopback TEMPORAL_ADDRESS names the dev server to start; any other host does not', () => {
  expect(localAddressPort('127.0.0.1:18233')).toBe(18233);
  expect(localAddressPort('localhost:7233')).toBe(7233);
  expect(localAddressPort('[::1]:7233')).toBe(7233);
  expect(localAddressPort('temporal.internal:7233')).toBeUndefined();
  expect(localAddressPort('10.0.0.5:7233')).toBeUndefined();
});
