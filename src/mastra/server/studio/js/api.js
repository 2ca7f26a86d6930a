// The server's public REST and stream routes, with the API key asked for once on a 401.
import { h } from "./dom.js";

export const PREFIX = document.querySelector('meta[name="mastra-prefix"]')?.content || "/api";
const KEY = "mastra.studio.apiKey";

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export const auth = {
  key: () => sessionStorage.getItem(KEY),
  forget: () => sessionStorage.removeItem(KEY),
  listeners: new Set(),
};

let asking = null;

/** Ask for the API key (one dialog however many requests got 401); resolves once it is set. */
export function askKey(reason) {
  asking ||= keyDialog(reason).finally(() => { asking = null; });
  return asking;
}

function keyDialog(reason) {
  return new Promise((resolve, reject) => {
    const input = h("input", { type: "password", name: "key", placeholder: "sk-…", autocomplete: "off", required: true });
    const dialog = h("dialog", { class: "keydialog" },
      h("form", { method: "dialog" },
        h("h2", null, "This server needs an API key"),
        h("div", { class: "hint" }, reason || "Requests answered 401."),
        h("div", { class: "hint" }, "It is kept in this tab only (sessionStorage) and sent as a Bearer token."),
        input,
        h("div", { class: "row" },
          h("button", { value: "cancel", formnovalidate: true }, "Cancel"),
          h("button", { value: "ok", class: "primary" }, "Use key"))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (dialog.returnValue === "ok" && input.value.trim()) {
        sessionStorage.setItem(KEY, input.value.trim());
        for (const listener of auth.listeners) listener();
        resolve();
      } else {
        reject(new ApiError(401, "unauthorized", "an API key is needed to use this server"));
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

async function errorOf(response) {
  let type = "http_error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error) {
      type = body.error.type || type;
      message = body.error.message || message;
    }
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(response.status, type, message);
}

/** fetch() a route under the prefix; retries after asking for a key on 401; ApiError on failure. */
export async function send(method, path, body, { signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const key = auth.key();
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(PREFIX + path, {
        method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", `cannot reach the server (${error.message})`);
    }
    if (response.status === 401 && attempt < 5) {
      const problem = await errorOf(response);
      if (key) auth.forget();
      await askKey(key ? `The key was refused: ${problem.message}` : problem.message);
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }
}

export const get = async (path, options) => (await send("GET", path, undefined, options)).json();
export const post = async (path, body, options) => (await send("POST", path, body ?? {}, options)).json();

export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v != null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs)}` : "";
}

/** Split a response body on `separator`, calling onPiece(text) per complete piece. */
async function pieces(response, separator, onPiece) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parts = (rest + value).split(separator);
    rest = parts.pop();
    for (const part of parts) if (part.trim()) onPiece(part);
  }
  if (rest.trim()) onPiece(rest);
}

/** POST and read server-sent events: onChunk(JSON) per `data:` frame until `[DONE]`.
 * Returns {done, traceId}: done is false when the stream ended without `[DONE]`. */
export async function sse(path, body, onChunk, options) {
  const response = await send("POST", path, body, options);
  let done = false;
  await pieces(response, "\n\n", (frame) => {
    const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    if (!data || done) return;
    if (data === "[DONE]") done = true;
    else onChunk(JSON.parse(data));
  });
  return { done, traceId: traceOf(response) };
}

/** Read a record-separated (\x1e) JSON stream: onRecord(JSON) per record. */
export async function records(method, path, body, onRecord, options) {
  const response = await send(method, path, body, options);
  await pieces(response, "\x1e", (text) => onRecord(JSON.parse(text)));
  return { traceId: traceOf(response) };
}

function traceOf(response) {
  const parent = response.headers.get("traceparent");
  return parent ? parent.split("-")[1] : null;
}
