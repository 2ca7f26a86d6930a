// Workflows: the graph, a run started from checked JSON input, live step states, a resume
// form for a suspended step, and the stored runs.
import * as api from "./api.js";
import { errorBox, fill, h, json, ms, short, status, when } from "./dom.js";
import { Graph, nodeOf, stepOf } from "./graph.js";
import * as schema from "./schema.js";

export function render(root, [workflowId]) {
  const side = h("aside", { class: "side" }, h("p", { class: "loading" }, "Loading workflows…"));
  const main = h("section", { class: "main" });
  root.append(side, main);
  const controller = new AbortController();
  api.get("/workflows", { signal: controller.signal }).then((workflows) => {
    const ids = Object.keys(workflows);
    const chosen = workflows[workflowId] ? workflowId : ids[0];
    fill(side, h("h3", null, "Workflows"), h("ul", { class: "list" }, ids.map((id) =>
      h("li", { class: id === chosen ? "on" : null },
        h("a", { href: `#/workflows/${encodeURIComponent(id)}` }, id,
          h("span", { class: "meta" }, `${Object.keys(workflows[id].allSteps).length} steps`))))));
    if (!chosen) fill(main, h("p", { class: "empty" }, "No workflows are registered with this server."));
    else new WorkflowView(chosen, workflows[chosen], main, controller.signal).start();
  }).catch((error) => {
    if (error.name !== "AbortError") fill(side, errorBox(error, "Cannot list workflows"));
  });
  return () => controller.abort();
}

class WorkflowView {
  constructor(id, workflow, main, signal) {
    this.id = id;
    this.base = `/workflows/${encodeURIComponent(id)}`;
    this.workflow = workflow;
    this.main = main;
    this.signal = signal;
    this.run = null; // {runId, status, steps, result, error}
    this.picked = null;
  }

  start() {
    const wf = this.workflow;
    this.graph = new Graph(wf, (step) => this.pick(step));
    this.stepBox = h("div", { class: "card", id: "step-detail" }, h("span", { class: "hint" }, "Click a step to see its schemas and its last result."));
    this.inputSchema = schema.parse(wf.inputSchema);
    this.editor = schema.jsonEditor(this.inputSchema, this.inputSchema, "workflow-input");
    this.inputProblems = h("div", { class: "bad", id: "input-problems" });
    this.startButton = h("button", { class: "primary", id: "start-run", onclick: () => this.startRun() }, "Start run");
    this.editor.el.addEventListener("input", () => this.checkInput());
    this.runBox = h("div", { class: "card", id: "run" }, h("span", { class: "hint" }, "No run selected."));
    this.runsBody = h("tbody");
    fill(this.main,
      h("div", { class: "head" }, h("h2", null, wf.name),
        wf.description ? h("span", { class: "sub" }, wf.description) : null),
      h("div", { class: "scroll" }, h("div", { class: "wfcols" },
        h("div", null, h("div", { class: "card" }, h("h3", null, "Graph"), this.graph.el), this.stepBox),
        h("div", null,
          h("div", { class: "card" }, h("h3", null, "Input"), this.editor.el, this.inputProblems,
            h("div", { class: "row" }, this.startButton,
              h("span", { class: "hint" }, "checked against the workflow's input schema"))),
          this.runBox,
          h("div", { class: "card" }, h("h3", null, "Runs"),
            h("table", { class: "grid", id: "runs" },
              h("thead", null, h("tr", null, h("th", null, "run"), h("th", null, "status"), h("th", null, "updated"))),
              this.runsBody))))));
    this.checkInput();
    this.listRuns();
  }

  checkInput() {
    const [, problems] = this.editor.value();
    this.inputProblems.textContent = problems.join("\n");
    this.startButton.disabled = problems.length > 0 || this.busy;
    return problems.length === 0;
  }

  pick(stepId) {
    this.picked = stepId;
    this.graph.select(stepId);
    const info = this.workflow.allSteps[stepId];
    const results = Object.entries(this.run?.steps || {}).filter(([key]) => nodeOf(key) === stepId);
    fill(this.stepBox,
      h("h3", null, `Step ${stepId}`),
      info?.description ? h("p", { class: "hint" }, info.description) : null,
      results.map(([key, result]) => h("div", null, h("div", { class: "row" }, h("code", null, key), status(result.status)),
        result.output !== undefined ? json(result.output) : null,
        result.error ? errorBox({ message: result.error }, "Error") : null,
        result.suspendPayload !== undefined ? json(result.suspendPayload) : null)),
      info ? [["input", info.inputSchema], ["output", info.outputSchema], ["resume", info.resumeSchema]]
        .filter(([, s]) => s && s !== "{}")
        .map(([name, s]) => h("details", null, h("summary", { class: "hint" }, `${name} schema`), json(schema.parse(s)))) : null);
  }

  // -- runs ------------------------------------------------------------------------------

  async startRun() {
    if (!this.checkInput() || this.busy) return;
    const [input] = this.editor.value();
    await this.drive(async () => {
      const { runId } = await api.post(`${this.base}/create-run`, {}, { signal: this.signal });
      this.setRun({ runId, status: "running", steps: {} });
      await api.records("POST", `${this.base}/stream${api.query({ runId })}`, { inputData: input },
        (record) => this.event(record), { signal: this.signal });
      return runId;
    });
  }

  async resume(key, data) {
    const runId = this.run.runId;
    await this.drive(async () => {
      this.run.status = "running";
      this.showRun();
      await api.records("POST", `${this.base}/resume-stream${api.query({ runId })}`, { step: key.split("."), resumeData: data },
        (record) => this.event(record), { signal: this.signal });
      return runId;
    });
  }

  /** Run `work` (which streams events), then load the stored run for its final state. */
  async drive(work) {
    this.busy = true;
    this.checkInput();
    let runId = this.run?.runId;
    try {
      runId = await work();
      await this.load(runId);
    } catch (error) {
      if (error.name === "AbortError") return;
      this.failure = error;
    } finally {
      this.busy = false;
      this.checkInput();
      if (this.run && !this.signal.aborted) this.showRun();
      this.listRuns();
    }
  }

  event({ type, payload }) {
    const run = this.run;
    if (!run || !payload) return;
    if (type === "workflow-step-start") run.steps[payload.id] = { status: "running", startedAt: payload.startedAt };
    else if (type === "workflow-step-result" || type === "workflow-step-suspended") {
      const { id, stepCallId, ...result } = payload;
      run.steps[id] = { ...run.steps[id], ...result };
    } else if (type === "workflow-finish") run.status = payload.workflowStatus;
    this.showRun();
  }

  async load(runId) {
    const stored = await api.get(`${this.base}/runs/${encodeURIComponent(runId)}`, { signal: this.signal });
    this.setRun({ runId, status: stored.status, steps: stored.steps, result: stored.result, error: stored.error });
    return stored;
  }

  async open(runId) {
    if (this.busy) return;
    try {
      const stored = await this.load(runId);
      if (stored.status === "running") {
        await this.drive(async () => {
          await api.records("GET", `${this.base}/watch${api.query({ runId })}`, undefined, (r) => this.event(r), { signal: this.signal });
          return runId;
        });
      }
    } catch (error) {
      if (error.name !== "AbortError") fill(this.runBox, errorBox(error, "Cannot load the run"));
    }
  }

  setRun(run) {
    this.run = run;
    this.failure = null;
    this.showRun();
  }

  showRun() {
    const run = this.run;
    this.graph.show(run.steps);
    if (this.picked) this.pick(this.picked);
    const keys = Object.keys(run.steps);
    const suspended = keys.filter((k) => run.steps[k].status === "suspended");
    fill(this.runBox,
      h("h3", null, "Run"),
      h("div", { class: "row" }, h("code", { title: run.runId }, short(run.runId)), h("span", { id: "run-status" }, status(run.status))),
      h("table", { class: "grid", id: "run-steps" }, h("tbody", null, keys.map((key) => {
        const s = run.steps[key];
        const took = s.endedAt && s.startedAt ? ms(s.endedAt - s.startedAt) : "";
        return h("tr", { class: "click", onclick: () => this.pick(nodeOf(key)) },
          h("td", null, h("code", null, key)), h("td", null, status(s.status)), h("td", { class: "num" }, took));
      }))),
      this.busy ? null : suspended.map((key) => this.resumeForm(key)),
      run.status === "success" && run.result !== undefined ? [h("h3", null, "Result"), json(run.result)] : null,
      run.error ? errorBox(run.error, "Failed") : null,
      this.failure ? errorBox(this.failure, "The request failed") : null);
  }

  resumeForm(key) {
    const info = this.workflow.allSteps[stepOf(key)] || {};
    const resumeSchema = schema.parse(info.resumeSchema);
    const form = Object.keys(resumeSchema).length
      ? schema.form(resumeSchema, resumeSchema, `resume-${stepOf(key)}`)
      : schema.jsonEditor({}, {}, `resume-${stepOf(key)}`, null);
    const problems = h("div", { class: "bad" });
    const submit = (event) => {
      event.preventDefault();
      const [value, found] = form.value();
      problems.textContent = found.join("\n");
      if (!found.length) this.resume(key, value);
    };
    return h("form", { class: "card attention resume", dataset: { step: key }, onsubmit: submit },
      h("h3", null, `Suspended: ${key}`),
      h("div", { class: "hint" }, "It asked:"), json(this.run.steps[key].suspendPayload ?? null),
      h("div", { class: "hint" }, "Resume with:"), form.el, problems,
      h("button", { class: "primary", type: "submit" }, "Resume"));
  }

  async listRuns() {
    try {
      const { runs } = await api.get(`${this.base}/runs${api.query({ perPage: 20 })}`, { signal: this.signal });
      fill(this.runsBody, runs.length ? runs.map((r) => h("tr", {
        class: `click${r.runId === this.run?.runId ? " on" : ""}`, onclick: () => this.open(r.runId), dataset: { run: r.runId },
      }, h("td", null, h("code", { title: r.runId }, short(r.runId))), h("td", null, status(r.status)), h("td", null, when(r.updatedAt))))
        : h("tr", null, h("td", { colspan: 3, class: "hint" }, "No stored runs (runs are kept when the workflow has storage).")));
    } catch (error) {
      if (error.name !== "AbortError") fill(this.runsBody, h("tr", null, h("td", { colspan: 3 }, errorBox(error, "Runs"))));
    }
  }
}
