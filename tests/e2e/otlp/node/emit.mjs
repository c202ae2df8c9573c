// An app traced by the OpenTelemetry JS SDK: one chat turn in the GenAI semantic conventions
// (gen_ai.input.messages / gen_ai.output.messages, session.id and user.id on the chat span) and
// one in OpenLLMetry's indexed attributes (gen_ai.prompt.N.*, traceloop association properties),
// exported over OTLP/HTTP (JSON, gzip) by @opentelemetry/exporter-trace-otlp-http.
// Usage: node emit.mjs <receiver base URL>; prints {"semconv": traceId, "openllmetry": traceId}.
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const [endpoint] = process.argv.slice(2);
const exporter = new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, compression: "gzip" });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": "node-chat", "service.version": "0.9.0" }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
const tracer = provider.getTracer("phospho-e2e");

function turn(llmName, attributes) {
  const request = tracer.startSpan("POST /chat", { kind: SpanKind.SERVER, attributes: { "http.route": "/chat" } });
  const llm = tracer.startSpan(llmName, { kind: SpanKind.CLIENT, attributes }, trace.setSpan(context.active(), request));
  llm.setStatus({ code: SpanStatusCode.OK });
  llm.end();
  request.end();
  return request.spanContext().traceId;
}

const text = (content) => [{ type: "text", content }];
const semconv = turn("chat gpt-4o-mini", {
  "gen_ai.operation.name": "chat",
  "gen_ai.provider.name": "openai",
  "gen_ai.request.model": "gpt-4o-mini",
  "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
  "gen_ai.usage.input_tokens": 1350,
  "gen_ai.usage.output_tokens": 18,
  "gen_ai.usage.cache_read.input_tokens": 1024,
  "gen_ai.response.finish_reasons": ["stop"],
  "session.id": "node-session-1",
  "user.id": "node-user-1",
  "gen_ai.input.messages": JSON.stringify([
    { role: "system", parts: text("You are a concise cooking assistant.") },
    { role: "user", parts: text("How long do I boil an egg?") },
  ]),
  "gen_ai.output.messages": JSON.stringify([
    { role: "assistant", parts: text("Nine minutes for a hard-boiled egg."), finish_reason: "stop" },
  ]),
});
const openllmetry = turn("openai.chat", {
  "llm.request.type": "chat",
  "gen_ai.system": "OpenAI",
  "gen_ai.request.model": "gpt-4o-mini",
  "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
  "gen_ai.prompt.0.role": "user",
  "gen_ai.prompt.0.content": "And a soft-boiled one?",
  "gen_ai.completion.0.role": "assistant",
  "gen_ai.completion.0.content": "Six minutes.",
  "gen_ai.usage.prompt_tokens": 40,
  "gen_ai.usage.completion_tokens": 4,
  "llm.usage.total_tokens": 44,
  "traceloop.association.properties.session_id": "node-session-1",
  "traceloop.association.properties.user_id": "node-user-1",
});

await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ semconv, openllmetry }));
