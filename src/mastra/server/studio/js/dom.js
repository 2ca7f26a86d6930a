// A tiny element builder and the formatting every page shares.

/** h("div", {class: "x", onclick: f}, child, ...): an element; null/false children are skipped. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "disabled") el[key] = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child != null && child !== false) el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** JSON in a <pre>: on one line when it is short, else indented. */
export function json(value, cls = "json") {
  const line = typeof value === "string" ? value : JSON.stringify(value);
  const text = line === undefined || line.length <= 72 ? line : JSON.stringify(value, null, 2);
  return h("pre", { class: cls }, text === undefined ? "undefined" : text);
}

export function status(value) {
  return h("span", { class: `st ${value || "unset"}` }, value || "—");
}

export function ms(value) {
  if (value == null || Number.isNaN(value)) return "—";
  if (value === 0) return "<1 ms";
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
}

export function when(value) {
  if (!value) return "—";
  const date = new Date(value);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}

export function short(id) {
  return id && id.length > 12 ? `${id.slice(0, 8)}…` : id || "";
}

export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

/** A readable message for any failure (ApiError, TypeError ...). */
export function errorBox(error, what = "Error") {
  const message = error?.message || String(error);
  return h("div", { class: "error-box", role: "alert" }, h("b", null, `${what}: `), message);
}

/** Local settings that survive a reload. */
export const prefs = {
  get: (key, fallback) => localStorage.getItem(`mastra.studio.${key}`) ?? fallback,
  set: (key, value) => localStorage.setItem(`mastra.studio.${key}`, value),
};
