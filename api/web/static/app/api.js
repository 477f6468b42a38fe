// The REST client of the web app: the bearer token lives in this tab's sessionStorage only.
const KEY = "isokin.token";

export const auth = {
  me: null, // {id, name, role, may_operate, may_admin} once signed in
  token() { return sessionStorage.getItem(KEY); },
  set(token) { sessionStorage.setItem(KEY, token); },
  clear() { sessionStorage.removeItem(KEY); this.me = null; },
  get mayOperate() { return Boolean(this.me && this.me.may_operate); },
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function detailText(body, status) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).filter((x) => x !== "body" && x !== "query").join(".") || "request"}: ${d.msg}`).join("; ");
  }
  return typeof detail === "string" ? detail : `HTTP ${status}`;
}

/** Call /api/v1{path}; JSON in and out. raw: return the Response (for blobs and text). */
export async function api(method, path, body, { raw = false } = {}) {
  const headers = { Authorization: `Bearer ${auth.token() || ""}` };
  const init = { method, headers };
  if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(`/api/v1${path}`, init);
  if (!response.ok) {
    let parsed = null;
    try { parsed = await response.json(); } catch { /* not JSON */ }
    if (response.status === 401) {
      auth.clear();
      if (!location.hash.startsWith("#/signin")) location.hash = "#/signin";
    }
    throw new ApiError(response.status, detailText(parsed, response.status));
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
export const put = (path, body) => api("PUT", path, body);

/** Every item of a paginated list (pages of 1000). */
export async function getAll(path) {
  const sep = path.includes("?") ? "&" : "?";
  let offset = 0; const data = [];
  for (;;) {
    const page = await get(`${path}${sep}offset=${offset}&limit=1000`);
    data.push(...page.data);
    offset += page.data.length;
    if (!page.data.length || offset >= page.count) return data;
  }
}

/** Download a file the API makes (the token goes in a header, so a plain link cannot). */
export async function download(path, fallbackName) {
  const response = await api("GET", path, undefined, { raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url; a.download = match ? match[1] : fallbackName;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return blob;
}
