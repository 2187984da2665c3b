// Prints, as JSON, what clients/web/streamhil_web/lib/protocol.js defines and the frames its
// builders produce, for tests/web/test_protocol_mirror.py to compare with the Python side.
import * as P from "../../clients/web/streamhil_web/lib/protocol.js";

const sample = {
  start_run: { graph: "g", thread_id: "t", input: { a: 1 }, stream_modes: ["values", "updates"], config: { recursion_limit: 5 },
    interrupt_before: ["n"], interrupt_after: "*", checkpoint_id: "c", if_busy: "enqueue", subgraphs: false, metadata: { k: "v" } },
  resume: { thread_id: "t", interrupt_id: "i", value: null, update: { a: 2 }, goto: "n", stream_modes: ["updates"], if_busy: "enqueue" },
  cancel: { thread_id: "t", run_id: "r" },
  subscribe: { thread_id: "t", after: 3, epoch: "e" },
  unsubscribe: { thread_id: "t" },
  get_state: { thread_id: "t", checkpoint_id: "c" },
  get_history: { thread_id: "t", limit: 5, before: "c" },
  update_state: { thread_id: "t", values: null, as_node: "n", checkpoint_id: "c" },
  list_threads: { status: ["idle", "error"], graph: "g", limit: 10, offset: 2 },
  list_graphs: {},
  ping: { payload: [1, "two"] },
  watch_threads: {},
  unwatch_threads: {},
};
const frames = Object.fromEntries(Object.entries(sample).map(([type, fields]) => [type, P.buildCommand(type, "7", fields)]));
frames.resume_answers = P.buildCommand("resume", "8", { thread_id: "t", answers: { i1: "yes", i2: null } });

// server frames encoded by the Python side (argv[2], a JSON list of frame texts), as parsed here
const serverFrames = JSON.parse(process.argv[2] ?? "[]").map((text) => {
  try {
    const frame = P.parseServerFrame(text);
    return { ok: true, type: frame.type, notice: frame.notice ?? null };
  } catch (err) {
    return { ok: false, error: err.message };
  }
});

console.log(JSON.stringify({
  serverFrames,
  PROTOCOL_VERSION: P.PROTOCOL_VERSION,
  MessageType: P.MessageType,
  EventKind: P.EventKind,
  NoticeKind: P.NoticeKind,
  INPUT_TYPES: P.INPUT_TYPES,
  ErrorCode: P.ErrorCode,
  ErrorFamily: P.ErrorFamily,
  ERROR_FAMILY: P.ERROR_FAMILY,
  CloseCode: P.CloseCode,
  STREAM_MODES: P.STREAM_MODES,
  DEFAULT_STREAM_MODES: P.DEFAULT_STREAM_MODES,
  IF_BUSY_POLICIES: P.IF_BUSY_POLICIES,
  MAX_ID_LENGTH: P.MAX_ID_LENGTH,
  COMMAND_FIELDS: P.COMMAND_FIELDS,
  TERMINAL_EVENTS: P.TERMINAL_EVENTS,
  recoverable: Object.fromEntries([null, 1000, 1001, 1002, 1006, 1009, 1011, 1012, 1013, 4000, 4008, 4011, 4012, 4399, 4400, 4401, 4403, 4408, 4426]
    .map((c) => [String(c), P.isRecoverable(c)])),
  hello: P.buildHello({ token: "tok", client: { name: "streamhil-js", version: "0.1.0" } }),
  frames,
}));
