// The client's heartbeat: when nothing was sent for an interval, send a ping; when a ping gets
// no answer (nor any other frame) within an interval, the socket is taken for dead and dropped,
// so the connection reconnects without waiting for TCP to notice.

export class Heartbeat {
  /**
   * @param {object} io  `isOpen()`, `lastSent()` (ms timestamp of the last frame written),
   *   `ping()` (send one, at once), `abandon(reason)` (drop the socket and reconnect)
   */
  constructor(io) {
    this.io = io;
    this._timer = null;
    this._probe = null;
    this._pingSentAt = null;
  }

  /** Start beating every `intervalMs` (nothing when it is falsy); restarts a running one. */
  start(intervalMs) {
    this.stop();
    if (!intervalMs) return;
    const tick = Math.max(10, Math.floor(intervalMs / 2));
    this._timer = setInterval(() => {
      if (!this.io.isOpen()) return;
      const now = Date.now();
      if (this._pingSentAt !== null && now - this._pingSentAt >= intervalMs) {
        this.io.abandon("heartbeat: no answer from the server");
        return;
      }
      if (this._pingSentAt === null && now - this.io.lastSent() >= intervalMs) {
        this._pingSentAt = now;
        this.io.ping();
      }
    }, tick);
  }

  /**
   * Check the link now (the browser went offline or online): ping at once, and drop the socket
   * when nothing at all arrives within `timeoutMs`.
   */
  probe(timeoutMs) {
    if (!this.io.isOpen() || this._probe !== null) return;
    this._probe = setTimeout(() => {
      this._probe = null;
      if (this.io.isOpen()) this.io.abandon("probe: no answer from the server");
    }, timeoutMs);
    this.io.ping();
  }

  /** Anything received proves the link is alive. */
  alive() {
    this._pingSentAt = null;
    clearTimeout(this._probe);
    this._probe = null;
  }

  stop() {
    clearInterval(this._timer);
    clearTimeout(this._probe);
    this._timer = null;
    this._probe = null;
    this._pingSentAt = null;
  }
}
