// The streamhil wire protocol, version 1, as JavaScript (docs/protocol.md).
//
// Constants mirror the Python enums in streamhil/protocol/ (tests/web/test_protocol_mirror.py
// checks that the two agree), command builders check field names before anything is sent, and
// error frames become typed errors. No I/O here: connection.js owns the socket.

export const PROTOCOL_VERSION = 1;

/** The `type` of every frame. */
export const MessageType = Object.freeze({
  HELLO: "hello",
  WELCOME: "welcome",
  START_RUN: "start_run",
  RESUME: "resume",
  CANCEL: "cancel",
  SUBSCRIBE: "subscribe",
  UNSUBSCRIBE: "unsubscribe",
  GET_STATE: "get_state",
  GET_HISTORY: "get_history",
  UPDATE_STATE: "update_state",
  LIST_THREADS: "list_threads",
  LIST_GRAPHS: "list_graphs",
  PING: "ping",
  WATCH_THREADS: "watch_threads",
  UNWATCH_THREADS: "unwatch_threads",
  REPLY: "reply",
  ERROR: "error",
  EVENT: "event",
  NOTICE: "notice",
});

/** The `notice` field of notice frames (after `watch_threads`, section 6.3). */
export const NoticeKind = Object.freeze({
  THREAD_CREATED: "thread_created",
  THREAD_STATUS: "thread_status",
  COUNTERS: "counters",
});

/** The JSON types an input field of `list_graphs`' `input_schema` may have (section 4.4). */
export const INPUT_TYPES = Object.freeze(["string", "integer", "number", "boolean", "array", "object", "any"]);

/** The `event` field of event frames. */
export const EventKind = Object.freeze({
  VALUES: "values",
  UPDATES: "updates",
  CUSTOM: "custom",
  MESSAGES: "messages",
  DEBUG: "debug",
  TASKS: "tasks",
  CHECKPOINTS: "checkpoints",
  EVENTS: "events",
  INTERRUPT: "interrupt",
  RUN_STARTED: "run_started",
  RUN_INTERRUPTED: "run_interrupted",
  RUN_DONE: "run_done",
  RUN_ERROR: "run_error",
  RUN_CANCELLED: "run_cancelled",
  STATE_UPDATED: "state_updated",
});

/** The event kinds that end a run (exactly one of them is a run's last event). */
export const TERMINAL_EVENTS = Object.freeze([
  EventKind.RUN_INTERRUPTED,
  EventKind.RUN_DONE,
  EventKind.RUN_ERROR,
  EventKind.RUN_CANCELLED,
]);

export const STREAM_MODES = Object.freeze([
  "values", "updates", "custom", "messages", "debug", "tasks", "checkpoints", "events",
]);
export const DEFAULT_STREAM_MODES = Object.freeze(["values", "updates"]);
export const IF_BUSY_POLICIES = Object.freeze(["reject", "enqueue", "interrupt"]);
export const THREAD_STATUSES = Object.freeze(["idle", "running", "interrupted", "error"]);
export const MAX_ID_LENGTH = 64;

/** The `code` of error frames. */
export const ErrorCode = Object.freeze({
  BAD_JSON: "bad_json",
  BAD_FRAME: "bad_frame",
  FRAME_TOO_LARGE: "frame_too_large",
  UNKNOWN_TYPE: "unknown_type",
  INVALID_FIELD: "invalid_field",
  DUPLICATE_ID: "duplicate_id",
  HELLO_EXPECTED: "hello_expected",
  UNEXPECTED_HELLO: "unexpected_hello",
  NOT_READY: "not_ready",
  UNSUPPORTED_VERSION: "unsupported_version",
  HELLO_TIMEOUT: "hello_timeout",
  UNAUTHENTICATED: "unauthenticated",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  INVALID_ARGUMENT: "invalid_argument",
  THREAD_BUSY: "thread_busy",
  INTERRUPT_PENDING: "interrupt_pending",
  NOTHING_PENDING: "nothing_pending",
  AMBIGUOUS_RESUME: "ambiguous_resume",
  ALREADY_ANSWERED: "already_answered",
  NO_ACTIVE_RUN: "no_active_run",
  ALREADY_SUBSCRIBED: "already_subscribed",
  NOT_SUBSCRIBED: "not_subscribed",
  SLOW_CONSUMER: "slow_consumer",
  HEARTBEAT_TIMEOUT: "heartbeat_timeout",
  INTERNAL_ERROR: "internal_error",
  SHUTTING_DOWN: "shutting_down",
  STORAGE_UNAVAILABLE: "storage_unavailable",
  TOO_MANY_REQUESTS: "too_many_requests",
  TOO_MANY_RUNS: "too_many_runs",
});

export const ErrorFamily = Object.freeze({
  REQUEST: "request",
  AUTH: "auth",
  NOT_FOUND: "not_found",
  INVALID: "invalid",
  CONFLICT: "conflict",
  SERVER: "server",
  LIMIT: "limit",
});

const C = ErrorCode;
const F = ErrorFamily;
/** Error code → family (the family picks the error class). */
export const ERROR_FAMILY = Object.freeze({
  [C.BAD_JSON]: F.REQUEST,
  [C.BAD_FRAME]: F.REQUEST,
  [C.FRAME_TOO_LARGE]: F.REQUEST,
  [C.UNKNOWN_TYPE]: F.REQUEST,
  [C.INVALID_FIELD]: F.REQUEST,
  [C.DUPLICATE_ID]: F.REQUEST,
  [C.HELLO_EXPECTED]: F.REQUEST,
  [C.UNEXPECTED_HELLO]: F.REQUEST,
  [C.NOT_READY]: F.REQUEST,
  [C.UNSUPPORTED_VERSION]: F.REQUEST,
  [C.HELLO_TIMEOUT]: F.REQUEST,
  [C.UNAUTHENTICATED]: F.AUTH,
  [C.FORBIDDEN]: F.AUTH,
  [C.NOT_FOUND]: F.NOT_FOUND,
  [C.INVALID_ARGUMENT]: F.INVALID,
  [C.THREAD_BUSY]: F.CONFLICT,
  [C.INTERRUPT_PENDING]: F.CONFLICT,
  [C.NOTHING_PENDING]: F.CONFLICT,
  [C.AMBIGUOUS_RESUME]: F.CONFLICT,
  [C.ALREADY_ANSWERED]: F.CONFLICT,
  [C.NO_ACTIVE_RUN]: F.CONFLICT,
  [C.ALREADY_SUBSCRIBED]: F.CONFLICT,
  [C.NOT_SUBSCRIBED]: F.CONFLICT,
  [C.SLOW_CONSUMER]: F.SERVER,
  [C.HEARTBEAT_TIMEOUT]: F.SERVER,
  [C.INTERNAL_ERROR]: F.SERVER,
  [C.SHUTTING_DOWN]: F.SERVER,
  [C.STORAGE_UNAVAILABLE]: F.SERVER,
  [C.TOO_MANY_REQUESTS]: F.LIMIT,
  [C.TOO_MANY_RUNS]: F.LIMIT,
});

/** WebSocket close codes (section 8). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  MESSAGE_TOO_BIG: 1009,
  RECONNECT: 4000,
  SLOW_CONSUMER: 4008,
  INTERNAL_ERROR: 4011,
  HEARTBEAT_TIMEOUT: 4012,
  HELLO_EXPECTED: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  HELLO_TIMEOUT: 4408,
  UNSUPPORTED_VERSION: 4426,
  TOO_MANY_ATTEMPTS: 4429,
});

const RECOVERABLE_STANDARD = new Set([1001, 1006, 1011, 1012, 1013]);

/** Whether a client reconnects on its own after a close with `code` (null: the link dropped). */
export function isRecoverable(code) {
  if (code === null || code === undefined) return true;
  if (code >= 4000 && code <= 4399) return true;
  return RECOVERABLE_STANDARD.has(code);
}

/**
 * The fields each command may carry beyond `type` and `id`; `required` lists the mandatory ones.
 * The server rejects unknown fields, so builders refuse them here, before anything is sent.
 */
export const COMMAND_FIELDS = Object.freeze({
  start_run: {
    fields: ["graph", "thread_id", "input", "stream_modes", "config", "interrupt_before",
      "interrupt_after", "checkpoint_id", "if_busy", "subgraphs", "metadata", "context"],
    required: ["graph"],
  },
  resume: {
    fields: ["thread_id", "value", "interrupt_id", "answers", "update", "goto", "stream_modes",
      "if_busy", "context"],
    required: ["thread_id"],
  },
  cancel: { fields: ["thread_id", "run_id"], required: ["thread_id"] },
  subscribe: { fields: ["thread_id", "after", "epoch"], required: ["thread_id"] },
  unsubscribe: { fields: ["thread_id"], required: ["thread_id"] },
  get_state: { fields: ["thread_id", "checkpoint_id"], required: ["thread_id"] },
  get_history: { fields: ["thread_id", "limit", "before"], required: ["thread_id"] },
  update_state: { fields: ["thread_id", "values", "as_node", "checkpoint_id"], required: ["thread_id", "values"] },
  list_threads: { fields: ["status", "graph", "limit", "offset"], required: [] },
  list_graphs: { fields: [], required: [] },
  ping: { fields: ["payload"], required: [] },
  watch_threads: { fields: [], required: [] },
  unwatch_threads: { fields: [], required: [] },
});

// --- errors ---------------------------------------------------------------------------------

/** Base of every error this client raises for a server `error` frame or a connection problem. */
export class StreamhilError extends Error {
  constructor(message, { code = null, id = null, path = null, details = null } = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.id = id;
    this.path = path;
    this.details = details;
  }
}
export class BadRequestError extends StreamhilError {}
export class AuthError extends StreamhilError {}
export class NotFoundError extends StreamhilError {}
export class InvalidArgumentError extends StreamhilError {}
export class ConflictError extends StreamhilError {}
export class ServerError extends StreamhilError {}
/** A server limit refused the command (commands in flight, runs per identity): retry later. */
export class LimitError extends StreamhilError {}
/** The connection dropped before a command was answered; it may or may not have been applied. */
export class ConnectionLostError extends StreamhilError {}
/** The connection is closed for good (terminal close code, or `close()` was called). */
export class ConnectionClosedError extends StreamhilError {}
/** The server broke the protocol (a frame this client cannot read). */
export class ProtocolViolationError extends StreamhilError {}
/** The local program misused the client (unknown field, missing field, bad value). */
export class UsageError extends StreamhilError {}

const FAMILY_CLASS = {
  [F.REQUEST]: BadRequestError,
  [F.AUTH]: AuthError,
  [F.NOT_FOUND]: NotFoundError,
  [F.INVALID]: InvalidArgumentError,
  [F.CONFLICT]: ConflictError,
  [F.SERVER]: ServerError,
  [F.LIMIT]: LimitError,
};

/** The typed error for an `error` frame; unknown codes become a plain StreamhilError. */
export function errorFromFrame(frame) {
  const cls = FAMILY_CLASS[ERROR_FAMILY[frame.code]] ?? StreamhilError;
  return new cls(frame.message || frame.code, {
    code: frame.code,
    id: frame.id ?? null,
    path: frame.path ?? null,
    details: frame.details ?? null,
  });
}

// --- frames ---------------------------------------------------------------------------------

/**
 * The `hello` frame. `batch`: this client accepts several server frames in one WebSocket
 * message, as a JSON array of frames (section 1.1); left out when false.
 */
export function buildHello({ token = null, client = null, batch = false } = {}) {
  const frame = { type: MessageType.HELLO, protocol_version: PROTOCOL_VERSION };
  if (token !== null && token !== undefined) frame.token = token;
  if (client) frame.client = client;
  if (batch) frame.batch = true;
  return frame;
}

/**
 * A command frame `{type, id, ...fields}`. Fields that are `undefined` are left out; `null`
 * is kept only where it means something (resume `value`, update_state `values`).
 */
export function buildCommand(type, id, fields = {}) {
  const spec = COMMAND_FIELDS[type];
  if (!spec) throw new UsageError(`unknown command type ${JSON.stringify(type)}`, { path: "type" });
  if (typeof id !== "string" || id.length < 1 || id.length > MAX_ID_LENGTH) {
    throw new UsageError(`command id must be a string of 1-${MAX_ID_LENGTH} characters`, { path: "id" });
  }
  const frame = { type, id };
  for (const [key, value] of Object.entries(fields)) {
    if (!spec.fields.includes(key)) {
      throw new UsageError(`${type} has no field ${JSON.stringify(key)}`, { path: key });
    }
    if (value === undefined) continue;
    const keepsNull = (type === "resume" && key === "value") || (type === "update_state" && key === "values");
    if (value === null && !keepsNull) continue;
    frame[key] = value;
  }
  for (const key of spec.required) {
    if (!(key in frame)) throw new UsageError(`${type} needs ${JSON.stringify(key)}`, { path: key });
  }
  if (type === "resume") checkResumeForm(frame);
  return frame;
}

function checkResumeForm(frame) {
  const hasValue = "value" in frame;
  const hasAnswers = "answers" in frame;
  if (hasAnswers && (hasValue || "interrupt_id" in frame)) {
    throw new UsageError("resume takes either answers, or value (with an optional interrupt_id)", { path: "answers" });
  }
  if (!hasAnswers && !hasValue) {
    throw new UsageError("resume needs value (null is a real answer) or answers", { path: "value" });
  }
  if (hasAnswers && (typeof frame.answers !== "object" || Object.keys(frame.answers).length === 0)) {
    throw new UsageError("resume answers must be a non-empty object", { path: "answers" });
  }
}

/**
 * Parse one server text frame into an object with a known `type`. Throws
 * ProtocolViolationError for anything else. Unknown fields are kept (and ignored by callers);
 * unknown event kinds pass through (forward compatibility).
 */
export function parseServerFrame(text) {
  return checkServerFrame(parseServerMessage(text));
}

/**
 * Parse one server text message: a frame, or (on a connection that negotiated batching) an
 * array of frames, returned as parsed JSON for `checkServerFrame`. Throws
 * ProtocolViolationError when it is not JSON.
 */
export function parseServerMessage(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolViolationError(`server frame is not JSON: ${err.message}`);
  }
}

/** Check one parsed server frame (see `parseServerFrame`) and return it. */
export function checkServerFrame(frame) {
  if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
    throw new ProtocolViolationError("server frame is not a JSON object");
  }
  switch (frame.type) {
    case MessageType.WELCOME:
      if (typeof frame.epoch !== "string") throw new ProtocolViolationError("welcome without epoch");
      return frame;
    case MessageType.REPLY:
      if (typeof frame.id !== "string") throw new ProtocolViolationError("reply without id");
      return frame;
    case MessageType.ERROR:
      if (typeof frame.code !== "string") throw new ProtocolViolationError("error without code");
      return frame;
    case MessageType.EVENT:
      if (typeof frame.thread_id !== "string" || !Number.isInteger(frame.seq) || typeof frame.event !== "string") {
        throw new ProtocolViolationError("event without thread_id, event or integer seq");
      }
      return frame;
    case MessageType.NOTICE:
      if (typeof frame.notice !== "string") throw new ProtocolViolationError("notice without a notice kind");
      if ((frame.notice === NoticeKind.THREAD_CREATED || frame.notice === NoticeKind.THREAD_STATUS)
          && (typeof frame.thread !== "object" || frame.thread === null || typeof frame.thread.thread_id !== "string")) {
        throw new ProtocolViolationError(`${frame.notice} notice without a thread`);
      }
      return frame;
    default:
      throw new ProtocolViolationError(`unknown server frame type ${JSON.stringify(frame.type)}`);
  }
}

/** Whether an event frame ends its run. */
export function isTerminal(event) {
  return TERMINAL_EVENTS.includes(event.event);
}
