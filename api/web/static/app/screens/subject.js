// A subject: details (editable by operators), sessions, history of ratios and deficits, re-test goals.
import { auth, del, get, getAll, patch, post } from "../api.js";
import { field, fmt, formValues, h, notify, select, today } from "../dom.js";
import { historyChart } from "../charts.js";
import { subjectBody, subjectFields } from "./subjects.js";

export async function subjectScreen(id) {
  const [subject, sessions] = await Promise.all([get(`/subjects/${id}`), getAll(`/subjects/${id}/sessions`)]);
  const root = h("section", {}, h("p", { class: "crumbs" }, h("a", { href: "#/subjects" }, "Subjects"), " / ", subject.code),
    h("h1", {}, `Subject ${subject.code}`));
  root.append(detailsCard(subject), sessionsCard(subject, sessions));
  const history = h("section", { class: "card", "aria-labelledby": "hist-h" }, h("h2", { id: "hist-h" }, "History"), h("p", { class: "muted" }, "Analysing the sessions…"));
  const goals = h("section", { class: "card", "aria-labelledby": "goals-h" }, h("h2", { id: "goals-h" }, "Re-test goals"), h("p", { class: "muted" }, "Loading…"));
  root.append(goals, history);
  fillHistory(history, subject, sessions).catch((err) => history.append(h("p", { class: "msg error" }, err.message)));
  fillGoals(goals, subject).catch((err) => goals.append(h("p", { class: "msg error" }, err.message)));
  return root;
}

function detailsCard(subject) {
  const facts = [["Sex", subject.sex], ["Birth year", subject.birth_year], ["Body mass (kg)", fmt(subject.body_mass_kg, 1)],
    ["Height (cm)", fmt(subject.height_cm, 0)], ["Dominant side", subject.dominant_side], ["Involved side", subject.involved_side],
    ["Sport or population", subject.sport || "general population"], ["Notes", subject.notes]];
  const card = h("section", { class: "card", "aria-labelledby": "det-h" }, h("h2", { id: "det-h" }, "Details"),
    h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? "–" : String(v))))));
  if (auth.mayOperate) {
    const form = h("form", { class: "grid-form", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await patch(`/subjects/${subject.id}`, subjectBody(form));
        notify("Subject saved.", "ok");
        window.dispatchEvent(new HashChangeEvent("hashchange"));
      } catch (err) { notify(err.message, "error"); }
    } }, subjectFields(subject), h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save changes")));
    card.append(h("details", {}, h("summary", {}, "Edit"), form));
  }
  return card;
}

function sessionsCard(subject, sessions) {
  const card = h("section", { class: "card", "aria-labelledby": "ses-h" }, h("h2", { id: "ses-h" }, "Sessions"));
  if (!sessions.length) card.append(h("p", { class: "muted" }, "No session yet."));
  else {
    card.append(h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Date", "Notes", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, sessions.slice().reverse().map((s) => h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/sessions/${s.id}` }, s.date)),
        h("td", {}, s.notes || ""),
        h("td", { class: "actions" },
          auth.mayOperate ? h("a", { href: `#/sessions/${s.id}/run`, class: "btn" }, "Run a test") : null,
          h("a", { href: `#/sessions/${s.id}/report`, class: "btn" }, "Report")))))));
  }
  if (auth.mayOperate) {
    const form = h("form", { class: "inline-form", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const values = formValues(form);
        const created = await post("/sessions", { subject_id: subject.id, date: values.date, notes: values.notes || "" });
        location.hash = `#/sessions/${created.id}/run`;
      } catch (err) { notify(err.message, "error"); }
    } },
    field("Date", h("input", { type: "date", name: "date", value: today(), required: true })),
    field("Notes", h("input", { name: "notes", maxlength: 10000, placeholder: "e.g. 6 months post-op" })),
    h("button", { type: "submit", class: "primary" }, "New session and run a test"));
    card.append(form);
  }
  return card;
}

/** Gravity correction of each history point: the point's own flag, else its trials' weighing. */
function corrections(history, trialsBySession) {
  const weighed = new Map();
  for (const trials of trialsBySession.values()) for (const t of trials) weighed.set(t.id, t.gravity_torque_nm !== null);
  const sessionState = (sessionId) => {
    const done = (trialsBySession.get(sessionId) || []).filter((t) => t.acquisition.samples > 0).map((t) => weighed.get(t.id));
    if (!done.length) return null;
    return done.every(Boolean) ? true : done.some(Boolean) ? null : false;
  };
  return (trend, point) => {
    if (typeof point.gravity_corrected === "boolean") return point.gravity_corrected;
    const ids = (point.trial_ids || []).filter((x) => x !== null);
    if (ids.length) {
      const states = ids.map((x) => weighed.get(x));
      return states.every((x) => x === true) ? true : states.every((x) => x === false) ? false : null;
    }
    return sessionState(point.session_id);
  };
}

async function fillHistory(card, subject, sessions) {
  const history = await get(`/subjects/${subject.id}/history`);
  const trialsBySession = new Map(await Promise.all(sessions.map(async (s) => [s.id, await getAll(`/sessions/${s.id}/trials`)])));
  const corrected = corrections(history, trialsBySession);
  card.querySelector(".muted")?.remove();
  if (!history.trends.length) { card.append(h("p", { class: "muted" }, "No ratio or deficit measured yet.")); return; }
  const series = [];
  for (const trend of history.trends) {
    const split = new Map();
    for (const p of trend.points) {
      const state = corrected(trend, p);
      const key = state === true ? "corrected" : state === false ? "uncorrected" : "correction mixed or unknown";
      if (!split.has(key)) split.set(key, []);
      split.get(key).push(p);
    }
    for (const [key, points] of split) {
      const name = trend.measure === "ratio"
        ? `${trend.label} ${trend.velocity_dps}${trend.other_velocity_dps !== trend.velocity_dps ? "/" + trend.other_velocity_dps : ""} deg/s ${trend.side || ""}`
        : `deficit ${trend.label} ${trend.velocity_dps} deg/s`;
      series.push({ measure: trend.measure, name: `${name} (${key})`, dashed: key !== "corrected", points });
    }
  }
  const dates = history.sessions.map((s) => s.date);
  for (const [measure, title, unit, decimals] of [["ratio", "Agonist/antagonist ratios", "fraction", 2], ["deficit", "Bilateral deficits", "%", 1]]) {
    const chosen = series.filter((s) => s.measure === measure);
    if (!chosen.length) continue;
    card.append(h("h3", {}, title));
    card.append(historyChart(dates, chosen, { unit, decimals }));
    card.append(h("table", { class: "list compact" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Series"), dates.map((d) => h("th", { scope: "col" }, d)))),
      h("tbody", {}, chosen.map((s) => h("tr", {}, h("th", { scope: "row" }, s.name),
        dates.map((d) => { const p = s.points.find((x) => x.date === d); return h("td", {}, p ? fmt(p.value, decimals) : ""); }))))));
  }
  card.append(h("p", { class: "muted" }, "Gravity-corrected and uncorrected values are separate series (dashed: uncorrected or unknown); an uncorrected H:Q reads high (Aagaard 1995)."));
}

const MEASURES = [["lsi", "LSI (%)"], ["deficit", "Deficit (%)"], ["ratio", "Ratio (fraction)"]];
const COMPARISONS = [">=", ">", "<=", "<"];

async function fillGoals(card, subject) {
  const [goals, progress] = await Promise.all([get(`/subjects/${subject.id}/goals`), get(`/subjects/${subject.id}/goals/progress`)]);
  card.querySelector(".muted")?.remove();
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  if (!goals.count) card.append(h("p", { class: "muted" }, "No goal set."));
  for (const entry of progress.goals) {
    const g = entry.goal;
    const unit = g.measure === "ratio" ? "" : " %";
    const decimals = g.measure === "ratio" ? 2 : 1;
    const rows = [];
    for (const s of entry.sessions) {
      if (!s.items.length) rows.push(h("tr", {}, h("th", { scope: "row" }, s.date), h("td", { colspan: 3 }, "not measured"), h("td", {}, s.status)));
      for (const item of s.items) {
        rows.push(h("tr", { class: item.met === true ? "goal-met" : item.met === false ? "goal-not-met" : "" },
          h("th", { scope: "row" }, s.date), h("td", {}, item.label + (item.gravity_corrected === false ? " (uncorrected)" : item.gravity_corrected === null ? " (correction mixed)" : "")),
          h("td", {}, `${fmt(item.value, decimals)}${unit}`),
          h("td", {}, item.change === null ? (item.first_value === null ? "first test" : "–") : `${item.change >= 0 ? "+" : ""}${fmt(item.change, decimals)} since ${item.first_date}`),
          h("td", { class: "status" }, item.met === true ? "met" : item.met === false ? "not met" : "not evaluated")));
      }
    }
    card.append(h("div", { class: "goal" },
      h("h3", {}, `${g.title} ${g.comparison} ${fmt(g.target, decimals)}${unit}`,
        auth.mayOperate ? h("button", { type: "button", class: "link danger", "aria-label": `Delete goal ${g.title}`, onclick: async () => {
          if (!confirm(`Delete the goal "${g.title}"?`)) return;
          try { await del(`/goals/${g.id}`); reload(); } catch (err) { notify(err.message, "error"); }
        } }, "delete") : null),
      g.source ? h("p", { class: "muted" }, `Source: ${g.source}`) : null,
      rows.length ? h("table", { class: "list compact" }, h("thead", {}, h("tr", {}, ["Session", "Figure", "Value", "Progress", "Status"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)) : null));
  }
  if (!auth.mayOperate) return;
  const defaults = h("button", { type: "button", onclick: async () => {
    try {
      const proposals = await get(`/subjects/${subject.id}/goals/defaults`);
      const same = (a, b) => ["measure", "kind", "label", "contraction", "velocity_dps", "side", "comparison", "target"].every((k) => (a[k] ?? null) === (b[k] ?? null));
      const fresh = proposals.data.filter((p) => !goals.data.some((g) => same(p, g)));
      for (const goal of fresh) await post(`/subjects/${subject.id}/goals`, goal);
      notify(fresh.length ? `${fresh.length} goals added from the configured thresholds.` : "The default goals are already set.", "ok");
      reload();
    } catch (err) { notify(err.message, "error"); }
  } }, "Add the default goals");
  const form = h("form", { class: "grid-form", onsubmit: async (event) => {
    event.preventDefault();
    const body = formValues(form);
    body.source = body.source || ""; body.notes = "";
    try { await post(`/subjects/${subject.id}/goals`, body); reload(); } catch (err) { notify(err.message, "error"); }
  } },
  field("Figure", select("measure", MEASURES, "lsi")),
  field("Ratio kind", select("kind", [["", "any"], "conventional", "functional", "eccentric", "mixed"], ""), "Ratios only"),
  field("Group or ratio label", h("input", { name: "label", placeholder: "e.g. flexion, or Hcon/Qcon", maxlength: 64 })),
  field("Contraction", select("contraction", [["", "any"], "concentric", "eccentric"], ""), "LSI and deficit only"),
  field("Velocity (deg/s)", h("input", { name: "velocity_dps", type: "number", min: 1, max: 600, step: 1, placeholder: "any" })),
  field("Side", select("side", [["", "both"], "left", "right"], ""), "Ratios only"),
  field("Comparison", select("comparison", COMPARISONS, ">=")),
  field("Target", h("input", { name: "target", type: "number", step: "any", required: true })),
  field("Source", h("input", { name: "source", maxlength: 500, placeholder: "where the target comes from" })),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add goal")));
  card.append(h("div", { class: "actions" }, defaults), h("details", {}, h("summary", {}, "New goal"), form));
}
