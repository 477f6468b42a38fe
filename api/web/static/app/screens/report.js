// A session's report: the same HTML as the PDF (made by the server from the JSON report),
// a PDF download, the browser's print, and the JSON and CSV.
import { api, download, get } from "../api.js";
import { h, notify } from "../dom.js";

export async function reportScreen(id) {
  const session = await get(`/sessions/${id}`);
  const subject = await get(`/subjects/${session.subject_id}`);
  const body = h("div", { class: "report-body" }, h("p", { class: "muted" }, "Analysing the session…"));
  const pdfButton = h("button", { type: "button", class: "primary", onclick: async () => {
    pdfButton.disabled = true; pdfButton.textContent = "Making the PDF…";
    try { await download(`/sessions/${id}/report.pdf`, `session-${id}-report.pdf`); } catch (err) { notify(err.message, "error"); }
    pdfButton.disabled = false; pdfButton.textContent = "Print / PDF";
  } }, "Print / PDF");
  const root = h("section", { class: "report-page" },
    h("p", { class: "crumbs no-print" }, h("a", { href: "#/subjects" }, "Subjects"), " / ", h("a", { href: `#/subjects/${subject.id}` }, subject.code),
      " / ", h("a", { href: `#/sessions/${id}` }, `session ${session.date}`), " / report"),
    h("h1", { class: "no-print" }, `Report: ${subject.code}, ${session.date}`),
    h("div", { class: "actions no-print" }, pdfButton,
      h("button", { type: "button", onclick: () => window.print() }, "Print this page"),
      h("button", { type: "button", onclick: () => download(`/sessions/${id}/report`, `session-${id}-report.json`).catch((e) => notify(e.message, "error")) }, "JSON"),
      h("button", { type: "button", onclick: () => download(`/sessions/${id}/report?format=csv`, `session-${id}-report.csv`).catch((e) => notify(e.message, "error")) }, "CSV")),
    body);
  api("GET", `/sessions/${id}/report.html`, undefined, { raw: true })
    .then((r) => r.text())
    .then((html) => {
      // The server's template escapes every text it prints; the figures are SVG it drew.
      const template = document.createElement("template");
      template.innerHTML = html;
      body.replaceChildren(template.content);
      body.dataset.ready = "true";
    })
    .catch((err) => body.replaceChildren(h("p", { class: "msg error" }, err.message)));
  return root;
}
