// The client's side of one connection as a pure state machine — no socket, no timers — in the
// manner of the Python `streamhil.protocol.ClientSession`: it builds the frames to send (the
// hello first), numbers commands, reads each frame received and says what it is. The I/O around
// it (lib/connection.js) writes what `dataToSend()` returns and acts on what `receive()` says.

import { MessageType, ProtocolViolationError, buildCommand, buildHello, parseServerFrame } from "./protocol.js";

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
  /** @param {{token?: string|null, client?: object|null}} [hello] what the hello carries */
  constructor({ token = null, client = null } = {}) {
    this.welcome = null;
    this._nextId = 1;
    this._pending = new Map(); // id -> command type, for commands sent and not yet answered
    this._out = [JSON.stringify(buildHello({ token, client }))];
  }

  /** Whether the server's `welcome` has arrived. */
  get open() {
    return this.welcome !== null;
  }

  /** How many commands wait for an answer. */
  get inFlight() {
    return this._pending.size;
  }

  /**
   * Queue a command and return its id. Throws UsageError (before queuing anything) when the
   * fields do not fit the command.
   */
  send(type, fields = {}) {
    let id;
    do {
      id = String(this._nextId++);
    } while (this._pending.has(id));
    const frame = buildCommand(type, id, fields);
    this._pending.set(id, type);
    this._out.push(JSON.stringify(frame));
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
   * Read one frame from the server (`text`, or null for a binary frame): returns
   * `{kind, frame, id, error}` with `kind` one of `Received`.
   */
  receive(text) {
    if (text === null) return violation("binary frame from the server");
    let frame;
    try {
      frame = parseServerFrame(text);
    } catch (err) {
      return violation(err.message);
    }
    switch (frame.type) {
      case MessageType.WELCOME:
        if (this.welcome !== null) return violation("a second welcome on one connection");
        this.welcome = frame;
        return { kind: Received.WELCOME, frame };
      case MessageType.REPLY:
      case MessageType.ERROR: {
        const id = frame.id ?? null;
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
}

function violation(message) {
  return { kind: Received.VIOLATION, error: new ProtocolViolationError(message, { code: "protocol_error" }) };
}
