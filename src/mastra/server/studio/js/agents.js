// Agents: chat with streamed tokens, tool calls as cards, threads and working memory beside.
import * as api from "./api.js";
import { errorBox, fill, h, json, ms, newId, prefs, short, when } from "./dom.js";

export function render(root, [agentId]) {
  const side = h("aside", { class: "side" }, h("p", { class: "loading" }, "Loading agents…"));
  const main = h("section", { class: "main" });
  const panel = h("aside", { class: "panel" });
  root.append(side, main, panel);
  const controller = new AbortController();
  api.get("/agents", { signal: controller.signal }).then((agents) => {
    const ids = Object.keys(agents);
    const chosen = agents[agentId] ? agentId : ids[0];
    fill(side, h("h3", null, "Agents"), h("ul", { class: "list" }, ids.map((id) =>
      h("li", { class: id === chosen ? "on" : null },
        h("a", { href: `#/agents/${encodeURIComponent(id)}` }, id,
          h("span", { class: "meta" }, `${agents[id].provider}/${agents[id].modelId}`))))));
    if (!chosen) {
      fill(main, h("p", { class: "empty" }, "No agents are registered with this server."));
      return;
    }
    new AgentView(agents[chosen], main, panel, controller.signal).start();
  }).catch((error) => {
    if (error.name !== "AbortError") fill(side, errorBox(error, "Cannot list agents"));
  });
  return () => controller.abort();
}

class AgentView {
  constructor(agent, main, panel, signal) {
    this.agent = agent;
    this.main = main;
    this.panel = panel;
    this.signal = signal;
    this.resource = prefs.get("resource", "studio");
    this.thread = prefs.get(`thread.${agent.id}`, "") || newId();
    this.conversation = []; // the whole chat, sent each turn when the agent has no memory
    this.running = null;
  }

  async start() {
    const agent = this.agent;
    const tools = Object.keys(agent.tools || {});
    this.log = h("div", { class: "log", id: "chat-log" });
    this.scroller = h("div", { class: "scroll" }, this.log);
    this.input = h("textarea", {
      id: "prompt", rows: 2, placeholder: `Message ${agent.name}… (Enter to send, Shift+Enter for a new line)`,
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.send(); }
      },
    });
    this.sendButton = h("button", { class: "primary", id: "send", onclick: () => this.send() }, "Send");
    this.stopButton = h("button", { disabled: true, onclick: () => this.running?.abort() }, "Stop");
    fill(this.main,
      h("div", { class: "head" },
        h("h2", null, agent.name),
        h("span", { class: "chip" }, `${agent.provider}/${agent.modelId}`),
        agent.description ? h("span", { class: "sub" }, agent.description) : null,
        h("span", { class: "chips" }, tools.map((t) => h("span", { class: "chip", title: agent.tools[t].description }, `⚙ ${t}`)))),
      this.scroller,
      h("div", { class: "composer" }, this.input, h("div", { class: "buttons" }, this.sendButton, this.stopButton)));
    this.runBox = h("div", { id: "last-run" }, h("span", { class: "hint" }, "No run yet."));
    this.threadBox = h("div");
    this.memoryBox = h("div");
    fill(this.panel, h("section", null, h("h3", null, "Last run"), this.runBox), h("section", null, this.threadBox),
      h("section", null, this.memoryBox));
    try {
      this.hasMemory = (await api.get(`/memory/status${api.query({ agentId: agent.id })}`, { signal: this.signal })).result;
    } catch (error) {
      if (error.name === "AbortError") return;
      this.hasMemory = false;
    }
    if (this.hasMemory) {
      this.showThreads();
      await this.openThread(this.thread);
    } else {
      fill(this.threadBox, h("h3", null, "Threads"), h("p", { class: "hint" },
        "This agent has no memory: the Studio sends the whole conversation with each message."));
      this.log.append(h("p", { class: "hint" }, "No messages yet."));
    }
    this.input.focus();
  }

  // -- threads and working memory --------------------------------------------------------

  showThreads() {
    const resource = h("input", { value: this.resource, id: "resource", title: "resourceId" });
    const list = h("ul", { class: "list", id: "threads" });
    const load = async () => {
      this.resource = resource.value.trim() || "studio";
      prefs.set("resource", this.resource);
      await this.listThreads(list);
    };
    fill(this.threadBox,
      h("h3", null, "Threads"),
      h("label", { class: "field" }, h("span", null, "Resource"),
        h("div", { class: "row" }, resource, h("button", { class: "small", onclick: load }, "Load"))),
      h("button", { id: "new-thread", onclick: () => this.openThread(newId()) }, "+ New thread"),
      list);
  }

  async listThreads(list = document.getElementById("threads")) {
    if (!list) return;
    try {
      const { threads } = await api.get(`/memory/threads${api.query({ resourceId: this.resource, agentId: this.agent.id })}`, { signal: this.signal });
      this.known = new Set(threads.map((t) => t.id));
      const known = this.known.has(this.thread);
      const rows = known ? threads : [{ id: this.thread, title: "(new thread)", updatedAt: null }, ...threads];
      fill(list, rows.map((t) => h("li", { class: t.id === this.thread ? "on" : null },
        h("button", { onclick: () => this.openThread(t.id), dataset: { thread: t.id } },
          t.title || "untitled", h("span", { class: "meta" }, t.updatedAt ? `${short(t.id)} · ${when(t.updatedAt)}` : short(t.id))))));
    } catch (error) {
      if (error.name !== "AbortError") fill(list, errorBox(error, "Threads"));
    }
  }

  async openThread(threadId) {
    if (this.running) return;
    this.thread = threadId;
    prefs.set(`thread.${this.agent.id}`, threadId);
    fill(this.log);
    await this.listThreads();
    if (this.known?.has(threadId)) {
      try {
        const { messages } = await api.get(`/memory/threads/${encodeURIComponent(threadId)}/messages${api.query({ agentId: this.agent.id, perPage: 1000 })}`, { signal: this.signal });
        this.showHistory(messages);
      } catch (error) {
        if (error.name === "AbortError") return;
        if (error.status !== 404) this.log.append(errorBox(error, "History"));
      }
    }
    if (!this.log.childElementCount) this.log.append(h("p", { class: "hint" }, `Thread ${short(threadId)}: no messages yet.`));
    this.scrollDown(true);
    this.showWorkingMemory();
  }

  showHistory(messages) {
    let turn = null;
    for (const message of messages) {
      if (message.role === "user") {
        this.log.append(h("div", { class: "msg user" }, message.content.content));
        turn = null;
        continue;
      }
      turn ||= new Turn(this.log, () => this.scrollDown());
      for (const part of message.content.parts) turn.part(part);
    }
  }

  async showWorkingMemory() {
    const path = `/memory/threads/${encodeURIComponent(this.thread)}/working-memory`;
    let answer;
    try {
      answer = await api.get(path + api.query({ agentId: this.agent.id, resourceId: this.resource }), { signal: this.signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      fill(this.memoryBox, h("h3", null, "Working memory"), h("p", { class: "hint" },
        error.status === 400 ? "Not configured for this agent." : error.message));
      return;
    }
    const text = typeof answer.workingMemory === "string" || answer.workingMemory == null
      ? answer.workingMemory ?? "" : JSON.stringify(answer.workingMemory, null, 2);
    const area = h("textarea", { id: "working-memory", rows: 8, value: text });
    const note = h("span", { class: "hint" });
    const save = h("button", {
      class: "small", disabled: !answer.threadExists,
      onclick: async () => {
        try {
          await api.post(path + api.query({ agentId: this.agent.id }), { workingMemory: area.value, resourceId: this.resource });
          note.textContent = "saved";
        } catch (error) { note.textContent = error.message; }
      },
    }, "Save");
    fill(this.memoryBox, h("h3", null, `Working memory (${answer.source})`), area,
      h("div", { class: "row" }, save, note, answer.threadExists ? null : h("span", { class: "hint" }, "saved after the first message")));
  }

  // -- a run -----------------------------------------------------------------------------

  async send() {
    const text = this.input.value.trim();
    if (!text || this.running) return;
    this.input.value = "";
    for (const hint of this.log.querySelectorAll(":scope > p.hint")) hint.remove();
    this.log.append(h("div", { class: "msg user" }, text));
    const turn = new Turn(this.log, () => this.scrollDown());
    this.scrollDown(true);
    const userMessage = { role: "user", content: text };
    const body = this.hasMemory
      ? { messages: [userMessage], memory: { thread: this.thread, resource: this.resource } }
      : { messages: [...this.conversation, userMessage] };
    this.running = new AbortController();
    this.signal.addEventListener("abort", () => this.running?.abort(), { once: true });
    this.setBusy(true);
    const started = performance.now();
    try {
      const { done, traceId } = await api.sse(`/agents/${encodeURIComponent(this.agent.id)}/stream`, body,
        (chunk) => turn.chunk(chunk), { signal: this.running.signal });
      turn.end(done, performance.now() - started, traceId);
      if (turn.finish && !this.hasMemory) this.conversation = turn.finish.messages.all;
    } catch (error) {
      turn.fail(error.name === "AbortError" ? new Error("stopped") : error);
    } finally {
      this.running = null;
      this.setBusy(false);
      fill(this.runBox, turn.summary());
      if (this.hasMemory && this.signal.aborted === false) {
        this.listThreads();
        this.showWorkingMemory();
      }
    }
  }

  setBusy(busy) {
    this.sendButton.disabled = busy;
    this.stopButton.disabled = !busy;
    this.main.classList.toggle("busy", busy);
  }

  scrollDown(force = false) {
    const s = this.scroller;
    if (force || s.scrollHeight - s.scrollTop - s.clientHeight < 80) s.scrollTop = s.scrollHeight;
  }
}

/** One assistant answer: text blocks and tool cards in the order they came, then the run info. */
class Turn {
  constructor(log, onGrow) {
    this.el = h("div", { class: "msg assistant" });
    log.append(this.el);
    this.onGrow = onGrow;
    this.cards = new Map();
    this.text = null; // the Text node receiving deltas
    this.pending = "";
    this.frame = 0;
    this.model = null;
    this.finish = null;
    this.error = null;
  }

  chunk({ type, payload }) {
    switch (type) {
      case "text-start": this.flush(); this.text = null; break;
      case "text-delta": this.delta(payload.text); break;
      case "text-end": this.flush(); this.text = null; break;
      case "reasoning-delta": this.flush(); this.reasoning(payload.text); break;
      case "tool-call": this.flush(); this.toolCall(payload); break;
      case "tool-progress": this.cards.get(payload.toolCallId)?.progress(payload); break;
      case "tool-result": this.cards.get(payload.toolCallId)?.result(payload) ?? this.toolCall(payload).result(payload); break;
      case "step-finish": this.model = payload.metadata?.modelId || this.model; break;
      case "finish": this.flush(); this.finish = payload; break;
      case "error": this.flush(); this.fail(new Error(payload.error?.message || "the run failed")); break;
      default: break;
    }
  }

  /** Deltas are buffered and written once per animation frame: one DOM update per frame. */
  delta(text) {
    this.pending += text;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    if (!this.pending) return;
    if (!this.text) {
      this.text = document.createTextNode("");
      this.el.append(h("div", { class: "text" }, this.text));
    }
    this.text.appendData(this.pending);
    this.pending = "";
    this.onGrow();
  }

  reasoning(text) {
    let last = this.el.lastElementChild;
    if (!last?.classList.contains("reasoning")) {
      last = h("div", { class: "reasoning" });
      this.el.append(last);
    }
    last.append(text);
  }

  toolCall(payload) {
    const card = new ToolCard(payload);
    this.cards.set(payload.toolCallId, card);
    this.el.append(card.el);
    this.onGrow();
    return card;
  }

  /** A stored message part (history). */
  part(part) {
    if (part.type === "text") {
      if (part.text) this.el.append(h("div", { class: "text" }, part.text));
    } else if (part.type === "reasoning") {
      this.reasoning(part.text);
    } else if (part.type === "tool-invocation") {
      const call = part.toolInvocation;
      if (call.state === "result") (this.cards.get(call.toolCallId) ?? this.toolCall(call)).result(call);
      else this.toolCall(call);
    }
  }

  end(done, duration, traceId) {
    this.flush();
    this.duration = duration;
    this.traceId = traceId;
    if (!done && !this.error) this.fail(new Error("the stream ended before the run finished (the server log has the reason)"));
    if (this.finish) this.el.append(this.summary("runinfo"));
  }

  fail(error) {
    this.flush();
    this.error = error;
    for (const card of this.cards.values()) card.abandon();
    this.el.append(errorBox(error, "The run failed"));
    this.onGrow();
  }

  summary(cls = "kv-run") {
    const usage = this.finish?.output?.usage;
    const items = [
      ["model", this.model],
      ["finish", this.finish?.stepResult?.reason ?? (this.error ? "error" : null)],
      ["tokens", usage ? `${usage.inputTokens} in · ${usage.outputTokens} out · ${usage.totalTokens} total` : null],
      ["time", this.duration != null ? ms(this.duration) : null],
    ].filter(([, v]) => v != null);
    const trace = this.traceId
      ? h("a", { href: `#/traces/${this.traceId}`, class: "trace-link" }, "open trace ↗") : null;
    if (cls === "runinfo") {
      return h("div", { class: "runinfo" }, items.map(([k, v]) => h("span", null, `${k} `, h("b", null, v))), trace);
    }
    return h("div", null, h("dl", { class: "kv" }, items.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])), trace);
  }
}

/** A tool call: name, state and duration; arguments and the result (or error) inside. */
class ToolCard {
  constructor(payload) {
    this.started = performance.now();
    this.state = h("span", { class: "st running" }, "running");
    this.dur = h("span", { class: "dur" });
    this.body = h("div", { class: "body" }, h("h3", null, "Arguments"), json(payload.args ?? {}));
    this.el = h("details", { class: "tool", dataset: { tool: payload.toolName } },
      h("summary", null, h("span", { class: "name" }, payload.toolName), this.state, this.dur), this.body);
  }

  progress(payload) {
    this.body.append(h("div", { class: "hint" }, `… ${payload.message}`));
  }

  result(payload) {
    const failed = Boolean(payload.isError);
    this.state.className = `st ${failed ? "error" : "ok"}`;
    this.state.textContent = failed ? "error" : "ok";
    this.el.classList.toggle("error", failed);
    const took = payload.durationMs ?? (this.finished ? null : performance.now() - this.started);
    this.finished = true;
    if (took != null && payload.state !== "result") this.dur.textContent = ms(took);
    this.body.append(h("h3", null, failed ? "Error" : "Result"), json(payload.result ?? null));
    if (failed) this.el.open = true;
    return this;
  }

  abandon() {
    if (!this.finished) {
      this.state.className = "st canceled";
      this.state.textContent = "no result";
    }
  }
}
