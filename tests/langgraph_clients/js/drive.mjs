// Drives streamhil-server with LangGraph's JS client (@langchain/langgraph-sdk, unchanged):
// the classic HTTP+SSE HITL loop through `Client`, then the v3 thread protocol over a WebSocket.
// Usage: node drive.mjs <base-url> <api-key>; prints one JSON object of observations.
import { Client } from "@langchain/langgraph-sdk";
import WebSocket from "ws";

const [base, apiKey] = process.argv.slice(2);
const client = new Client({ apiUrl: base, apiKey });
const out = {};

async function collect(iterable) {
  const parts = [];
  for await (const part of iterable) parts.push(part);
  return parts;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- classic: Client.threads / Client.runs ---------------------------------------------------
const thread = await client.threads.create({ metadata: { from: "js" } });
const tid = thread.thread_id;
let runIdFromHeader = null;
const first = await collect(client.runs.stream(tid, "approve", {
  input: { request: "js order" },
  streamMode: ["values", "updates"],
  onRunCreated: ({ run_id }) => { runIdFromHeader = run_id; },
}));
out.first_events = first.map((p) => p.event);
out.run_id_matches = first[0].data.run_id === runIdFromHeader;
const lastValues = first.filter((p) => p.event === "values").at(-1).data;
out.interrupt_in_values = lastValues.__interrupt__;
const got = await client.threads.get(tid);
out.thread_status = got.status;
out.thread_interrupts = got.interrupts;
out.thread_metadata = got.metadata;
const iid = lastValues.__interrupt__[0].id;
const resumed = await collect(client.runs.stream(tid, "approve", {
  command: { resume: { [iid]: "approve" } },
  streamMode: "values",
}));
out.final_values = resumed.filter((p) => p.event === "values").at(-1).data;
out.status_after = (await client.threads.get(tid)).status;
try {
  await collect(client.runs.stream(tid, "approve", { command: { resume: { [iid]: "again" } } }));
  out.stale = "accepted";
} catch (err) {
  out.stale = { status: err.status ?? null, message: String(err.message ?? err) };
}
const history = await client.threads.getHistory(tid, { limit: 2 });
out.history_len = history.length;
out.search = (await client.threads.search({ metadata: { graph_id: "approve", from: "js" }, limit: 100 })).map((t) => t.thread_id).includes(tid);

// --- v3 thread protocol over a WebSocket -----------------------------------------------------
// Like a browser, the WebSocket transport sends no headers: the key goes in the URL (?token=).
const wsClient = new Client({ apiUrl: base });
const stream = wsClient.threads.stream({
  assistantId: "approve",
  transport: "websocket",
  webSocketFactory: (url) => {
    const withToken = new URL(url);
    withToken.searchParams.set("token", apiKey);
    return new WebSocket(withToken.toString());
  },
});
const seen = [];
const interrupted = new Promise((resolve) => {
  stream.onEvent((event) => {
    seen.push(event.method + (event.params?.data?.event ? ":" + event.params.data.event : ""));
    if (event.method === "lifecycle" && event.params?.data?.event === "interrupted") resolve();
  });
});
await stream.run.start({ input: { request: "ws order" } });
await withTimeout(interrupted, 15000, "the v3 interrupt");
out.v3_interrupts = stream.interrupts.map((i) => ({ ...i }));
await stream.input.respond({
  interrupt_id: stream.interrupts[0].interruptId,
  namespace: stream.interrupts[0].namespace,
  response: "approve",
});
out.v3_output = await withTimeout(stream.output, 15000, "the v3 output");
out.v3_events = seen;
out.v3_thread = stream.threadId;
await stream.close?.();
console.log(JSON.stringify(out));
process.exit(0);
