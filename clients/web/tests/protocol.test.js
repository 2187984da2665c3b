// Node tests for lib/protocol.js: builders, parsing and error mapping.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BadRequestError,
  ConflictError,
  ERROR_FAMILY,
  ErrorCode,
  ProtocolViolationError,
  ServerError,
  StreamhilError,
  UsageError,
  buildCommand,
  buildHello,
  errorFromFrame,
  isRecoverable,
  isTerminal,
  parseServerFrame,
} from "../streamhil_web/lib/protocol.js";

test("every error code has a family", () => {
  for (const code of Object.values(ErrorCode)) assert.ok(ERROR_FAMILY[code], code);
});

test("errorFromFrame picks the class by family and keeps the fields", () => {
  const err = errorFromFrame({ type: "error", id: "4", code: "interrupt_pending", message: "m", path: null, details: { interrupt_ids: ["i"] } });
  assert.ok(err instanceof ConflictError && err instanceof StreamhilError && err instanceof Error);
  assert.deepEqual([err.code, err.id, err.message, err.details.interrupt_ids], ["interrupt_pending", "4", "m", ["i"]]);
  assert.ok(errorFromFrame({ code: "bad_json", message: "x" }) instanceof BadRequestError);
  assert.ok(errorFromFrame({ code: "shutting_down", message: "x" }) instanceof ServerError);
  const future = errorFromFrame({ code: "some_future_code", message: "x" });
  assert.equal(future.constructor, StreamhilError);
});

test("close codes: 4000-4399 and 1001/1006/1011-1013 reconnect; 4400+ and 1000/1002 do not", () => {
  for (const code of [null, 4000, 4008, 4011, 4012, 4399, 1001, 1006, 1011, 1012, 1013]) assert.ok(isRecoverable(code), code);
  for (const code of [1000, 1002, 1009, 4400, 4401, 4403, 4408, 4426]) assert.ok(!isRecoverable(code), code);
});

test("buildHello leaves out a null token", () => {
  assert.deepEqual(buildHello(), { type: "hello", protocol_version: 1 });
  assert.deepEqual(buildHello({ token: "t" }), { type: "hello", protocol_version: 1, token: "t" });
  assert.deepEqual(buildHello({ batch: true }), { type: "hello", protocol_version: 1, batch: true });
  assert.deepEqual(buildHello({ batch: false }), { type: "hello", protocol_version: 1 });
});

test("buildCommand drops undefined and null fields, keeps a null resume value", () => {
  assert.deepEqual(buildCommand("start_run", "1", { graph: "g", thread_id: undefined, input: null }), { type: "start_run", id: "1", graph: "g" });
  assert.deepEqual(buildCommand("resume", "2", { thread_id: "t", value: null }), { type: "resume", id: "2", thread_id: "t", value: null });
  assert.deepEqual(buildCommand("update_state", "3", { thread_id: "t", values: null }), { type: "update_state", id: "3", thread_id: "t", values: null });
  assert.throws(() => buildCommand("ping", "", {}), UsageError);
  assert.throws(() => buildCommand("ping", "x".repeat(65), {}), UsageError);
});

test("parseServerFrame accepts the four server types, keeps unknown fields and event kinds", () => {
  const ev = parseServerFrame('{"type":"event","event":"brand_new","thread_id":"t","run_id":null,"seq":3,"ns":[],"data":1,"extra":true}');
  assert.equal(ev.event, "brand_new");
  assert.equal(ev.extra, true);
  assert.equal(isTerminal(ev), false);
  assert.equal(isTerminal({ type: "event", event: "run_error" }), true);
  for (const bad of ["nope", "[]", "null", '{"type":"surprise"}', '{"type":"event","thread_id":"t","seq":"3","event":"x"}', '{"type":"reply"}']) {
    assert.throws(() => parseServerFrame(bad), ProtocolViolationError, bad);
  }
});
