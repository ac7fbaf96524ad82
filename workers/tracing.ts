/**
 * OpenTelemetry tracing through Temporal's interceptors, switched by FASFORGE_TRACING: `console`
 * prints finished spans, `otlp` sends them to an OTLP/HTTP collector, `off` (the default) adds
 * nothing. One tracer provider per process; client calls, workflow code (through the interceptors'
 * workflow module and its span sink) and activities each open spans in one trace per build.
 */
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { FasforgeEnv } from '../config/env';

export const WORKFLOW_TRACING_MODULE =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface Tracing {
  tracer: Tracer;
  resource: Resource;
  processor: SpanProcessor;
  /** Interceptors and the span sink for `Worker.create`; workflow bundles must include WORKFLOW_TRACING_MODULE. */
  workerOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  clientInterceptors(): ClientInterceptors;
  /** Flushes spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

let current: Tracing | undefined;

/**
 * Installs tracing for this process as the environment asks, or with the given exporter (tests
 * pass an in-memory one). Returns undefined when tracing is off; later calls return the first.
 */
export function setupTracing(
  env: FasforgeEnv,
  opts: { exporter?: SpanExporter; service?: string } = {},
): Tracing | undefined {
  if (current) return current;
  if (!opts.exporter && env.tracing.mode === 'off') return undefined;
  const resource = resourceFromAttributes({ 'service.name': opts.service ?? 'fasforge' });
  const processor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : env.tracing.mode === 'console'
      ? new SimpleSpanProcessor(new StderrSpanExporter())
      : new BatchSpanProcessor(
          new OTLPTraceExporter(env.tracing.otlpEndpoint ? { url: env.tracing.otlpEndpoint } : {}),
        );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Registering installs the async context manager that carries a span across awaits.
  provider.register();
  const tracer = provider.getTracer('fasforge');
  current = {
    tracer,
    resource,
    processor,
    workerOptions: () => ({
      interceptors: {
        workflowModules: [WORKFLOW_TRACING_MODULE],
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(workflowSpanAdapter(processor) as never, resource as never) },
    }),
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] }),
    shutdown: () => provider.shutdown(),
  };
  return current;
}

/**
 * `console` mode: one JSON line per finished span on stderr, so that stdout stays what commands
 * print for scripts (a build id, `--json` output).
 */
class StderrSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    for (const s of spans) {
      const ctx = s.spanContext();
      const line = {
        span: s.name,
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        ms: Math.round((s.duration[0] * 1e3 + s.duration[1] / 1e6) * 10) / 10,
        status: s.status.code === 2 ? 'error' : 'ok',
        attributes: s.attributes,
      };
      process.stderr.write(`trace ${JSON.stringify(line)}\n`);
    }
    done({ code: 0 });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Workflow spans are made inside the workflow sandbox by the interceptors package's own (1.x)
 * OpenTelemetry SDK; this gives them the 2.x field names the exporters here read.
 */
function workflowSpanAdapter(processor: SpanProcessor): { onEnd(span: unknown): void } {
  return {
    onEnd(span: unknown) {
      const s = span as ReadableSpan & {
        instrumentationLibrary?: ReadableSpan['instrumentationScope'];
        parentSpanId?: string;
      };
      const ctx = s.spanContext();
      const adapted = Object.assign(Object.create(s) as ReadableSpan, {
        instrumentationScope: s.instrumentationScope ?? s.instrumentationLibrary ?? { name: 'temporal-workflow' },
        parentSpanContext:
          s.parentSpanContext ??
          (s.parentSpanId ? { traceId: ctx.traceId, spanId: s.parentSpanId, traceFlags: ctx.traceFlags } : undefined),
      });
      processor.onEnd(adapted);
    },
  };
}

/** The tracing installed in this process, if any. */
export function activeTracing(): Tracing | undefined {
  return current;
}
