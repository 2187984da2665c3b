// The client's side of one connection as a pure state machine — no socket, no timers — in the
// manner of the Python `streamhil.protocol.ClientSession`: it builds the frames to send (the
// hello first), numbers commands, reads each frame received and says what it is. The I/O around
// it (lib/connection.js) writes what `dataToSend()` returns and acts on what `receive()` says.

import {
  BadRequestError,
  ErrorCode,
  MessageType,
  ProtocolViolationError,
  buildCommand,
  buildHello,
  checkServerFrame,
  parseServerMessage,
} from "./protocol.js";

/** What a received frame turned out to be (`receive()`'s `kind`). */
export const Received = Object.freeze({
  WELCOME: "welcome",
  REPLY: "reply", // the answer to a command this session sent: `id`, `frame.result`
  ERROR: "error", // `id` is the command it answers, or null for a connection-level error
  EVENT: "event",
  NOTICE: "notice",
  STALE: "stale", // an answer to a command no longer waited for (it timed out here)
  VIOLATION: "violation", // the server broke the protocol: `error` says how; close with 1002
});

export class ClientSession {
  /**
   * @param {{token?: string|null, client?: object|null, batch?: boolean}} [hello] what the hello
   *   carries; `batch`: ask the server for batched messages (several frames in a JSON array)
   */
  constructor({ token = null, client = null, batch = false } = {}) {
    this.welcome = null;
    this.batch = batch;
    this._nextId = 1;
    this._pending = new Map(); // id -> {type, length}, for commands sent and not yet answered
    this._out = [JSON.stringify(buildHello({ token, client, batch }))];
  }

  /** Whether the server's `welcome` has arrived. */
  get open() {
    return this.welcome !== null;
  }

  /** Whether the server may send several frames in one message (the welcome agreed to it). */
  get batched() {
    return this.welcome?.batch === true;
  }

  /** How many commands wait for an answer. */
  get inFlight() {
    return this._pending.size;
  }

  /**
   * Queue a command and return its id. Throws (before queuing anything) UsageError when the
   * fields do not fit the command, and BadRequestError `frame_too_large` when its frame is
   * larger than the welcome's `limits.max_frame_bytes` (the server would refuse it).
   */
  send(type, fields = {}) {
    let id;
    do {
      id = String(this._nextId++);
    } while (this._pending.has(id));
    const text = JSON.stringify(buildCommand(type, id, fields));
    const limit = this.welcome?.limits?.max_frame_bytes;
    if (Number.isInteger(limit)) {
      const size = frameTooLarge(text, limit);
      if (size !== null) {
        throw new BadRequestError(
          `${type} is ${size} bytes as a frame, more than the server takes (max_frame_bytes=${limit})`,
          { code: ErrorCode.FRAME_TOO_LARGE, details: { max_frame_bytes: limit, frame_bytes: size } },
        );
      }
    }
    this._pending.set(id, { type, length: text.length });
    this._out.push(text);
    return id;
  }

  /** Stop waiting for the answer to `id` (it timed out); a late answer is then `stale`. */
  forget(id) {
    this._pending.delete(id);
  }

  /** The frames to write to the socket, in order (each returned once). */
  dataToSend() {
    const out = this._out;
    this._out = [];
    return out;
  }

  /**
   * Read one message from the server (`text`, or null for a binary message): a frame, or when
   * batching was negotiated a JSON array of frames. Returns what `receive()` returns for each
   * frame, in order; a violation is the last item (the frames after it are not read).
   */
  receiveMessage(text) {
    if (text === null) return [violation("binary frame from the server")];
    let message;
    try {
      message = parseServerMessage(text);
    } catch (err) {
      return [violation(err.message)];
    }
    if (!Array.isArray(message)) return [this._receiveFrame(message)];
    if (!this.batched) {
      return [violation("the server sent a JSON array (a batch of frames), which this connection did not negotiate")];
    }
    if (message.length === 0) return [violation("the server sent an empty batch of frames")];
    const out = [];
    for (const frame of message) {
      const received = this._receiveFrame(frame);
      out.push(received);
      if (received.kind === Received.VIOLATION) break;
    }
    return out;
  }

  /**
   * Read one frame from the server (`text`, or null for a binary frame): returns
   * `{kind, frame, id, error}` with `kind` one of `Received`. A batched message is a violation
   * here: the I/O reads messages with `receiveMessage()`.
   */
  receive(text) {
    if (text === null) return violation("binary frame from the server");
    let frame;
    try {
      frame = parseServerMessage(text);
    } catch (err) {
      return violation(err.message);
    }
    return this._receiveFrame(frame);
  }

  _receiveFrame(parsed) {
    let frame;
    try {
      frame = checkServerFrame(parsed);
    } catch (err) {
      return violation(err.message);
    }
    switch (frame.type) {
      case MessageType.WELCOME:
        if (this.welcome !== null) return violation("a second welcome on one connection");
        if (frame.batch === true && !this.batch) return violation("the server turned batching on, which the hello did not ask for");
        this.welcome = frame;
        return { kind: Received.WELCOME, frame };
      case MessageType.REPLY:
      case MessageType.ERROR: {
        const id = frame.id ?? this._oversizeCommand(frame);
        if (!this.open && frame.type === MessageType.REPLY) return violation("a reply before welcome");
        if (id === null) return { kind: Received.ERROR, frame, id: null };
        if (!this._pending.delete(id)) return { kind: Received.STALE, frame, id };
        return { kind: frame.type === MessageType.REPLY ? Received.REPLY : Received.ERROR, frame, id };
      }
      case MessageType.EVENT:
        return { kind: Received.EVENT, frame };
      case MessageType.NOTICE:
        return { kind: Received.NOTICE, frame };
      default:
        return violation(`unsupported frame type ${frame.type}`);
    }
  }

  /**
   * The command an id-less `frame_too_large` is about: a server that cannot read the id of a
   * frame it refused for its size answers without one, and that command gets no other answer.
   * It is the largest one waiting (`send()` refuses what it knows to be too large, so this only
   * happens when the server counts differently); null for other errors, or before `welcome`.
   */
  _oversizeCommand(frame) {
    if (frame.type !== MessageType.ERROR || frame.code !== ErrorCode.FRAME_TOO_LARGE || !this.open) return null;
    let largest = null;
    for (const [id, { length }] of this._pending) {
      if (largest === null || length > largest.length) largest = { id, length };
    }
    return largest?.id ?? null;
  }
}

/** The size in UTF-8 bytes of `text` when it is larger than `limit`, else null. */
function frameTooLarge(text, limit) {
  if (text.length * 3 <= limit) return null; // a UTF-16 unit is at most 3 bytes of UTF-8
  const size = new TextEncoder().encode(text).length;
  return size > limit ? size : null;
}

function violation(message) {
  return { kind: Received.VIOLATION, error: new ProtocolViolationError(message, { code: "protocol_error" }) };
}
