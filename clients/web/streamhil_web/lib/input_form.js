// The input form of a graph whose input is not a chat: one control per field of the graph's
// `input_schema` (from list_graphs: name, type, required, choices), read into a typed object.
//
// Plain text typed in the composer goes to the graph's single text field when it has one
// (`singleTextField`), converted to that field's type (`typedValue`).

import { h } from "./render.js";

/** A form value that cannot be used; the message says which field and why. */
export class InputFormError extends Error {}

const TYPE_LABEL = {
  string: "text",
  integer: "whole number",
  number: "number",
  boolean: "yes / no",
  array: "JSON list",
  object: "JSON object",
  any: "JSON",
};

/**
 * The field typed text goes to: the only field, or else the only text field among several
 * (null when there is none, or more than one).
 */
export function singleTextField(schema) {
  if (!Array.isArray(schema) || !schema.length) return null;
  if (schema.length === 1 && schema[0].type !== "array" && schema[0].type !== "object") return schema[0];
  const texts = schema.filter((f) => f.type === "string" && !(f.choices?.length));
  return texts.length === 1 ? texts[0] : null;
}

/** `text` as a value of `field`'s type; throws InputFormError when it is not one. */
export function typedValue(field, text) {
  const raw = text.trim();
  const fail = (what) => new InputFormError(`${field.name} takes ${what}; "${raw.slice(0, 40)}" is not one.`);
  if (field.choices?.length) {
    const match = field.choices.find((c) => String(c).toLowerCase() === raw.toLowerCase());
    if (match === undefined) throw fail(`one of ${field.choices.map(String).join(", ")}`);
    return match;
  }
  switch (field.type) {
    case "string":
      return text;
    case "integer":
      if (!/^[-+]?\d+$/.test(raw)) throw fail("a whole number");
      return Number(raw);
    case "number":
      if (raw === "" || Number.isNaN(Number(raw))) throw fail("a number");
      return Number(raw);
    case "boolean": {
      const word = raw.toLowerCase();
      if (["yes", "y", "true", "on", "1"].includes(word)) return true;
      if (["no", "n", "false", "off", "0"].includes(word)) return false;
      throw fail("yes or no");
    }
    default:
      try {
        return JSON.parse(raw);
      } catch {
        if (field.type === "any") return text; // plain text is a JSON string too
        throw fail(field.type === "array" ? "a JSON list" : "a JSON object");
      }
  }
}

/** The form for `graph` (a list_graphs entry): `{element, read({skip}), check(input)}`. */
export function inputForm(graph, { textFieldInComposer = false } = {}) {
  const schema = graph.input_schema ?? [];
  const composerField = textFieldInComposer ? singleTextField(schema) : null;
  const rows = schema.map((field) => fieldRow(field, field === composerField));
  const element = h("div", { class: "input-form-body" },
    h("div", { class: "input-form-head" },
      h("h2", { id: "input-form-title", class: "sub-title", text: `Input for ${graph.name}` }),
      h("p", { class: "muted small", text: "Fields marked required must be filled. Empty optional fields are left out." })),
    h("div", { class: "fields input-fields" }, rows.map((r) => r.element)),
    h("div", { class: "row buttons" }, h("button", { type: "submit", class: "primary", text: "Start" })));
  return {
    element,
    /** {value} with the filled fields, or {error}; `skip` names a field given elsewhere. */
    read({ skip = null } = {}) {
      const value = {};
      for (const row of rows) {
        if (row.field.name === skip) continue;
        const result = row.read();
        if (result.error) return { error: result.error };
        if (result.value !== undefined) value[row.field.name] = result.value;
      }
      return { value };
    },
    /** Throws InputFormError naming a required field that `input` lacks. */
    check(input) {
      const missing = schema.filter((f) => f.required && !(f.name in input)).map((f) => f.name);
      if (missing.length) throw new InputFormError(`Fill in ${missing.join(", ")} (required).`);
    },
  };
}

function fieldRow(field, inComposer) {
  const id = `in-${field.name}-${Math.random().toString(36).slice(2, 8)}`;
  let control;
  let read;
  if (field.choices?.length) {
    control = h("select", { id }, h("option", { value: "", text: "—" }),
      field.choices.map((c, i) => h("option", { value: String(i), text: String(c) })));
    read = () => (control.value === "" ? { value: undefined } : { value: field.choices[Number(control.value)] });
  } else if (field.type === "boolean") {
    control = h("select", { id }, h("option", { value: "", text: "—" }), h("option", { value: "true", text: "yes" }),
      h("option", { value: "false", text: "no" }));
    read = () => (control.value === "" ? { value: undefined } : { value: control.value === "true" });
  } else if (field.type === "integer" || field.type === "number") {
    control = h("input", { id, type: "number", step: field.type === "integer" ? "1" : "any", inputmode: "decimal" });
    read = () => {
      if (control.value.trim() === "") return { value: undefined };
      try {
        return { value: typedValue(field, control.value) };
      } catch (err) {
        return { error: err.message };
      }
    };
  } else if (field.type === "string") {
    control = h("input", { id, type: "text", autocomplete: "off" });
    read = () => (control.value === "" ? { value: undefined } : { value: control.value });
  } else {
    control = h("textarea", { id, rows: "2", class: "json-input", spellcheck: "false", placeholder: field.type === "array" ? "[…]" : "{…} or any JSON" });
    read = () => {
      if (control.value.trim() === "") return { value: undefined };
      try {
        return { value: JSON.parse(control.value) };
      } catch (err) {
        return { error: `${field.name}: not valid JSON (${err.message})` };
      }
    };
  }
  control.name = field.name;
  if (field.required) control.setAttribute("aria-required", "true");
  const tags = h("span", { class: "field-tags" },
    h("span", { class: "type-tag", text: TYPE_LABEL[field.type] ?? "JSON" }),
    h("span", { class: field.required ? "req-tag" : "opt-tag", text: field.required ? "required" : "optional" }));
  const note = inComposer ? h("span", { class: "muted small field-note", text: "or type it in the message box" }) : null;
  const element = h("div", { class: "field", dataset: { field: field.name, type: field.type } },
    h("label", { for: id }, h("span", { class: "field-name", text: field.name }), " ", tags), control, note);
  return { field, element, read };
}
