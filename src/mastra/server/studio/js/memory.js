// Memory: the threads of a resource (through an agent's memory or the registry's storage),
// a thread's messages, and its working memory.
import * as api from "./api.js";
import { errorBox, fill, h, json, prefs, short, when } from "./dom.js";

export function render(root) {
  const controller = new AbortController();
  new MemoryView(root, controller.signal).start();
  return () => controller.abort();
}

class MemoryView {
  constructor(root, signal) {
    this.root = root;
    this.signal = signal;
    this.resource = prefs.get("resource", "studio");
  }

  async start() {
    this.source = h("select", { id: "memory-source", onchange: () => this.listThreads() },
      h("option", { value: "" }, "registry storage"));
    this.resourceInput = h("input", { id: "memory-resource", value: this.resource });
    this.threads = h("ul", { class: "list", id: "memory-threads" });
    this.messages = h("div", { class: "scroll" }, h("p", { class: "hint" }, "Pick a thread."));
    this.head = h("div", { class: "head" }, h("h2", null, "Memory"));
    this.panel = h("aside", { class: "panel" }, h("span", { class: "hint" }, "Thread details appear here."));
    this.root.append(
      h("aside", { class: "side" },
        h("h3", null, "Memory of"), this.source,
        h("label", { class: "field" }, h("span", null, "Resource"),
          h("div", { class: "row" }, this.resourceInput, h("button", { class: "small", onclick: () => this.listThreads() }, "Load"))),
        h("h3", null, "Threads"), this.threads),
      h("section", { class: "main" }, this.head, this.messages),
      this.panel);
    try {
      const agents = await api.get("/agents", { signal: this.signal });
      const withMemory = await Promise.all(Object.keys(agents).map(async (id) =>
        (await api.get(`/memory/status${api.query({ agentId: id })}`, { signal: this.signal })).result ? id : null));
      for (const id of withMemory.filter(Boolean)) this.source.append(h("option", { value: id }, `agent ${id}`));
      if (withMemory.some(Boolean)) this.source.value = withMemory.find(Boolean);
    } catch (error) {
      if (error.name === "AbortError") return;
    }
    await this.listThreads();
  }

  params(extra = {}) {
    return api.query({ agentId: this.source.value || null, ...extra });
  }

  async listThreads() {
    this.resource = this.resourceInput.value.trim() || "studio";
    prefs.set("resource", this.resource);
    try {
      const { threads } = await api.get(`/memory/threads${this.params({ resourceId: this.resource, perPage: 200 })}`, { signal: this.signal });
      fill(this.threads, threads.length ? threads.map((t) => h("li", null, h("button", {
        dataset: { thread: t.id },
        onclick: (e) => {
          for (const li of this.threads.children) li.classList.toggle("on", li.contains(e.currentTarget));
          this.openThread(t);
        },
      }, t.title || short(t.id), h("span", { class: "meta" }, when(t.updatedAt)))))
        : h("li", { class: "hint" }, `No threads for resource "${this.resource}".`));
    } catch (error) {
      if (error.name !== "AbortError") fill(this.threads, errorBox(error, "Threads"));
    }
  }

  async openThread(thread) {
    fill(this.head, h("h2", null, thread.title || "Thread"), h("code", { class: "hint" }, thread.id));
    const base = `/memory/threads/${encodeURIComponent(thread.id)}`;
    try {
      const { messages } = await api.get(`${base}/messages${this.params({ perPage: 1000 })}`, { signal: this.signal });
      fill(this.messages, messages.length ? h("table", { class: "grid", id: "memory-messages" },
        h("thead", null, h("tr", null, h("th", null, "role"), h("th", null, "content"), h("th", null, "at"))),
        h("tbody", null, messages.map((m) => h("tr", null,
          h("td", null, h("span", { class: "chip" }, m.role)),
          h("td", null, m.content.parts.map(part)),
          h("td", { class: "hint" }, when(m.createdAt))))))
        : h("p", { class: "hint" }, "No messages."));
    } catch (error) {
      if (error.name !== "AbortError") fill(this.messages, errorBox(error, "Messages"));
    }
    const details = [["id", thread.id], ["resource", thread.resourceId], ["created", when(thread.createdAt)], ["updated", when(thread.updatedAt)]];
    fill(this.panel, h("h3", null, "Thread"),
      h("dl", { class: "kv" }, details.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
      Object.keys(thread.metadata || {}).length ? [h("h3", null, "Metadata"), json(thread.metadata)] : null);
    if (this.source.value) {
      try {
        const wm = await api.get(`${base}/working-memory${this.params({ resourceId: thread.resourceId })}`, { signal: this.signal });
        this.panel.append(h("h3", null, `Working memory (${wm.source})`), json(wm.workingMemory ?? "(empty)"));
      } catch { /* this agent's memory has no working memory */ }
    }
  }
}

function part(p) {
  if (p.type === "text") return h("div", { class: "text" }, p.text);
  if (p.type === "tool-invocation") {
    const call = p.toolInvocation;
    const value = call.state === "result" ? { result: call.result } : { args: call.args };
    const brief = JSON.stringify(call.state === "result" ? call.result : call.args) ?? "";
    return h("details", { class: "tool" }, h("summary", null, h("span", { class: "name" }, call.toolName),
      h("span", { class: "hint" }, call.state === "result" ? "→" : "(", brief.length > 70 ? `${brief.slice(0, 70)}…` : brief, call.state === "result" ? "" : ")")),
      h("div", { class: "body" }, json(value)));
  }
  return json(p);
}
