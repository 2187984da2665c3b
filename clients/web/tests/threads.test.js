// Node tests for lib/threads.js: cursor verdicts and the watched threads kept in storage.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ThreadTable, Verdict, verdict } from "../streamhil_web/lib/threads.js";

class MemoryStorage {
  constructor(items = {}) { this.items = { ...items }; }
  getItem(k) { return k in this.items ? this.items[k] : null; }
  setItem(k, v) { this.items[k] = String(v); }
  removeItem(k) { delete this.items[k]; }
}

describe("verdict", () => {
  test("next, duplicate and gap on the same epoch", () => {
    const cursor = { epoch: "e1", seq: 5 };
    assert.equal(verdict(cursor, "e1", 6), Verdict.DELIVER);
    assert.equal(verdict(cursor, "e1", 5), Verdict.DUPLICATE);
    assert.equal(verdict(cursor, "e1", 2), Verdict.DUPLICATE);
    assert.equal(verdict(cursor, "e1", 8), Verdict.GAP);
  });

  test("no cursor, or one from another epoch, delivers", () => {
    assert.equal(verdict(null, "e1", 40), Verdict.DELIVER);
    assert.equal(verdict({ epoch: "e0", seq: 90 }, "e1", 3), Verdict.DELIVER);
  });
});

describe("ThreadTable", () => {
  test("cursors and the watched set survive into a new table", () => {
    const storage = new MemoryStorage();
    const table = new ThreadTable(storage, "app");
    table.add("t-1");
    table.add("t-2");
    table.saveWatched();
    table.setCursor("t-1", { epoch: "e1", seq: 7 });
    const again = new ThreadTable(storage, "app");
    again.restore();
    assert.deepEqual([...again.keys()], ["t-1", "t-2"]);
    assert.deepEqual(again.get("t-1").cursor, { epoch: "e1", seq: 7 });
    assert.equal(again.get("t-2").cursor, null);
  });

  test("forget ends the thread's iterators and drops what is stored", () => {
    const storage = new MemoryStorage();
    const table = new ThreadTable(storage, "app");
    const thread = table.add("t-1");
    let ended = 0;
    thread.iterators.add({ end: () => { ended += 1; } });
    table.setCursor("t-1", { epoch: "e1", seq: 1 });
    table.forget("t-1");
    assert.equal(ended, 1);
    assert.equal(table.get("t-1"), undefined);
    assert.equal(storage.getItem("app.cursor.t-1"), null);
    assert.equal(storage.getItem("app.watched"), "[]");
  });

  test("damaged storage restores what it can; a failing storage is ignored", () => {
    const storage = new MemoryStorage({ "app.watched": JSON.stringify(["t-1", 3, "t-2"]), "app.cursor.t-1": "{not json", "app.cursor.t-2": JSON.stringify({ seq: "x" }) });
    const table = new ThreadTable(storage, "app");
    table.restore();
    assert.deepEqual([...table.keys()], ["t-1", "t-2"]);
    assert.equal(table.get("t-1").cursor, null);
    assert.equal(table.get("t-2").cursor, null);
    const broken = { getItem() { throw new Error("privacy mode"); }, setItem() { throw new Error("quota"); }, removeItem() {} };
    const quiet = new ThreadTable(broken, "app");
    quiet.restore();
    quiet.add("t-3");
    quiet.saveWatched();
    assert.deepEqual([...quiet.keys()], ["t-3"]);
  });

  test("without storage nothing is kept", () => {
    const table = new ThreadTable(null, "app");
    table.add("t-1");
    table.setCursor("t-1", { epoch: "e1", seq: 2 });
    table.restore();
    assert.deepEqual(table.get("t-1").cursor, { epoch: "e1", seq: 2 });
  });
});
