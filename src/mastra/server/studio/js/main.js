// The Studio shell: hash routes (#/agents/<id>, #/workflows/<id>, #/traces/<id> ...) to pages.
import { auth } from "./api.js";
import { errorBox, fill, h } from "./dom.js";
import * as agents from "./agents.js";
import * as memory from "./memory.js";
import * as traces from "./traces.js";
import * as vectors from "./vectors.js";
import * as workflows from "./workflows.js";

const PAGES = { agents, workflows, traces, memory, vectors };
const root = document.getElementById("page");
let leave = null;

function route() {
  const [name = "agents", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = PAGES[name] || agents;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("on", link.dataset.page === (PAGES[name] ? name : "agents"));
  }
  if (leave) leave();
  leave = null;
  fill(root);
  try {
    leave = page.render(root, args.filter(Boolean)) || null;
  } catch (error) {
    fill(root, errorBox(error, "The page failed"));
  }
}

function who() {
  const el = document.getElementById("who");
  if (!auth.key()) return fill(el);
  fill(el, "API key set", h("button", {
    class: "small", title: "forget the key kept in this tab",
    onclick: () => { auth.forget(); who(); },
  }, "Forget"));
}

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason?.name === "AbortError") event.preventDefault();
});
auth.listeners.add(who);
who();
route();
