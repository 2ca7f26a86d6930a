// Traces: the stored traces (root spans) and, for one trace, a waterfall of its spans with
// their attributes (GenAI ones first: model, tokens, finish reason).
import * as api from "./api.js";
import { errorBox, fill, h, json, ms, short, status, when } from "./dom.js";

export function render(root, [traceId]) {
  const controller = new AbortController();
  if (traceId) new TraceView(root, traceId, controller.signal).start();
  else new TraceList(root, controller.signal).start();
  return () => controller.abort();
}

const isGet = (span) => span.attributes?.["http.request.method"] === "GET";

function title(span) {
  const a = span.attributes || {};
  if (span.name === "http.server" && a["http.route"]) return `${a["http.request.method"] || ""} ${a["http.route"]}`;
  return span.name;
}

/** What a span is about, in a few words (agent, model, tool, step). */
function label(span) {
  const a = span.attributes || {};
  return a["gen_ai.agent.name"] || a["gen_ai.request.model"] || a["gen_ai.tool.name"] || a.step || a.workflow || a.thread_id || "";
}

class TraceList {
  constructor(root, signal) {
    this.root = root;
    this.signal = signal;
    this.showGets = false;
  }

  async start() {
    this.body = h("tbody");
    this.note = h("span", { class: "hint" });
    const toggle = h("input", { type: "checkbox", id: "show-gets", onchange: () => { this.showGets = toggle.checked; this.draw(); } });
    const main = h("section", { class: "main" },
      h("div", { class: "head" }, h("h2", null, "Traces"), this.note,
        h("label", { class: "hint", style: "margin-left:auto" }, toggle, " show GET requests (page loads, lists)"),
        h("button", { class: "small", onclick: () => this.load() }, "Refresh")),
      h("div", { class: "scroll" }, h("table", { class: "grid", id: "traces" },
        h("thead", null, h("tr", null, h("th", null, "trace"), h("th", null, "about"), h("th", null, "status"),
          h("th", { class: "num" }, "duration"), h("th", null, "started"))), this.body)));
    this.root.append(main);
    await this.load();
  }

  async load() {
    try {
      const { spans, pagination } = await api.get(`/observability/traces${api.query({ perPage: 200 })}`, { signal: this.signal });
      this.spans = spans;
      this.note.textContent = `${pagination.total} traces`;
      this.draw();
    } catch (error) {
      if (error.name !== "AbortError") fill(this.body, h("tr", null, h("td", { colspan: 5 }, errorBox(error, "Cannot list traces"))));
    }
  }

  draw() {
    const shown = this.spans.filter((s) => this.showGets || !isGet(s));
    if (!shown.length) {
      fill(this.body, h("tr", null, h("td", { colspan: 5, class: "hint" }, this.spans.length
        ? "Only GET requests so far: run an agent or a workflow, or show GET requests."
        : "No traces. They are kept when telemetry is on and the registry has storage: Mastra(..., telemetry=Telemetry(enabled=True), storage=...).")));
      return;
    }
    fill(this.body, shown.map((span) => {
      const about = h("td", { class: "hint" });
      const row = h("tr", { class: "click", dataset: { trace: span.traceId }, onclick: () => { location.hash = `#/traces/${span.traceId}`; } },
        h("td", null, h("code", null, title(span)), " ", h("span", { class: "hint" }, short(span.traceId))),
        about,
        h("td", null, status(span.status === "unset" ? "ok" : span.status), " ", span.attributes?.["http.response.status_code"] ?? ""),
        h("td", { class: "num" }, ms(span.durationMs)),
        h("td", null, when(span.startedAt)));
      if (!isGet(span)) this.describe(span.traceId, about);
      return row;
    }));
  }

  /** Fill "about" from the trace's spans: the agent or workflow, the models and the tokens. */
  async describe(traceId, cell) {
    try {
      const { spans } = await api.get(`/observability/traces/${traceId}`, { signal: this.signal });
      fill(cell, summary(spans));
    } catch { /* the list still reads without it */ }
  }
}

function summary(spans) {
  const about = new Set();
  let tokensIn = 0;
  let tokensOut = 0;
  for (const s of spans) {
    const a = s.attributes || {};
    if (s.name === "agent.run") about.add(`agent ${a["gen_ai.agent.name"]}`);
    if (s.name === "workflow.run") about.add(`workflow ${a.workflow}`);
    if (s.name === "gen_ai.chat") {
      about.add(a["gen_ai.request.model"]);
      tokensIn += a["gen_ai.usage.input_tokens"] || 0;
      tokensOut += a["gen_ai.usage.output_tokens"] || 0;
    }
  }
  const parts = [[...about].filter(Boolean).join(", "), tokensIn + tokensOut ? `${tokensIn}→${tokensOut} tokens` : ""];
  parts.push(spans.length === 1 ? "1 span" : `${spans.length} spans`);
  return parts.filter(Boolean).join(" · ");
}

class TraceView {
  constructor(root, traceId, signal) {
    this.root = root;
    this.traceId = traceId;
    this.signal = signal;
  }

  async start() {
    this.head = h("div", { class: "head" }, h("a", { href: "#/traces" }, "← Traces"), h("h2", null, `Trace ${short(this.traceId)}`));
    this.view = h("div", { class: "scroll" }, h("p", { class: "loading" }, "Loading the trace…"));
    this.panel = h("aside", { class: "panel", id: "span-detail" }, h("span", { class: "hint" }, "Click a span to see its attributes."));
    this.root.append(h("section", { class: "main" }, this.head, this.view), this.panel);
    // Spans reach storage in batches (about once a second): wait for the root span a little.
    for (let attempt = 0; attempt < 12; attempt++) {
      let spans = null;
      try {
        spans = (await api.get(`/observability/traces/${this.traceId}`, { signal: this.signal })).spans;
      } catch (error) {
        if (error.name === "AbortError") return;
        if (error.status !== 404) { fill(this.view, errorBox(error, "Cannot load the trace")); return; }
      }
      if (spans?.length) this.draw(spans);
      if (spans?.some((s) => !s.parentSpanId)) return;
      if (attempt === 0 && !spans) fill(this.view, h("p", { class: "loading" }, "Waiting for the spans to be written…"));
      await new Promise((resolve) => setTimeout(resolve, 400));
      if (this.signal.aborted) return;
    }
    if (!this.spans) fill(this.view, errorBox(new Error("no spans were stored for it (is telemetry on, with storage?)"), `No trace ${this.traceId}`));
  }

  draw(spans) {
    this.spans = spans;
    const starts = spans.map((s) => Date.parse(s.startedAt));
    const t0 = Math.min(...starts);
    const total = Math.max(...spans.map((s, i) => starts[i] + s.durationMs), t0 + 1) - t0;
    const children = new Map();
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) {
      const parent = ids.has(s.parentSpanId) ? s.parentSpanId : null;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(s);
    }
    const rows = [];
    const walk = (parent, depth) => {
      for (const s of (children.get(parent) || []).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))) {
        rows.push(this.row(s, depth, t0, total));
        walk(s.spanId, depth + 1);
      }
    };
    walk(null, 0);
    const root = spans.find((s) => !s.parentSpanId);
    fill(this.head, h("a", { href: "#/traces" }, "← Traces"), h("h2", null, root ? title(root) : `Trace ${short(this.traceId)}`),
      h("span", { class: "sub" }, summary(spans)), h("span", { class: "chip" }, ms(total)),
      root ? status(root.status === "unset" ? "ok" : root.status) : h("span", { class: "hint" }, "(root span not written yet)"));
    const ruler = h("div", { class: "span ruler" }, h("div", { class: "sname" }, "span"),
      h("div", { class: "ticks" }, [0, 0.25, 0.5, 0.75].map((f) => h("span", { style: `left:${f * 100}%` }, f ? ms(f * total) : "0"))),
      h("div", { class: "sdur" }, ms(total)));
    fill(this.view, h("div", { class: "wf", id: "waterfall" }, ruler, rows));
    const first = spans.find((s) => s.name === "agent.run" || s.name === "workflow.run") || root || spans[0];
    this.pick(first);
  }

  row(span, depth, t0, total) {
    const left = ((Date.parse(span.startedAt) - t0) / total) * 100;
    const width = Math.max((span.durationMs / total) * 100, 0.3);
    const kind = span.status === "error" ? "error" : span.name.split(".")[0];
    const el = h("div", { class: "span", dataset: { span: span.name, id: span.spanId }, onclick: () => this.pick(span) },
      h("div", { class: "sname", style: `padding-left:${depth * 14}px`, title: span.name }, span.name, h("small", null, label(span))),
      h("div", { class: "track" }, h("div", { class: `bar ${kind}`, style: `left:${left}%;width:${Math.min(width, 100 - left)}%` })),
      h("div", { class: "sdur" }, ms(span.durationMs)));
    span.row = el;
    return el;
  }

  pick(span) {
    for (const s of this.spans) s.row?.classList.toggle("on", s === span);
    const attributes = Object.entries(span.attributes || {});
    const genai = attributes.filter(([k]) => k.startsWith("gen_ai."));
    const other = attributes.filter(([k]) => !k.startsWith("gen_ai."));
    const list = (pairs, cls) => h("dl", { class: `kv ${cls || ""}` }, pairs.map(([k, v]) =>
      [h("dt", null, k), h("dd", null, typeof v === "object" ? JSON.stringify(v) : String(v))]));
    fill(this.panel,
      h("h3", null, "Span"), h("h2", null, span.name),
      list([["status", span.status], ["duration", ms(span.durationMs)], ["started", span.startedAt], ["span id", span.spanId],
        ["parent", span.parentSpanId || "—"], ["service", span.service]]),
      span.error ? errorBox(span.error, "Error") : null,
      genai.length ? [h("h3", null, "GenAI"), list(genai, "genai")] : null,
      other.length ? [h("h3", null, "Attributes"), list(other)] : null,
      span.events?.length ? [h("h3", null, "Events"), json(span.events)] : null);
  }
}
