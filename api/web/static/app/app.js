// The isokin web app: a hash router over a few screens, each a function returning an element.
import { ApiError, auth, get } from "./api.js";
import { clearStaleNotice, h, notify } from "./dom.js";
import { deviceScreen } from "./screens/device.js";
import { reportScreen } from "./screens/report.js";
import { runScreen } from "./screens/run.js";
import { sessionScreen } from "./screens/session.js";
import { signinScreen } from "./screens/signin.js";
import { subjectScreen } from "./screens/subject.js";
import { subjectsScreen } from "./screens/subjects.js";

const ROUTES = [
  [/^#\/signin$/, signinScreen, "Sign in"],
  [/^#\/subjects$/, subjectsScreen, "Subjects"],
  [/^#\/subjects\/(\d+)$/, subjectScreen, "Subject"],
  [/^#\/sessions\/(\d+)$/, sessionScreen, "Session"],
  [/^#\/sessions\/(\d+)\/run$/, runScreen, "Run a test"],
  [/^#\/sessions\/(\d+)\/report$/, reportScreen, "Report"],
  [/^#\/device$/, deviceScreen, "Device"],
];

let cleanup = null;

function renderNav() {
  const current = location.hash;
  const link = (href, text) => h("a", { href, "aria-current": current.startsWith(href) ? "page" : null }, text);
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!auth.me) { nav.replaceChildren(); who.replaceChildren(); return; }
  nav.replaceChildren(link("#/subjects", "Subjects"), link("#/device", "Device"),
    h("a", { href: "/docs" }, "API docs"));
  who.replaceChildren(
    h("span", { class: "role", title: `token ${auth.me.id}` }, `${auth.me.name || "token " + auth.me.id} · ${auth.me.role}`),
    h("button", { type: "button", class: "link", onclick: () => { auth.clear(); location.hash = "#/signin"; } }, "Sign out"));
}

async function ensureSignedIn() {
  if (auth.me) return true;
  if (!auth.token()) return false;
  try {
    auth.me = await get("/me");
    return true;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) notify(`Cannot reach the service: ${err.message}`, "error");
    return false;
  }
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* already gone */ } cleanup = null; }
  const main = document.getElementById("main");
  let hash = location.hash || "#/subjects";
  if (hash !== "#/signin" && !(await ensureSignedIn())) {
    sessionStorage.setItem("isokin.after", hash);
    hash = "#/signin";
    if (location.hash !== hash) { location.hash = hash; return; }
  }
  renderNav();
  clearStaleNotice();
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  if (!found) { location.hash = "#/subjects"; return; }
  const [pattern, screen, title] = found;
  const params = pattern.exec(hash).slice(1).map(Number);
  document.title = `${title} · isokin`;
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const result = await screen(...params);
    const element = result instanceof Node ? result : result.element;
    cleanup = result instanceof Node ? null : result.cleanup || null;
    main.replaceChildren(element);
    renderNav();
    const heading = main.querySelector("h1");
    (heading || main).setAttribute("tabindex", "-1");
    (heading || main).focus({ preventScroll: true });
  } catch (err) {
    main.replaceChildren(h("h1", {}, title), h("p", { class: "msg error" }, err.message));
  }
}

window.addEventListener("hashchange", route);
route();
