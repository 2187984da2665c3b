// What both pages need: the WebSocket URL, the token, one Connection, and the banner that says
// when the connection drops and comes back.

import { Connection, ConnectionState, RequestTimeoutError } from "./connection.js";
import { ConnectionClosedError, ConnectionLostError } from "./protocol.js";
import { h } from "./render.js";

// One token per app (prefix) of this origin, shared by its tabs: see takeToken.
const TOKEN_KEY = `streamhil.token:${new URL("../", import.meta.url).pathname}`;

/**
 * The server's WebSocket URL. This module is served at `<prefix>/lib/page.js` and the socket at
 * `<prefix>/ws`, so the URL is derived from the module's own. `<meta name="streamhil-ws">` (written
 * by whoever serves the page) overrides it; so does `?ws=`, but only with a URL of the page's own
 * host: anyone can write a link, and the page sends its stored token to the socket it opens.
 */
export function webSocketUrl() {
  const fromMeta = document.querySelector('meta[name="streamhil-ws"]')?.content;
  const base = new URL(fromMeta || "../ws", import.meta.url);
  const fromQuery = new URLSearchParams(location.search).get("ws");
  const asked = fromQuery ? sameHostSocket(fromQuery) : null;
  if (fromQuery && !asked) console.warn(`streamhil: ?ws=${fromQuery} ignored: it must name this page's own host (${location.host})`);
  const url = asked || base;
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  return url.href;
}

/** `text` as a URL (relative to the page) when it names the page's own host and port, else null. */
function sameHostSocket(text) {
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    return null;
  }
  const known = ["ws:", "wss:", "http:", "https:"].includes(url.protocol);
  return known && url.host === location.host && !url.username && !url.password ? url : null;
}

/**
 * The access token. `?token=…` stores it in this origin's localStorage (under the app's prefix),
 * so every tab and both pages find it, and removes it from the address bar (and so from the
 * history and any link copied from it); `?token=` with no value forgets it. Without `?token=`
 * the stored one is used, or none.
 */
export function takeToken() {
  const params = new URLSearchParams(location.search);
  const fromQuery = params.get("token");
  if (fromQuery === null) return storedToken();
  // the other parameters are kept as they were written (URLSearchParams would re-encode them)
  const rest = location.search.slice(1).split("&").filter((part) => part && new URLSearchParams(part).get("token") === null).join("&");
  history.replaceState(history.state, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
  storeToken(fromQuery || null);
  return fromQuery || null;
}

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage blocked: the page asks for ?token= each time
  }
}

/** Keep `token` for the next pages (or forget it: null). */
export function storeToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage blocked: nothing is kept
  }
}

/** Open the page's connection; the banner and the status dot follow its state. */
export function openConnection({ storageKey, banner, dot, storage = sessionStorage }) {
  const token = takeToken();
  const conn = new Connection(webSocketUrl(), { token, storage, storageKey });
  let hadOpen = false;
  let hideTimer = null;
  conn.on("state", (info) => {
    clearTimeout(hideTimer);
    dot.dataset.state = info.state;
    if (info.state === ConnectionState.OPEN) {
      dot.title = "Connected";
      dot.querySelector(".dot-label").textContent = "Live";
      if (hadOpen) {
        showBanner(banner, "ok", "Reconnected. Missed events were replayed.");
        hideTimer = setTimeout(() => { banner.hidden = true; }, 2500);
      } else {
        banner.hidden = true;
      }
      hadOpen = true;
    } else if (info.state === ConnectionState.RECONNECTING) {
      dot.querySelector(".dot-label").textContent = "Reconnecting";
      const wait = info.retryInMs ? ` Retrying in ${Math.max(1, Math.round(info.retryInMs / 1000))} s.` : "";
      showBanner(banner, "warn", `Connection lost. Reconnecting automatically…${wait} Nothing is lost: missed events are replayed.`);
    } else if (info.state === ConnectionState.CONNECTING) {
      dot.querySelector(".dot-label").textContent = "Connecting";
    } else if (info.state === ConnectionState.CLOSED) {
      dot.querySelector(".dot-label").textContent = "Offline";
      const refused = info.error?.code === "unauthenticated";
      if (refused && token && storedToken() === token) storeToken(null); // a refused token is not kept
      const why = refused
        ? "The server did not accept the access token. Open this page with ?token=YOUR_TOKEN."
        : `Disconnected: ${info.error?.message ?? info.reason ?? "closed"}. Reload the page to try again.`;
      showBanner(banner, "error", why);
    }
  });
  // the browser knows before the socket does: say so, and check the link at once
  window.addEventListener("offline", () => {
    showBanner(banner, "warn", "You are offline. Answers are not sent until the connection is back; nothing is lost.");
    conn.checkLink();
  });
  window.addEventListener("online", () => {
    if (conn.state === ConnectionState.OPEN) banner.hidden = true;
    conn.checkLink();
  });
  return conn;
}

function showBanner(banner, tone, message) {
  banner.className = `banner banner-${tone}`;
  banner.textContent = message;
  banner.hidden = false;
}

/** Whether a command that failed with `err` may still have been applied (no answer came). */
export function isUncertain(err) {
  return err instanceof ConnectionLostError || err instanceof ConnectionClosedError || err instanceof RequestTimeoutError;
}

/** A small text message near a control, cleared on the next call. */
export function flash(el, tone, message) {
  el.className = `flash flash-${tone}`;
  el.textContent = message;
  el.hidden = !message;
}

/** The shared top bar: brand, navigation and the live dot. */
export function topBar(current) {
  const link = (href, label, key) => h("a", { href, class: current === key ? "current" : "", "aria-current": current === key ? "page" : null, text: label });
  const dot = h("span", { class: "live-dot", dataset: { state: "connecting" }, role: "status" },
    h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "dot-label", text: "Connecting" }));
  return {
    dot,
    element: h("header", { class: "topbar" },
      h("span", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true", text: "◆" }), " streamhil"),
      h("nav", { "aria-label": "Pages" }, link(new URL("../chat/", import.meta.url).pathname, "Chat", "chat"), link(new URL("../dashboard/", import.meta.url).pathname, "Dashboard", "dashboard")),
      dot),
  };
}
