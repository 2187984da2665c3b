// The chat's time travel: a thread's checkpoints (newest first), and a fork from one of them with
// edited state (update_state at that checkpoint, then a run from the new one).

import { fieldForm } from "../lib/cards.js";
import { clock, errorText, h, preview } from "../lib/render.js";

/**
 * The history panel in `section`, toggled by `button`. `current()` gives `{threadId, graph}` of the
 * open thread (or null); `onForked(threadId, runId)` is called once the forked run is accepted.
 */
export function historyPanel({ conn, section, button, current, streamModes, onForked }) {
  const els = { history: section, historyBtn: button };
  button.addEventListener("click", () => {
    if (section.hidden) openHistory();
    else closeHistory();
  });

  function closeHistory() {
    els.history.hidden = true;
    els.history.replaceChildren();
    els.historyBtn.setAttribute("aria-expanded", "false");
  }

  async function openHistory() {
    const threadId = current()?.threadId;
    if (!threadId) return;
    els.history.hidden = false;
    els.historyBtn.setAttribute("aria-expanded", "true");
    els.history.replaceChildren(h("p", { class: "muted", text: "Loading the checkpoints…" }));
    let history;
    try {
      ({ history } = await conn.getHistory({ thread_id: threadId, limit: 50 }));
    } catch (err) {
      els.history.replaceChildren(h("p", { class: "card-error", text: `Cannot load the history: ${err.message}` }));
      return;
    }
    if (current()?.threadId !== threadId) return;
    const list = h("ol", { class: "checkpoints", reversed: true });
    history.forEach((state, i) => list.append(checkpointItem(threadId, state, i === 0)));
    els.history.replaceChildren(
      h("div", { class: "history-head" },
        h("h2", { text: "History" }),
        h("p", { class: "muted small", text: "Checkpoints, newest first. Fork one to run again from there with edited state." }),
        h("button", { type: "button", class: "ghost", text: "Close", on: { click: closeHistory } })),
      history.length ? list : h("p", { class: "muted", text: "No checkpoints yet." }));
  }

  function checkpointItem(threadId, state, isHead) {
    const meta = state.metadata ?? {};
    const step = meta.step ?? "?";
    const next = state.next?.length ? `next: ${state.next.join(", ")}` : "finished";
    const detail = h("div", { class: "checkpoint-detail", hidden: true });
    const item = h("li", { class: "checkpoint", dataset: { checkpointId: state.checkpoint_id ?? "" } },
      h("div", { class: "checkpoint-row" },
        h("span", { class: "step-no", text: `step ${step}` }),
        h("span", { class: "muted", text: `${meta.source ?? ""} · ${next}` }),
        state.created_at ? h("span", { class: "muted small", text: clock(state.created_at) }) : null,
        isHead ? h("span", { class: "badge badge-idle", text: "current" }) : null,
        h("span", { class: "spacer" }),
        h("button", { type: "button", class: "small", text: "Fork from here", on: { click: () => showFork(threadId, state, detail) } })),
      h("p", { class: "checkpoint-values muted small", text: preview(state.values, 140) }),
      detail);
    return item;
  }

  function showFork(threadId, state, detail) {
    detail.hidden = false;
    const values = state.values && typeof state.values === "object" && !Array.isArray(state.values) ? state.values : {};
    const form = fieldForm(values);
    const problem = h("p", { class: "card-error", hidden: true });
    detail.replaceChildren(
      h("p", { class: "small", text: "Edit the state, then run the graph again from this checkpoint. The original history is kept." }),
      form.element,
      problem,
      h("div", { class: "row buttons" },
        h("button", {
          type: "button",
          class: "primary",
          text: "Fork & run",
          on: { click: () => fork(threadId, state, values, form, problem) },
        }),
        h("button", { type: "button", class: "ghost", text: "Cancel", on: { click: () => { detail.hidden = true; detail.replaceChildren(); } } })));
    form.element.querySelector("input, textarea")?.focus();
  }

  async function fork(threadId, state, original, form, problem) {
    const result = form.read();
    problem.hidden = !result.error;
    problem.textContent = result.error ?? "";
    if (result.error) return;
    const changed = Object.fromEntries(Object.entries(result.value).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(original[k])));
    try {
      let checkpointId = state.checkpoint_id;
      if (Object.keys(changed).length) {
        const updated = await conn.updateState({ thread_id: threadId, values: changed, checkpoint_id: state.checkpoint_id });
        checkpointId = updated.checkpoint_id;
      }
      const accepted = await conn.startRun({ graph: current()?.graph, thread_id: threadId, input: null, checkpoint_id: checkpointId, stream_modes: streamModes });
      closeHistory();
      onForked(threadId, accepted.run_id);
    } catch (err) {
      problem.hidden = false;
      problem.textContent = errorText(err);
    }
  }

  return { close: closeHistory };
}
