// One chat, one stream and one embeddings call through the official openai Node SDK.
// Usage: node sdk_check.mjs <gateway base URL>; prints one JSON line with what came back.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "anything", maxRetries: 0 });
const messages = [{ role: "user", content: "hello from node" }];

const chat = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages });
let streamed = "";
let chunks = 0;
const stream = await client.chat.completions.create({ model: "openai/gpt-4o-mini", messages, stream: true });
for await (const chunk of stream) {
  chunks += 1;
  streamed += chunk.choices[0]?.delta?.content ?? "";
}
const embeddings = await client.embeddings.create({ model: "openai/text-embedding-3-small", input: ["a", "b"] });
console.log(JSON.stringify({
  chat: chat.choices[0].message.content,
  usage: chat.usage.total_tokens,
  streamed,
  chunks,
  embeddings: embeddings.data.map((d) => d.embedding.length),
  first: embeddings.data[0].embedding.slice(0, 2),
}));
