// Workflow status.
import { LOCALE, tr } from "../lib/i18n.js";
import { api, checked, data, esc, request } from "./page.js";
import { act } from "./tools.js";

// Workflow status.
const workflow = document.getElementById("workflow");
const labels = { machine_transcript: "Machine transcript", in_review: "In review", approved: "Approved" };

export function showWorkflow() {
  var w = data.workflow;
  workflow.innerHTML = w.steps.map(function (step) {
    return '<option value="' + step + '"' + (step === w.status ? " selected" : "") + ">" + esc(labels[step] ? tr(labels[step]) : step) + "</option>";
  }).join("");
  document.getElementById("workflow-line").textContent = (labels[w.status] ? tr(labels[w.status]) : w.status) +
    (w.by ? ", " + tr("set by %(name)s", { name: w.by }) : "") + (w.at ? " " + tr("on %(when)s", { when: new Date(w.at).toLocaleString(LOCALE) }) : "") + ".";
}

document.getElementById("workflow-form").addEventListener("submit", function (event) {
  event.preventDefault();
  act(request("POST", api + "/interviews/" + data.interview + "/workflow", { status: workflow.value }).then(checked).then(function (json) {
    data.workflow.status = json.workflow_status;
    data.workflow.by = document.querySelector(".who") ? document.querySelector(".who").firstChild.textContent.trim() : "you";
    data.workflow.at = new Date().toISOString();
    showWorkflow();
  }));
});
