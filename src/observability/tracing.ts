import {
  context,
  defaultTextMapGetter,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { randomHex128 } from '../common/uuid.js';
import { OAuthError } from '../oauth/oauth-error.js';
import type { RefusalStep } from './metrics.js';

/**
 * Tracing through the OpenTelemetry API only: without an SDK registered every span is a no-op, and an
 * operator who registers one (e.g. `node --import` of a setup file) gets the span tree below.
 */
const tracer = trace.getTracer('actbridge');
// The W3C Trace Context header is read by this propagator itself, not the global one: with no SDK the
// global propagator is a no-op, and the incoming trace id must still reach the audit line.
const w3c = new W3CTraceContextPropagator();

/** The API's no-op provider: what the global provider delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/** The span of every request while no SDK is registered (records nothing, like the API's own). */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether an SDK is registered. Without one every span is a no-op, so the span and context work is
 * skipped (an async wrapper per step is most of the observability cost of a request otherwise).
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

const steps = new WeakMap<object, RefusalStep>();

/** The step that refused a request: the innermost step the error passed through (`request` if none). */
export function stepOf(error: unknown): RefusalStep {
  return (typeof error === 'object' && error !== null && steps.get(error)) || 'request';
}

/** Marks `error` as refused at `step`, unless an inner step already did. */
export function tagStep(error: unknown, step: RefusalStep): void {
  if (typeof error === 'object' && error !== null && !steps.has(error)) steps.set(error, step);
}

function failed(span: Span, error: unknown): void {
  // The OAuth code only: descriptions and stacks stay in logs, and a span never carries a token.
  const code = error instanceof OAuthError ? error.error : 'internal_error';
  span.setAttribute('oauth.error', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/** The server span of one request and the trace id its audit line carries. */
export interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  /** The span's trace id; without an SDK, the caller's (traceparent) or a new random one. */
  readonly traceId: string;
}

/** Starts the server span of a request, as a child of the caller's W3C `traceparent` when valid. */
export function startRequestSpan(
  name: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  attributes?: Attributes,
): RequestTrace {
  const parent = callerContext(headers);
  if (!tracing()) return { span: NO_SPAN, context: parent, traceId: traceIdIn(parent) };
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  const spanContext = span.spanContext();
  const traceId = isSpanContextValid(spanContext) ? spanContext.traceId : randomHex128();
  return { span, context: trace.setSpan(parent, span), traceId };
}

/**
 * The trace id of a request that has no span of its own (introspection, revocation, a refusal before
 * its handler): the caller's valid W3C `traceparent`'s, else a new random one, so that its audit line
 * can be matched with the caller's trace like the token endpoint's.
 */
export function callerTraceId(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  return traceIdIn(callerContext(headers));
}

function callerContext(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return headers.traceparent === undefined ? ROOT_CONTEXT : w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

function traceIdIn(parent: Context): string {
  const caller = trace.getSpanContext(parent);
  return caller && isSpanContextValid(caller) ? caller.traceId : randomHex128();
}

/** Ends a request's server span, failed when `error` is given. */
export function endRequestSpan(request: RequestTrace, error?: unknown): void {
  if (error !== undefined) failed(request.span, error);
  request.span.end();
}

/** Runs `fn` inside `request`'s span (its children and outgoing calls are parented to it). */
export function withinRequest<T>(request: RequestTrace, fn: () => T): T {
  return tracing() ? context.with(request.context, fn) : fn();
}

/** Runs `fn` in a child span `name`; an error it throws is marked as refused at `step`. */
export async function inSpan<T>(
  name: string,
  step: RefusalStep | undefined,
  fn: () => Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  if (!tracing()) return step === undefined ? fn() : atStep(step, fn);
  const span = tracer.startSpan(name, { attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (error) {
    if (step) tagStep(error, step);
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** inSpan for synchronous work (the policy decision). */
export function inSpanSync<T>(name: string, step: RefusalStep, fn: () => T, attributes?: Attributes): T {
  if (!tracing()) {
    try {
      return fn();
    } catch (error) {
      tagStep(error, step);
      throw error;
    }
  }
  const span = tracer.startSpan(name, { attributes });
  try {
    return context.with(trace.setSpan(context.active(), span), fn);
  } catch (error) {
    tagStep(error, step);
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks an error `fn` throws as refused at `step`, without a span (cheap checks). */
export function atStep<T>(step: RefusalStep, fn: () => Promise<T>): Promise<T> {
  // Not an async function: one promise per step instead of two, on every request's path.
  let result: Promise<T>;
  try {
    result = fn();
  } catch (error) {
    tagStep(error, step);
    return Promise.reject(error);
  }
  return result.catch((error: unknown) => {
    tagStep(error, step);
    throw error;
  });
}
