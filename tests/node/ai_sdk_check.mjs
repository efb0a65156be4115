// The Vercel AI SDK (`ai` + `@ai-sdk/openai`), unmodified, against the running gateway.
// Usage: node ai_sdk_check.mjs <gateway base URL, ending in /v1> [case,case,...]
// Runs every case (or the ones named), in the order listed below, and prints ONE JSON line:
// {"<case>": {...what came back...} | {"error": {...}}, ...}. A failing case never stops the others.
import { createOpenAI } from "@ai-sdk/openai";
import { embedMany, generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const [baseURL, only] = process.argv.slice(2);
// What the SDK sent (method, path, JSON body), to show the wire format; the fetch itself is the global one.
const sent = [];
const recordingFetch = async (url, init) => {
  const body = typeof init?.body === "string" ? JSON.parse(init.body) : null;
  sent.push({ method: init?.method ?? "GET", path: new URL(url).pathname, body });
  return fetch(url, init);
};
const openai = createOpenAI({ baseURL, apiKey: "anything", fetch: recordingFetch });
const MODEL = "openai/gpt-4o-mini";
const seenArgs = [];

const weather = tool({
  description: "Current weather for a city",
  inputSchema: z.object({ city: z.string().describe("City name") }),
  execute: async ({ city }) => {
    seenArgs.push({ city });
    return { city, celsius: 21 };
  },
});

const usageOf = (u) => (u ? {
  input: u.inputTokens, output: u.outputTokens, total: u.totalTokens,
  cached: u.inputTokenDetails?.cacheReadTokens ?? null, reasoning: u.outputTokenDetails?.reasoningTokens ?? null,
} : null);

const stepsOf = (steps) => steps.map((s) => ({
  finishReason: s.finishReason,
  text: s.text,
  toolCalls: s.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input })),
  toolResults: s.toolResults.map((r) => ({ id: r.toolCallId, output: r.output })),
}));

async function generate(model, prompt) {
  const r = await generateText({ model, prompt, maxRetries: 0 });
  return { text: r.text, finishReason: r.finishReason, usage: usageOf(r.usage), responseId: r.response?.id };
}

async function stream(model, prompt) {
  const errors = [];
  const r = streamText({ model, prompt, maxRetries: 0, onError: ({ error }) => errors.push(String(error)) });
  const deltas = [];
  for await (const delta of r.textStream) deltas.push(delta);
  return {
    text: deltas.join(""), deltas: deltas.length, finishReason: await r.finishReason,
    usage: usageOf(await r.usage), totalUsage: usageOf(await r.totalUsage), errors,
  };
}

async function generateWithTool(model, prompt) {
  seenArgs.length = 0;
  const r = await generateText({ model, prompt, tools: { weather }, stopWhen: stepCountIs(2), maxRetries: 0 });
  return { text: r.text, steps: stepsOf(r.steps), executed: [...seenArgs], totalUsage: usageOf(r.totalUsage) };
}

async function streamWithTool(model, prompt) {
  seenArgs.length = 0;
  const errors = [];
  const r = streamText({ model, prompt, tools: { weather }, stopWhen: stepCountIs(2), maxRetries: 0,
                         onError: ({ error }) => errors.push(String(error)) });
  const deltas = [];
  for await (const delta of r.textStream) deltas.push(delta);
  return { text: deltas.join(""), steps: stepsOf(await r.steps), executed: [...seenArgs],
           totalUsage: usageOf(await r.totalUsage), errors };
}

async function embed(model) {
  const r = await embedMany({ model, values: ["a", "b", "c"], maxRetries: 0 });
  return { sizes: r.embeddings.map((e) => e.length), first: r.embeddings[0].slice(0, 2), tokens: r.usage?.tokens };
}

const cases = {
  responses_generate: () => generate(openai(MODEL), "hello responses"),
  responses_stream: () => stream(openai(MODEL), "stream the responses api"),
  responses_tool: () => generateWithTool(openai(MODEL), "weather in Paris?"),
  responses_tool_after_text: () => generateWithTool(openai(MODEL), "weather in Paris?"),
  responses_tool_stream: () => streamWithTool(openai(MODEL), "weather in Paris?"),
  chat_generate: () => generate(openai.chat(MODEL), "hello chat"),
  chat_stream: () => stream(openai.chat(MODEL), "stream the chat api"),
  chat_tool: () => generateWithTool(openai.chat(MODEL), "weather in Paris?"),
  chat_tool_stream: () => streamWithTool(openai.chat(MODEL), "weather in Paris?"),
  embed_many: () => embed(openai.embedding("openai/text-embedding-3-small")),
};

const describe = (error) => ({
  name: error?.name, message: String(error?.message ?? error), statusCode: error?.statusCode,
  responseBody: error?.responseBody, url: error?.url,
  cause: error?.cause ? String(error.cause?.message ?? error.cause) : undefined,
});

const out = {};
for (const name of only ? only.split(",") : Object.keys(cases)) {
  if (!cases[name]) {
    out[name] = { error: { message: `unknown case ${name}` } };
    continue;
  }
  sent.length = 0;
  try {
    out[name] = await cases[name]();
  } catch (error) {
    out[name] = { error: describe(error) };
  }
  out[name].sent = [...sent];
}
console.log(JSON.stringify(out));
