// Text-only DOM helpers shared by the chat and the dashboard.
//
// Server data only ever reaches the page through textContent / createTextNode / attribute
// setters: nothing here parses HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Create an element. `props`: `class`, `text` (textContent), `on` ({event: handler}),
 * `dataset` ({key: value}), anything else is set with setAttribute (booleans toggle it).
 * Children: nodes, strings (as text nodes), arrays, and null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** Same as h() for SVG elements. */
export function s(tag, props = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" && "value" in el) el.value = value;
    else if (key === "checked" && "checked" in el) el.checked = Boolean(value);
    else el.setAttribute(key === "class" && el instanceof SVGElement ? "class" : key, value === true ? "" : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

/** JSON for people: two-space indent, strings stay readable. */
export function prettyJson(value) {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** A one-line preview of any value, at most `max` characters. */
export function preview(value, max = 120) {
  const textValue = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return textValue.length > max ? `${textValue.slice(0, max - 1)}…` : textValue;
}

/** A <pre> showing a value as JSON. */
export function jsonBlock(value, cls = "json") {
  return h("pre", { class: cls, text: prettyJson(value) });
}

/** The text of a chat message whose content is a string or a list of parts. */
export function messageText(message) {
  const content = message?.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === "string" ? part : part?.text ?? "")).join("");
  }
  return content === undefined || content === null ? "" : preview(content, 2000);
}

/**
 * What to tell the user about a command the client or the server refused: its code and message;
 * for one too large to send (`frame_too_large`), how large it is, the server's limit, and that
 * nothing was sent (the text stays where it was typed).
 */
export function errorText(err) {
  if (err?.code === "frame_too_large") {
    const size = err.details?.frame_bytes;
    const limit = err.details?.max_frame_bytes;
    const sizes = [
      Number.isInteger(size) ? `it is ${byteSize(size)}` : null,
      Number.isInteger(limit) ? `the server takes at most ${byteSize(limit)}` : null,
    ].filter(Boolean).join(" and ");
    return `Too large to send${sizes ? `: ${sizes}` : ""}. Nothing was sent; shorten it and send it again.`;
  }
  return `${err?.code ? `${err.code}: ` : ""}${err?.message ?? err}`;
}

/** "512 bytes", "2.5 KiB", "1 MiB". */
export function byteSize(n) {
  if (n < 1024) return `${n} bytes`;
  const [value, unit] = n < 1024 ** 2 ? [n / 1024, "KiB"] : [n / 1024 ** 2, "MiB"];
  return `${Number(value.toFixed(1))} ${unit}`;
}

/** "3 s", "2 min", "1 h 5 min". */
export function formatDuration(ms) {
  const sec = Math.max(0, Math.floor(ms / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** HH:MM:SS of a Date or ISO string. */
export function clock(value) {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** A status pill: idle, running, interrupted, error, done… */
export function statusBadge(status) {
  const label = status === "interrupted" ? "waiting" : status;
  return h("span", { class: `badge badge-${status}`, text: label, title: status });
}

/** Where an interrupt comes from: "node review" or "node ask in subgraph child". */
export function interruptOrigin(interrupt) {
  const node = interrupt.node ?? "unknown node";
  const ns = (interrupt.ns ?? []).map((part) => String(part).split(":")[0]);
  return ns.length ? `${node} in subgraph ${ns.join(" › ")}` : node;
}

// --- drawing a graph ------------------------------------------------------------------------

/**
 * An SVG drawing of a graph from list_graphs ({nodes, edges}): nodes in layers by their
 * distance from __start__, edges as curves (dashed when conditional). `active` nodes get the
 * class `active`. Returns the <svg> with `update(activeSet)` attached.
 */
export function graphSvg(graph, active = new Set()) {
  const layers = layerNodes(graph);
  const boxW = 118, boxH = 30, gapX = 26, gapY = 46, pad = 12;
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const width = pad * 2 + widest * boxW + (widest - 1) * gapX;
  const height = pad * 2 + layers.length * boxH + (layers.length - 1) * gapY;
  const pos = new Map();
  layers.forEach((layer, row) => {
    const rowWidth = layer.length * boxW + (layer.length - 1) * gapX;
    const x0 = (width - rowWidth) / 2;
    layer.forEach((name, i) => pos.set(name, { x: x0 + i * (boxW + gapX), y: pad + row * (boxH + gapY) }));
  });
  const svg = s("svg", {
    class: "graph",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `graph ${graph.name}`,
  });
  svg.append(
    s("defs", {}, s("marker", { id: `arrow-${cssId(graph.name)}`, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))),
  );
  for (const edge of graph.edges ?? []) {
    const a = pos.get(edge.source), b = pos.get(edge.target);
    if (!a || !b) continue;
    const x1 = a.x + boxW / 2, y1 = a.y + boxH, x2 = b.x + boxW / 2, y2 = b.y;
    let d;
    if (y2 > y1) {
      const my = (y1 + y2) / 2;
      d = `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`;
    } else { // back edge: loop round the right side
      const rx = Math.max(a.x, b.x) + boxW + 14;
      d = `M ${a.x + boxW} ${a.y + boxH / 2} C ${rx} ${a.y + boxH / 2}, ${rx} ${b.y + boxH / 2}, ${b.x + boxW} ${b.y + boxH / 2}`;
    }
    svg.append(s("path", {
      d,
      class: edge.conditional ? "edge conditional" : "edge",
      "marker-end": `url(#arrow-${cssId(graph.name)})`,
    }));
  }
  const boxes = new Map();
  for (const [name, p] of pos) {
    const special = name === "__start__" || name === "__end__";
    const label = name === "__start__" ? "start" : name === "__end__" ? "end" : name;
    const g = s("g", { class: special ? "node terminal" : "node", dataset: { node: name } },
      s("rect", { x: p.x, y: p.y, width: boxW, height: boxH, rx: special ? 15 : 6 }),
      s("text", { x: p.x + boxW / 2, y: p.y + boxH / 2 + 4, "text-anchor": "middle", text: label.length > 16 ? `${label.slice(0, 15)}…` : label }),
      s("title", { text: name }));
    boxes.set(name, g);
    svg.append(g);
  }
  svg.update = (activeNodes) => {
    for (const [name, g] of boxes) g.classList.toggle("active", activeNodes.has(name));
  };
  svg.update(active);
  return svg;
}

function cssId(name) {
  return String(name).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** Nodes in rows: breadth-first from __start__ along forward edges; unreachable ones last. */
export function layerNodes(graph) {
  const nodes = graph.nodes ?? [];
  const out = new Map(nodes.map((n) => [n, []]));
  for (const e of graph.edges ?? []) out.get(e.source)?.push(e.target);
  const depth = new Map();
  const start = nodes.includes("__start__") ? "__start__" : nodes[0];
  if (start !== undefined) depth.set(start, 0);
  const queue = start !== undefined ? [start] : [];
  while (queue.length) {
    const n = queue.shift();
    for (const m of out.get(n) ?? []) {
      if (!depth.has(m)) {
        depth.set(m, depth.get(n) + 1);
        queue.push(m);
      }
    }
  }
  let maxDepth = Math.max(0, ...depth.values());
  if (depth.has("__end__")) {
    // __end__ goes to the bottom row
    const others = [...depth].filter(([n]) => n !== "__end__").map(([, d]) => d);
    maxDepth = Math.max(0, ...others) + 1;
    depth.set("__end__", maxDepth);
  }
  for (const n of nodes) if (!depth.has(n)) depth.set(n, ++maxDepth);
  const layers = [];
  for (const n of nodes) {
    const d = depth.get(n);
    (layers[d] ??= []).push(n);
  }
  return layers.filter(Boolean);
}
