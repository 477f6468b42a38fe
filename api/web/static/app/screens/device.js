// The device: state, identity, calibration and counters (refreshed every second); operators
// connect or disconnect it and choose the simulated subject.
import { auth, get, post, put } from "../api.js";
import { field, fmt, formValues, h, notify, select } from "../dom.js";

export async function deviceScreen() {
  const status = h("div", {});
  const root = h("section", {}, h("h1", {}, "Device"), status);
  let timer = null;
  const refresh = async () => {
    try { status.replaceChildren(...describe(await get("/device"))); } catch (err) { status.replaceChildren(h("p", { class: "msg error" }, err.message)); }
  };
  await refresh();
  timer = setInterval(refresh, 1000);
  if (auth.mayOperate) root.append(await controls(refresh));
  return { element: root, cleanup: () => clearInterval(timer) };
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? "–" : String(v)))));
}

function describe(d) {
  const out = [h("section", { class: "card", "aria-labelledby": "dev-h" }, h("h2", { id: "dev-h" }, "State"),
    facts([["State", d.state], ["URL", d.url || d.requested_url], ["Protocol", d.protocol], ["Simulator", d.simulator ? `yes, subject profile ${d.simulator_profile}` : "no"],
      ["Connected at", d.connected_at ? new Date(d.connected_at).toLocaleString() : null], ["Recording trial", d.recording_trial_id], ["Error", d.error]]))];
  if (d.info) {
    out.push(h("section", { class: "card", "aria-labelledby": "id-h" }, h("h2", { id: "id-h" }, "Identity"),
      facts([["Model", d.info.model], ["Serial number", d.info.serial_number], ["Firmware", d.info.firmware_version],
        ["Sample rates (Hz)", d.info.sample_rates_hz.join(", ")], ["Drives the machine", d.info.drives_machine ? "yes" : "no"], ["Marker button", d.info.marker_button ? "yes" : "no"]])));
  }
  if (d.calibration) {
    const c = d.calibration;
    out.push(h("section", { class: "card", "aria-labelledby": "cal-h" }, h("h2", { id: "cal-h" }, `Calibration: ${c.name}`),
      h("p", { class: "muted" }, c.description || ""),
      h("table", { class: "list compact" }, h("thead", {}, h("tr", {}, ["Channel", "Gain (unit per count)", "Offset", "Unit"].map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, ["torque", "position", "velocity"].map((ch) => h("tr", {}, h("th", { scope: "row" }, ch), h("td", {}, String(c[ch].gain)), h("td", {}, String(c[ch].offset)), h("td", {}, c[ch].unit)))))));
  }
  if (d.stats) {
    const s = d.stats;
    out.push(h("section", { class: "card", "aria-labelledby": "st-h" }, h("h2", { id: "st-h" }, "Counters since connected"),
      facts([["Samples", s.samples], ["Frames", s.frames], ["Gaps", s.gaps], ["Lost samples", s.lost_samples], ["CRC errors", s.crc_errors],
        ["Disconnects", s.disconnects], ["Reconnects", s.reconnects], ["Effective rate (Hz)", fmt(s.effective_rate_hz, 1)], ["Clock drift (ppm)", fmt(s.drift_ppm, 0)]])));
  }
  return out;
}

async function controls(refresh) {
  const form = h("form", { class: "card grid-form", onsubmit: async (e) => {
    e.preventDefault();
    const v = formValues(form);
    try { await post("/device/connect", { url: v.url, protocol: v.protocol, calibration: v.calibration }); notify("Device connecting.", "ok"); await refresh(); } catch (err) { notify(err.message, "error"); }
  } }, h("h2", {}, "Connect a device"),
  field("URL", h("input", { name: "url", value: "simulator", required: true, maxlength: 500 }), "simulator, sim://?speed=10, /dev/ttyACM0, socket://host:port"),
  field("Wire protocol", select("protocol", ["binary", "ascii"], "binary")),
  field("Calibration profile", h("input", { name: "calibration", maxlength: 100, placeholder: "made for the device's model" })),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Connect"),
    h("button", { type: "button", onclick: async () => { try { await post("/device/disconnect"); await refresh(); } catch (err) { notify(err.message, "error"); } } }, "Disconnect")));
  const profiles = await get("/device/simulator/profiles").catch(() => ({ data: [] }));
  const active = profiles.data.find((p) => p.active);
  const profileSelect = select("name", profiles.data.map((p) => [p.name, `${p.name} (${p.source})`]), active ? active.name : "");
  const about = h("p", { class: "muted" });
  const describeProfile = () => { about.textContent = profiles.data.find((p) => p.name === profileSelect.value)?.description || ""; };
  profileSelect.addEventListener("change", describeProfile);
  describeProfile();
  const profileForm = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    try { await put("/device/simulator/profile", { name: profileSelect.value }); notify("Simulated subject changed.", "ok"); await refresh(); } catch (err) { notify(err.message, "error"); }
  } }, h("h2", {}, "Simulated subject"), field("Profile", profileSelect), about, h("button", { type: "submit" }, "Use this profile"));
  return h("div", { class: "two-col" }, form, profileForm);
}
