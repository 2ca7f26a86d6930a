// A committed workflow's stepGraph drawn top to bottom: a row per entry; parallel, branch,
// loop and foreach rows framed and labelled. Nodes take the state of the run's step keys.
import { fill, h } from "./dom.js";

/** The graph node a run's step key belongs to: "review#2" -> "review", "inner.x[1]" -> "inner". */
export function nodeOf(key) {
  return key.split(".")[0].replace(/#\d+$|\[\d+\]$/, "");
}

/** The describe() key of a step key: loop and foreach markers dropped in every segment. */
export function stepOf(key) {
  return key.replace(/#\d+|\[\d+\]/g, "");
}

export class Graph {
  constructor(workflow, onPick) {
    this.workflow = workflow;
    this.onPick = onPick;
    this.nodes = new Map();
    this.el = h("div", { class: "graph", id: "graph" });
    const rows = workflow.stepGraph.map((entry) => this.row(entry));
    this.el.append(h("span", { class: "gstart" }, "input"));
    for (const row of rows) this.el.append(h("div", { class: "gline" }), row);
    this.el.append(h("div", { class: "gline" }), h("span", { class: "gend" }, "output"));
  }

  row(entry) {
    switch (entry.type) {
      case "parallel":
        return this.group("parallel", entry.steps.map((s) => this.node(s.step)));
      case "conditional":
        return this.group("branch", entry.steps.map((s, i) =>
          this.node(s.step, `when ${entry.serializedConditions?.[i]?.fn || "condition"}`)));
      case "loop":
        return this.group(`${entry.loopType} ↻`, [this.node(entry.step, entry.loopType === "dountil" ? "repeat until" : "repeat while")]);
      case "foreach":
        return this.group(`foreach ×${entry.opts?.concurrency ?? 1}`, [this.node(entry.step, "per item")]);
      case "sleep":
        return h("div", { class: "grow" }, h("div", { class: "gnode sleep" },
          h("div", { class: "id" }, "sleep"), h("div", { class: "what" }, `${entry.duration} ms`)));
      default:
        return h("div", { class: "grow" }, this.node(entry.step));
    }
  }

  group(label, nodes) {
    return h("div", { class: "grow group" }, h("span", { class: "glabel" }, label), nodes);
  }

  node(step, what) {
    const inner = step.component === "WORKFLOW"
      ? Object.keys(this.workflow.allSteps).filter((k) => k.startsWith(`${step.id}.`) && !k.slice(step.id.length + 1).includes(".")).length
      : 0;
    const kind = step.component === "WORKFLOW" ? `workflow · ${inner} steps` : step.mapConfig ? `fn ${step.mapConfig}` : null;
    const state = h("div", { class: "state" }, "");
    const el = h("div", {
      class: "gnode", tabindex: 0, dataset: { step: step.id }, title: step.description || step.id,
      onclick: () => this.onPick(step.id),
    }, h("div", { class: "id" }, step.id), kind || what ? h("div", { class: "what" }, [kind, what].filter(Boolean).join(" · ")) : null, state);
    this.nodes.set(step.id, { el, state });
    return el;
  }

  /** Show the states of a run's steps ({key: {status}}): per node the latest, and how many
   * iterations or items ran. */
  show(steps) {
    const byNode = new Map();
    for (const [key, result] of Object.entries(steps || {})) {
      const id = nodeOf(key);
      const seen = byNode.get(id) || { count: 0, status: null, iterated: false };
      seen.count += 1;
      seen.iterated ||= key !== id && !key.startsWith(`${id}.`);
      seen.status = rank(result.status) >= rank(seen.status) ? result.status : seen.status;
      byNode.set(id, seen);
    }
    for (const [id, { el, state }] of this.nodes) {
      const seen = byNode.get(id);
      el.className = el.className.replace(/ (running|success|suspended|failed|canceled)/g, "");
      if (!seen) { fill(state); continue; }
      el.classList.add(seen.status);
      fill(state, seen.status + (seen.iterated ? ` · ${seen.count} runs` : ""));
    }
  }

  select(id) {
    for (const [key, { el }] of this.nodes) el.classList.toggle("sel", key === id);
  }
}

const RANKS = { success: 1, running: 2, canceled: 3, suspended: 4, failed: 5 };
const rank = (status) => RANKS[status] || 0;
