// Small DOM helpers: elements built from data with textContent only (never innerHTML of data).

/** An element: h("a", {href: "#/x", class: "btn", onclick: f}, "text", child, [more]) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else if (key === "checked" || key === "disabled" || key === "selected" || key === "required" || key === "hidden") el[key] = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uid = 0;
/** A labelled form field: the label's for= names the control's id. */
export function field(label, control, help) {
  if (!control.id) control.id = `f${++uid}`;
  const helpEl = help ? h("small", { class: "help", id: `${control.id}-help` }, help) : null;
  if (helpEl) control.setAttribute("aria-describedby", helpEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, helpEl);
}

/** A <select> from [value, text] pairs (or plain values). */
export function select(name, options, value, props = {}) {
  return h("select", { name, ...props },
    options.map((o) => {
      const [v, t] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: String(v) === String(value ?? "") }, t);
    }));
}

/** Form values as an object; empty strings become null, number inputs numbers. */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") { out[el.name] = el.checked; continue; }
    const text = el.value.trim();
    out[el.name] = text === "" ? null : el.type === "number" ? Number(text) : text;
  }
  return out;
}

/** A figure with fixed decimals, or a dash. */
export function fmt(value, decimals = 1) {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(decimals);
}

/** Show a message in the live region (kind: info, ok, error). */
export function notify(message, kind = "info") {
  const box = document.getElementById("notice");
  box.dataset.at = String(Date.now());
  box.replaceChildren(h("div", { class: `msg ${kind}` }, message,
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => box.replaceChildren() }, "×")));
  if (kind !== "error") setTimeout(() => { if (box.firstChild && box.textContent.startsWith(message)) box.replaceChildren(); }, 6000);
}

/** A table from headers and rows of cells (strings or nodes). */
export function table(headers, rows, props = {}) {
  return h("table", props,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 && props.rowHeaders ? h("th", { scope: "row" }, c) : h("td", {}, c)))))));
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

/** Clear the message of an earlier screen (one just given by the action that led here stays). */
export function clearStaleNotice() {
  const box = document.getElementById("notice");
  if (Date.now() - Number(box.dataset.at || 0) > 1500) box.replaceChildren();
}
