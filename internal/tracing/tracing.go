// Package tracing sets up OpenTelemetry for a zuora-sync process and carries W3C trace context across its
// boundaries: the CloudEvents distributed-tracing extension (traceparent/tracestate) of the events it reads and
// publishes, and the traceparent header of the HTTP requests it makes and receives.
//
// Spans are always created, so every hop gets its own span id under the caller's trace id; they are exported over
// OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, and dropped
// otherwise.
package tracing

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of zuora-sync's spans.
const Name = "github.com/zuora-sync/zuora-sync"

// propagator reads and writes traceparent and tracestate.
var propagator = propagation.TraceContext{}

// Setup installs the process's tracer provider. It exports spans over OTLP/HTTP when the standard OTLP endpoint
// variables are set (the exporter reads them, with OTEL_EXPORTER_OTLP_HEADERS and the rest); otherwise spans are
// kept in-process only long enough to give each hop its ids. The returned function flushes and stops the provider.
func Setup(ctx context.Context, service string) (func(context.Context) error, error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	exporting := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	if exporting {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	opts = append(opts, sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	return tp.Shutdown, nil
}

// Tracer is zuora-sync's tracer from the installed provider (a no-op one until Setup runs, which still carries a
// caller's trace context through).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// mapCarrier adapts a traceparent/tracestate pair to the propagator.
type mapCarrier map[string]string

func (m mapCarrier) Get(k string) string { return m[k] }
func (m mapCarrier) Set(k, v string)     { m[k] = v }
func (m mapCarrier) Keys() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ContextWithParent returns ctx carrying the remote span context of traceparent/tracestate (as an event's
// distributed-tracing extension holds them); ctx unchanged when traceparent is empty or malformed.
func ContextWithParent(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagator.Extract(ctx, mapCarrier{"traceparent": traceparent, "tracestate": tracestate})
}

// Parent returns the traceparent and tracestate of ctx's current span, for an event or request that continues
// it; "" when ctx carries no valid span context.
func Parent(ctx context.Context) (traceparent, tracestate string) {
	c := mapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"], c["tracestate"]
}

// TraceID is the hex trace id of ctx's span, "" without one (for log lines).
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// End records err on span (when not nil) and ends it.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Attr is a shorthand for a string attribute.
func Attr(k, v string) attribute.KeyValue { return attribute.String(k, v) }
