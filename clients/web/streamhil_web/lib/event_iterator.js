// An async iterator over one thread's events, fed by the connection: items queue until asked
// for; `untilTerminal` ends it after the next terminal run event; `fail` ends it with an error.

import { isTerminal } from "./protocol.js";

export class EventIterator {
  constructor(onDone, untilTerminal) {
    this._queue = [];
    this._waiting = null;
    this._done = false;
    this._error = null;
    this._onDone = onDone;
    this._untilTerminal = untilTerminal;
    this._sawTerminal = false;
  }

  push(item) {
    if (this._done || this._sawTerminal) return;
    if (this._untilTerminal && item.type === "event" && isTerminal(item)) this._sawTerminal = true;
    if (this._waiting) {
      const { resolve } = this._waiting;
      this._waiting = null;
      resolve({ value: item, done: false });
    } else {
      this._queue.push(item);
    }
  }

  end() {
    this._finish(null);
  }

  fail(error) {
    this._finish(error);
  }

  _finish(error) {
    if (this._done) return;
    this._done = true;
    this._error = error;
    this._onDone();
    if (this._waiting) {
      const { resolve, reject } = this._waiting;
      this._waiting = null;
      if (error) reject(error);
      else resolve({ value: undefined, done: true });
    }
  }

  next() {
    if (this._queue.length) return Promise.resolve({ value: this._queue.shift(), done: false });
    if (this._sawTerminal || this._done) {
      if (!this._done) this._finish(null);
      if (this._error) {
        const error = this._error;
        this._error = null;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => { this._waiting = { resolve, reject }; });
  }

  return() {
    this._queue = [];
    this._finish(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
