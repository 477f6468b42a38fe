// Subjects: the list with search, and a form to create one (operators).
import { auth, getAll, post } from "../api.js";
import { field, fmt, formValues, h, notify, select } from "../dom.js";

export const SEXES = [["", "–"], ["female", "female"], ["male", "male"], ["other", "other"]];
export const SIDES = [["", "–"], ["left", "left"], ["right", "right"]];

/** The subject form's controls (create and edit share them). */
export function subjectFields(s = {}) {
  const year = new Date().getFullYear();
  return [
    field("Code (pseudonymous, no names)", h("input", { name: "code", required: true, maxlength: 64, value: s.code || "", autocomplete: "off" })),
    field("Sex", select("sex", SEXES, s.sex)),
    field("Birth year", h("input", { name: "birth_year", type: "number", min: 1900, max: year, step: 1, value: s.birth_year ?? "" })),
    field("Body mass (kg)", h("input", { name: "body_mass_kg", type: "number", min: 1, max: 400, step: "0.1", value: s.body_mass_kg ?? "" })),
    field("Height (cm)", h("input", { name: "height_cm", type: "number", min: 1, max: 300, step: "0.1", value: s.height_cm ?? "" })),
    field("Dominant side", select("dominant_side", SIDES, s.dominant_side)),
    field("Involved side", select("involved_side", SIDES, s.involved_side), "The injured or operated side: deficits use the other side as reference."),
    field("Sport or population", h("input", { name: "sport", maxlength: 64, value: s.sport || "", placeholder: "e.g. soccer", autocomplete: "off" }),
      "Reference values are those of this sport's players; empty: the general population (isokin norms lists the sets)."),
    field("Notes", h("textarea", { name: "notes", rows: 2, maxlength: 10000 }, s.notes || "")),
  ];
}

/** Form values for the subject API: empty fields are null, notes an empty string. */
export function subjectBody(form) {
  const body = formValues(form);
  body.notes = body.notes || "";
  return body;
}

export async function subjectsScreen() {
  const subjects = await getAll("/subjects");
  const search = h("input", { type: "search", name: "q", placeholder: "code or notes", autocomplete: "off" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const body = h("tbody");
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = subjects.filter((s) => !q || s.code.toLowerCase().includes(q) || (s.notes || "").toLowerCase().includes(q));
    count.textContent = `${shown.length} of ${subjects.length} subjects`;
    body.replaceChildren(...shown.map((s) => h("tr", {},
      h("th", { scope: "row" }, h("a", { href: `#/subjects/${s.id}` }, s.code)),
      h("td", {}, s.sex || "–"), h("td", {}, s.birth_year ?? "–"), h("td", {}, fmt(s.body_mass_kg, 1)),
      h("td", {}, s.involved_side || "–"), h("td", { class: "notes" }, s.notes || ""))));
  };
  search.addEventListener("input", draw);
  draw();
  const list = h("table", { class: "list" },
    h("thead", {}, h("tr", {}, ["Code", "Sex", "Birth year", "Body mass (kg)", "Involved side", "Notes"].map((t) => h("th", { scope: "col" }, t)))),
    body);
  let create = null;
  if (auth.mayOperate) {
    const form = h("form", { class: "card grid-form", onsubmit: async (event) => {
      event.preventDefault();
      try {
        const created = await post("/subjects", subjectBody(form));
        notify(`Subject ${created.code} created.`, "ok");
        location.hash = `#/subjects/${created.id}`;
      } catch (err) { notify(err.message, "error"); }
    } }, subjectFields(), h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create subject")));
    create = h("details", { class: "create" }, h("summary", {}, "New subject"), form);
  }
  return h("section", {}, h("h1", {}, "Subjects"),
    h("div", { class: "toolbar" }, field("Search", search), count), create, list);
}
