// What the chat tab keeps in sessionStorage so a reload picks up where it was: the open thread,
// the events it has rendered (replayed locally, then the connection asks only for what was
// missed), and the interrupts this tab answered (so a replayed answer reads "you", not "answered
// elsewhere"). Best effort throughout: a full or blocked storage only costs a longer replay.

const CURRENT_KEY = "streamhil.chat.current";
const LOG_PREFIX = "streamhil.chat.log.";
const MAX_CACHED_EVENTS = 500;
const MINE_KEY = "streamhil.chat.mine";
const MAX_MINE = 500;

function read(key, fallback) {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null") ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    sessionStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value));
    return true;
  } catch {
    return false;
  }
}

function remove(key) {
  try {
    sessionStorage.removeItem(key);
  } catch {
    // nothing to do
  }
}

/** The thread the tab showed last, or null. */
export function storedThread() {
  try {
    return sessionStorage.getItem(CURRENT_KEY);
  } catch {
    return null;
  }
}

export function storeThread(threadId) {
  if (threadId) write(CURRENT_KEY, threadId);
  else remove(CURRENT_KEY);
}

/** The events rendered for one thread, `{epoch, events}`, kept as they arrive. */
export class EventLog {
  constructor(threadId, { epoch = null, events = [] } = {}) {
    this.threadId = threadId;
    this.epoch = epoch;
    this.events = events;
  }

  /** The log a reload finds for `threadId`, or null. */
  static load(threadId) {
    const cache = read(LOG_PREFIX + threadId, null);
    return cache && Array.isArray(cache.events) ? new EventLog(threadId, cache) : null;
  }

  /** Drop what is stored for `threadId`. */
  static drop(threadId) {
    if (threadId) remove(LOG_PREFIX + threadId);
  }

  /** Add an event; false when the log grew too long (or storage refused it) and was dropped. */
  remember(ev, epoch) {
    this.epoch = epoch;
    this.events.push(ev);
    if (this.events.length > MAX_CACHED_EVENTS) {
      EventLog.drop(this.threadId); // too long to keep: a reload replays from the server instead
      return false;
    }
    return this.save();
  }

  save() {
    if (write(LOG_PREFIX + this.threadId, { epoch: this.epoch, events: this.events })) return true;
    EventLog.drop(this.threadId);
    return false;
  }
}

/** The interrupt ids this tab answered. */
export class AnsweredHere {
  constructor() {
    const ids = read(MINE_KEY, []);
    this.ids = new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
  }

  has(id) {
    return this.ids.has(id);
  }

  add(id) {
    this.ids.add(id);
    write(MINE_KEY, [...this.ids].slice(-MAX_MINE));
  }

  /** The answer sent for `id` was refused (another tab answered first): it is not this tab's. */
  delete(id) {
    if (this.ids.delete(id)) write(MINE_KEY, [...this.ids].slice(-MAX_MINE));
  }
}
