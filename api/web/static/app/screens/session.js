// A session: its trials (state, samples, gaps, weighing), and the ways on: run a test, the report.
import { auth, get, getAll } from "../api.js";
import { fmt, h } from "../dom.js";

export async function sessionScreen(id) {
  const session = await get(`/sessions/${id}`);
  const [subject, trials] = await Promise.all([get(`/subjects/${session.subject_id}`), getAll(`/sessions/${id}/trials`)]);
  const rows = trials.map((t) => h("tr", {},
    h("th", { scope: "row" }, `#${t.id}`), h("td", {}, t.side), h("td", {}, `${t.joint} ${t.mode}${t.group ? " " + t.group : ""}`),
    h("td", {}, `${fmt(t.velocity_plus_dps, 0)}/${fmt(t.velocity_minus_dps, 0)}`), h("td", {}, t.repetitions),
    h("td", {}, h("span", { class: `pill state-${t.state}` }, t.state)), h("td", {}, t.acquisition.samples),
    h("td", {}, `${t.acquisition.gaps} / ${t.acquisition.lost_samples}`),
    h("td", {}, t.gravity_torque_nm === null ? "not weighed" : `${fmt(t.gravity_torque_nm, 1)} N.m`),
    h("td", {}, t.interrupted_reason || t.end_reason || "")));
  return h("section", {},
    h("p", { class: "crumbs" }, h("a", { href: "#/subjects" }, "Subjects"), " / ", h("a", { href: `#/subjects/${subject.id}` }, subject.code), " / ", `session ${session.date}`),
    h("h1", {}, `Session ${session.date}: ${subject.code}`),
    session.notes ? h("p", {}, session.notes) : null,
    h("div", { class: "actions" },
      auth.mayOperate ? h("a", { class: "btn primary", href: `#/sessions/${id}/run` }, "Run a test") : null,
      h("a", { class: "btn", href: `#/sessions/${id}/report` }, "Report")),
    h("section", { class: "card", "aria-labelledby": "tr-h" }, h("h2", { id: "tr-h" }, "Trials"),
      trials.length ? h("table", { class: "list" },
        h("thead", {}, h("tr", {}, ["Trial", "Side", "Set", "Velocity (deg/s)", "Reps", "State", "Samples", "Gaps / lost", "Limb weight", "Note"].map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, rows)) : h("p", { class: "muted" }, "No trial yet.")));
}
