// Vectors: the registry's stores and indexes, an index's stats, and a query box.
import * as api from "./api.js";
import { errorBox, fill, h, json } from "./dom.js";

export function render(root, [store, index]) {
  const controller = new AbortController();
  const side = h("aside", { class: "side" }, h("p", { class: "loading" }, "Loading stores…"));
  const main = h("section", { class: "main" });
  root.append(side, main);
  listStores(side, store, index, controller.signal).then((chosen) => {
    if (chosen) new IndexView(main, chosen.store, chosen.index, controller.signal).start();
    else fill(main, h("p", { class: "empty" }, "Pick an index."));
  }).catch((error) => {
    if (error.name !== "AbortError") fill(side, errorBox(error, "Cannot list vector stores"));
  });
  return () => controller.abort();
}

async function listStores(side, store, index, signal) {
  const { vectors } = await api.get("/vector", { signal });
  if (!vectors.length) {
    fill(side, h("p", { class: "empty" }, "No vector stores are registered."));
    return null;
  }
  const listed = await Promise.all(vectors.map(async (name) => [name, (await api.get(`/vector/${encodeURIComponent(name)}/indexes`, { signal })).indexes]));
  let chosen = null;
  fill(side, listed.map(([name, indexes]) => [
    h("h3", null, name),
    h("ul", { class: "list" }, indexes.length ? indexes.map((ix) => {
      const on = (store === name && index === ix) || (!store && !chosen);
      if (on) chosen = { store: name, index: ix };
      return h("li", { class: on ? "on" : null }, h("a", { href: `#/vectors/${encodeURIComponent(name)}/${encodeURIComponent(ix)}` }, ix));
    }) : h("li", { class: "hint" }, "no indexes")),
  ]));
  return chosen;
}

class IndexView {
  constructor(main, store, index, signal) {
    this.main = main;
    this.base = `/vector/${encodeURIComponent(store)}`;
    this.store = store;
    this.index = index;
    this.signal = signal;
  }

  async start() {
    const stats = await api.get(`${this.base}/indexes/${encodeURIComponent(this.index)}`, { signal: this.signal });
    this.dimension = stats.dimension;
    this.vector = h("textarea", { id: "query-vector", rows: 3, placeholder: `${stats.dimension} numbers: [0.1, 0.2, …] or 0.1, 0.2, …` });
    this.filter = h("textarea", { id: "query-filter", rows: 2, placeholder: '{"source": "faq.md"}  (optional, Mongo-style)' });
    this.topK = h("input", { type: "number", id: "query-topk", value: 10, min: 1, style: "width:70px;flex:none" });
    this.problem = h("div", { class: "bad" });
    this.results = h("div");
    fill(this.main,
      h("div", { class: "head" }, h("h2", null, `${this.store} / ${this.index}`),
        h("span", { class: "chip" }, `${stats.count} vectors`), h("span", { class: "chip" }, `dimension ${stats.dimension}`),
        h("span", { class: "chip" }, stats.metric)),
      h("div", { class: "scroll" },
        h("div", { class: "card" }, h("h3", null, "Query"),
          h("label", { class: "field" }, h("span", null, "Vector"), this.vector),
          h("label", { class: "field" }, h("span", null, "Filter"), this.filter),
          h("div", { class: "row" }, h("span", { class: "hint" }, "top k"), this.topK,
            h("button", { class: "primary", id: "query-run", onclick: () => this.query() }, "Query"),
            h("button", { onclick: () => this.random() }, "Random vector")),
          this.problem),
        this.results));
  }

  random() {
    const values = Array.from({ length: this.dimension }, () => Number((Math.random() * 2 - 1).toFixed(4)));
    this.vector.value = JSON.stringify(values);
  }

  read() {
    const text = this.vector.value.trim();
    const values = text.startsWith("[") ? JSON.parse(text) : text.split(/[\s,]+/).filter(Boolean).map(Number);
    if (!Array.isArray(values) || values.some((v) => typeof v !== "number" || Number.isNaN(v))) throw new Error("the vector must be numbers");
    if (values.length !== this.dimension) throw new Error(`the vector has ${values.length} numbers; this index takes ${this.dimension}`);
    const filter = this.filter.value.trim() ? JSON.parse(this.filter.value) : null;
    return { indexName: this.index, queryVector: values, topK: Number(this.topK.value) || 10, filter, includeVector: true };
  }

  async query() {
    let body;
    try {
      body = this.read();
    } catch (error) {
      this.problem.textContent = error.message;
      return;
    }
    this.problem.textContent = "";
    try {
      const found = await api.post(`${this.base}/query`, body, { signal: this.signal });
      fill(this.results, h("table", { class: "grid", id: "query-results" },
        h("thead", null, h("tr", null, h("th", null, "id"), h("th", { class: "num" }, "score"), h("th", null, "text / metadata"), h("th", null, ""))),
        h("tbody", null, found.map((r) => h("tr", null,
          h("td", null, h("code", null, r.id)),
          h("td", { class: "num" }, r.score.toFixed(4)),
          h("td", null, r.metadata?.text ? h("div", { class: "text" }, r.metadata.text.slice(0, 300)) : null,
            h("details", null, h("summary", { class: "hint" }, "metadata"), json(r.metadata))),
          h("td", null, r.vector ? h("button", { class: "small", onclick: () => { this.vector.value = JSON.stringify(r.vector); this.query(); } }, "similar") : null))))));
    } catch (error) {
      if (error.name !== "AbortError") fill(this.results, errorBox(error, "Query"));
    }
  }
}
