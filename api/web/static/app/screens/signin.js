// Sign in with a bearer token (from 'isokin token create' or an admin); kept in this tab only.
import { auth, get } from "../api.js";
import { field, h } from "../dom.js";

export function signinScreen() {
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true, spellcheck: "false", size: 60 });
  const error = h("p", { class: "msg error", hidden: true, role: "alert" });
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    error.hidden = true;
    auth.set(input.value.trim());
    try {
      auth.me = await get("/me");
      const after = sessionStorage.getItem("isokin.after");
      sessionStorage.removeItem("isokin.after");
      location.hash = after && after !== "#/signin" ? after : "#/subjects";
    } catch (err) {
      auth.clear();
      error.textContent = err.status === 401 ? "This token is not valid (or was revoked)." : err.message;
      error.hidden = false;
      input.focus();
    }
  } },
  field("Token", input, "Paste the token printed by 'isokin token create --role operator' (or given by your admin). It stays in this browser tab only."),
  error,
  h("button", { type: "submit", class: "primary" }, "Sign in"));
  return h("section", {}, h("h1", {}, "Sign in"), form,
    h("p", { class: "muted" }, "Viewers read subjects and reports; operators also run tests and manage subjects; admins also manage tokens."));
}
