// Run a test: pick a protocol (or one trial), then side by side and set by set: the set's
// parameters, weigh the limb, start, watch it live, stop or abort, the set's figures, next.
import { auth, del, get, getAll, post } from "../api.js";
import { field, fmt, formValues, h, notify, select } from "../dom.js";
import { LiveView } from "../live.js";

const JOINTS = ["knee", "shoulder", "elbow", "wrist", "hip", "ankle"];
const MODES = ["con/con", "ecc/ecc", "con/ecc", "ecc/con"];

function templateKey(t) {
  return [t.side, t.joint, t.pattern, t.mode, t.group || "", Number(t.velocity_plus_dps), Number(t.velocity_minus_dps), t.repetitions].join("|");
}

function describe(t) {
  const v = t.velocity_plus_dps === t.velocity_minus_dps ? `${fmt(t.velocity_plus_dps, 0)} deg/s` : `${fmt(t.velocity_plus_dps, 0)}/${fmt(t.velocity_minus_dps, 0)} deg/s`;
  return `${t.side} ${t.joint} ${t.mode}${t.group ? " " + t.group : ""} ${v} × ${t.repetitions}`;
}

export async function runScreen(sessionId) {
  const session = await get(`/sessions/${sessionId}`);
  const [subject, protocols, device] = await Promise.all([get(`/subjects/${session.subject_id}`), getAll("/protocols"), get("/device")]);
  const root = h("section", { class: "run" },
    h("p", { class: "crumbs" }, h("a", { href: "#/subjects" }, "Subjects"), " / ", h("a", { href: `#/subjects/${subject.id}` }, subject.code),
      " / ", h("a", { href: `#/sessions/${session.id}` }, `session ${session.date}`)),
    h("h1", {}, `Run a test: ${subject.code}, ${session.date}`));
  if (!auth.mayOperate) {
    root.append(h("p", { class: "msg error" }, "Running a test needs an operator token."));
    return root;
  }
  const stage = h("div", { class: "stage" });
  root.append(deviceLine(device), stage);
  const runner = new Runner(session, subject, protocols, stage);
  runner.choose();
  return { element: root, cleanup: () => runner.leave() };
}

function deviceLine(device) {
  const ok = device.state === "connected";
  return h("p", { class: `device-line ${ok ? "" : "msg error"}` }, "Device: ", h("strong", {}, device.state), " ",
    device.info ? `${device.info.model} ${device.info.serial_number}` : "", device.simulator ? ` (simulator, subject profile ${device.simulator_profile})` : "",
    ok ? "" : [" — ", h("a", { href: "#/device" }, "connect one on the device page")]);
}

class Runner {
  constructor(session, subject, protocols, stage) {
    Object.assign(this, { session, subject, protocols, stage });
    this.plan = []; this.index = 0; this.trial = null; this.live = null; this.restTimer = null;
  }

  leave() {
    if (this.live) this.live.close();
    clearInterval(this.restTimer);
  }

  show(...children) { this.stage.replaceChildren(...children); const f = this.stage.querySelector("[autofocus]"); if (f) f.focus(); }

  choose() {
    const options = this.protocols.map((p) => [p.id, `${p.name}${p.builtin ? "" : " (custom)"}`]);
    const protocolSelect = select("protocol", options, this.protocols.find((p) => p.key === "knee-con-60-180-300")?.id, { autofocus: true });
    const describeBox = h("p", { class: "muted" });
    const showDescription = () => {
      const p = this.protocols.find((x) => String(x.id) === protocolSelect.value);
      describeBox.replaceChildren(p ? `${p.description} Sets: ${p.trials.map(describe).join("; ")}.` : "");
    };
    protocolSelect.addEventListener("change", showDescription);
    showDescription();
    const protocolForm = h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const protocol = this.protocols.find((x) => String(x.id) === protocolSelect.value);
      await this.begin(protocol.trials.map((t) => ({ ...t, protocol_id: protocol.id })), protocol.name);
    } }, h("h2", {}, "A protocol from the library"), field("Protocol", protocolSelect), describeBox,
    h("button", { type: "submit", class: "primary" }, "Start this protocol"));
    const single = h("form", { class: "card grid-form", onsubmit: async (e) => {
      e.preventDefault();
      const v = formValues(single);
      await this.begin([{ joint: v.joint, side: v.side, mode: v.mode, velocity_dps: v.velocity_dps, velocity_plus_dps: v.velocity_dps,
        velocity_minus_dps: v.velocity_dps, repetitions: v.repetitions, rest_s: 0 }], "single trial");
    } }, h("h2", {}, "Or one trial"),
    field("Joint", select("joint", JOINTS, "knee")), field("Side", select("side", ["left", "right"], this.subject.involved_side || "left")),
    field("Mode", select("mode", MODES, "con/con")),
    field("Velocity (deg/s)", h("input", { name: "velocity_dps", type: "number", min: 1, max: 600, value: 60, required: true })),
    field("Repetitions per direction", h("input", { name: "repetitions", type: "number", min: 1, max: 100, value: 5, required: true })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Run one trial")));
    this.show(h("div", { class: "two-col" }, protocolForm, single));
  }

  async begin(templates, name) {
    try {
      const trials = await getAll(`/sessions/${this.session.id}/trials`);
      const used = new Set();
      this.plan = templates.map((t) => {
        const match = trials.find((x) => !used.has(x.id) && x.protocol_id === (t.protocol_id ?? null) && templateKey(x) === templateKey(t)
          && ["complete", "created"].includes(x.state));
        if (match) used.add(match.id);
        return { template: t, trial: match || null };
      });
      this.name = name;
      this.index = this.plan.findIndex((p) => !p.trial || p.trial.state !== "complete");
      if (this.index < 0) { this.finish(); return; }
      const done = this.plan.filter((p) => p.trial && p.trial.state === "complete").length;
      if (done) notify(`${done} set(s) of this protocol were already recorded in this session; continuing with set ${this.index + 1}.`);
      await this.ready();
    } catch (err) { notify(err.message, "error"); }
  }

  async trialFor(step) {
    if (step.trial && step.trial.state === "created") return step.trial;
    const t = step.template;
    const body = { joint: t.joint, side: t.side, pattern: t.pattern, mode: t.mode, group: t.group ?? null,
      velocity_dps: t.velocity_plus_dps ?? t.velocity_dps, velocity_plus_dps: t.velocity_plus_dps ?? t.velocity_dps,
      velocity_minus_dps: t.velocity_minus_dps ?? t.velocity_dps, repetitions: t.repetitions,
      rom_min_deg: t.rom_min_deg ?? null, rom_max_deg: t.rom_max_deg ?? null, protocol_id: t.protocol_id ?? null };
    step.trial = await post(`/sessions/${this.session.id}/trials`, body);
    return step.trial;
  }

  progress() {
    return h("ol", { class: "plan", "aria-label": "Sets of the protocol" }, this.plan.map((p, i) => h("li", {
      class: i === this.index ? "current" : p.trial && p.trial.state === "complete" ? "done" : "",
      "aria-current": i === this.index ? "step" : null,
    }, describe({ ...p.template, velocity_plus_dps: p.template.velocity_plus_dps ?? p.template.velocity_dps, velocity_minus_dps: p.template.velocity_minus_dps ?? p.template.velocity_dps }),
    p.trial && p.trial.state === "complete" ? " ✓" : "")));
  }

  async ready() {
    const step = this.plan[this.index];
    let trial;
    try { trial = await this.trialFor(step); } catch (err) { notify(err.message, "error"); return; }
    this.trial = trial;
    let carried = null;
    if (trial.gravity_torque_nm === null) {
      // The same limb on the same attachment: the last weighing of this side, joint and pattern in the protocol holds.
      const earlier = this.plan.slice(0, this.index).map((p) => p.trial).reverse()
        .find((x) => x && x.gravity_torque_nm !== null && x.side === trial.side && x.joint === trial.joint && x.pattern === trial.pattern);
      if (earlier) {
        try {
          const w = await post(`/trials/${trial.id}/weigh`, { gravity_torque_nm: earlier.gravity_torque_nm, horizontal_angle_deg: earlier.horizontal_angle_deg });
          trial = this.trial = step.trial = w.trial;
          carried = this.plan.findIndex((p) => p.trial && p.trial.id === earlier.id) + 1;
        } catch (err) { notify(`The earlier weighing could not be carried over: ${err.message}`, "error"); }
      }
    }
    const weighOut = h("p", { class: "weigh-result", "aria-live": "polite" },
      trial.gravity_torque_nm === null ? "Not weighed yet: without weighing the figures are not gravity-corrected."
        : carried ? `Limb weight carried over from set ${carried} (same side, joint and pattern): W = ${fmt(trial.gravity_torque_nm, 1)} N.m at ${fmt(trial.horizontal_angle_deg, 0)} deg. Weigh again if the limb or the lever was moved.`
          : `Limb weighed: W = ${fmt(trial.gravity_torque_nm, 1)} N.m at ${fmt(trial.horizontal_angle_deg, 0)} deg.`);
    const angle = h("input", { name: "angle_deg", type: "number", min: -180, max: 180, step: 1, placeholder: "rest angle" });
    const measured = h("input", { name: "gravity_torque_nm", type: "number", step: "0.1", placeholder: "N.m" });
    const weighButton = h("button", { type: "button", onclick: async () => {
      weighButton.disabled = true; weighOut.textContent = "Weighing: keep the limb relaxed…";
      try {
        const body = measured.value.trim() !== "" ? { gravity_torque_nm: Number(measured.value) } : angle.value.trim() !== "" ? { angle_deg: Number(angle.value) } : {};
        const w = await post(`/trials/${trial.id}/weigh`, body);
        this.trial = step.trial = w.trial;
        weighOut.textContent = w.method === "recorded"
          ? `Limb weighed: W = ${fmt(w.gravity_torque_nm, 1)} N.m at ${fmt(w.horizontal_angle_deg, 0)} deg (${w.samples} samples at ${fmt(w.mean_position_deg, 0)} deg, residual ${fmt(w.residual_rms_nm, 2)} N.m).`
          : `Limb weight stored: W = ${fmt(w.gravity_torque_nm, 1)} N.m at ${fmt(w.horizontal_angle_deg, 0)} deg.`;
      } catch (err) { weighOut.textContent = `Weighing failed: ${err.message}`; }
      weighButton.disabled = false;
    } }, "Weigh the limb");
    const startButton = h("button", { type: "button", class: "primary big", autofocus: true, onclick: () => this.record(startButton) }, `Start set ${this.index + 1}`);
    const rest = h("p", { class: "rest", "aria-live": "polite" });
    const restS = step.template.rest_s || 0;
    if (this.index > 0 && restS > 0) {
      let left = restS;
      rest.textContent = `Rest: ${left} s before this set.`;
      clearInterval(this.restTimer);
      this.restTimer = setInterval(() => { left -= 1; rest.textContent = left > 0 ? `Rest: ${left} s before this set.` : "Rest over."; if (left <= 0) clearInterval(this.restTimer); }, 1000);
    }
    const t = trial;
    this.show(h("div", { class: "set-grid" },
      h("aside", { class: "card" }, h("h2", {}, this.name), this.progress()),
      h("div", {},
        h("section", { class: "card", "aria-labelledby": "set-h" }, h("h2", { id: "set-h" }, `Set ${this.index + 1} of ${this.plan.length}: ${t.side} side`),
          h("dl", { class: "facts" }, [["Joint", `${t.joint} ${t.pattern}`], ["Mode", `${t.mode}${t.group ? " (" + t.group + ")" : ""}`],
            ["Velocity", `${fmt(t.velocity_plus_dps, 0)} / ${fmt(t.velocity_minus_dps, 0)} deg/s`], ["Repetitions", `${t.repetitions} per direction`],
            ["Range of motion", `${fmt(t.rom_min_deg, 0)} to ${fmt(t.rom_max_deg, 0)} deg`], ["Sample rate", `${fmt(t.sample_rate_hz, 0)} Hz`], ["Trial", `#${t.id}`]]
            .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
          rest),
        h("section", { class: "card", "aria-labelledby": "weigh-h" }, h("h2", { id: "weigh-h" }, "Weigh the limb"),
          h("div", { class: "inline-form" }, field("Rest angle (deg, optional)", angle), field("or measured W (N.m)", measured), weighButton), weighOut),
        h("div", { class: "actions" }, startButton,
          h("button", { type: "button", onclick: () => this.skip() }, "Skip this set"),
          h("button", { type: "button", class: "link", onclick: () => { this.leave(); this.choose(); } }, "Choose another protocol")))));
  }

  async record(startButton) {
    startButton.disabled = true;
    clearInterval(this.restTimer);
    const trial = this.trial;
    const live = new LiveView(trial, {
      onFinal: (message) => this.finished(message),
      onError: (text) => notify(text, "error"),
    });
    this.live = live;
    const stopButton = h("button", { type: "button", class: "primary", onclick: async () => {
      stopButton.disabled = true;
      try { await post(`/trials/${trial.id}/stop`); } catch (err) { notify(err.message, "error"); stopButton.disabled = false; }
    } }, "Stop (keep what was recorded)");
    const abortButton = h("button", { type: "button", class: "danger", onclick: async () => {
      if (!confirm("Abort this set and discard its recording?")) return;
      this.aborting = true;
      live.close();
      try {
        await post(`/trials/${trial.id}/stop`).catch(() => null);
        await del(`/trials/${trial.id}`);
        this.plan[this.index].trial = null;
        notify("Set aborted; its recording was discarded.");
      } catch (err) { notify(err.message, "error"); }
      await this.ready();
    } }, "Abort (discard)");
    this.show(h("div", { class: "recording" },
      h("div", { class: "rec-head" }, h("h2", {}, `Set ${this.index + 1} of ${this.plan.length}: ${describe(trial)}`),
        h("div", { class: "actions" }, stopButton, abortButton)),
      live.element));
    stopButton.focus();
    live.connect();
    try {
      await post(`/trials/${trial.id}/start`);
    } catch (err) {
      live.close();
      notify(`Could not start: ${err.message}`, "error");
      await this.ready();
    }
  }

  async finished(message) {
    if (this.aborting) { this.aborting = false; return; }
    const trial = await get(`/trials/${this.trial.id}`);
    this.plan[this.index].trial = trial;
    const fps = this.live ? this.live.fps() : null;
    this.live = null;
    const [analysis, events] = await Promise.all([
      get(`/trials/${trial.id}/analysis`).catch((err) => ({ error: err.message })),
      get(`/trials/${trial.id}/events`).catch(() => ({ data: [] })),
    ]);
    const problems = new Set(["gap", "overflow", "disconnected", "reconnected", "stream ended"]);
    const gaps = events.data.filter((e) => problems.has(e.kind));
    const figures = analysis.error
      ? h("p", { class: "msg error" }, `No figures: ${analysis.error}`)
      : setFigures(analysis);
    const last = this.index >= this.plan.length - 1;
    const next = h("button", { type: "button", class: "primary big", autofocus: true, onclick: () => { this.index += 1; this.ready(); } }, last ? "" : `Next: set ${this.index + 2}`);
    this.show(h("div", { class: "set-grid" },
      h("aside", { class: "card" }, h("h2", {}, this.name), this.progress()),
      h("div", {},
        h("section", { class: "card", "aria-labelledby": "fig-h" }, h("h2", { id: "fig-h" }, `Set ${this.index + 1}: ${describe(trial)} — ${message.state}`),
          h("p", { class: "muted" }, `${trial.acquisition.samples} samples, ${trial.acquisition.gaps} gaps, ${trial.acquisition.lost_samples} lost, ${trial.acquisition.reconnects} reconnects`,
            trial.end_reason ? `; ended: ${trial.end_reason}` : "", trial.interrupted_reason ? `; ${trial.interrupted_reason}` : "",
            fps ? ` · live display ${fmt(fps, 0)} fps` : ""),
          gaps.length ? h("div", { class: "msg error" }, h("strong", {}, "Acquisition events: "), h("ul", {}, gaps.map((e) => h("li", {}, `${e.kind} at ${fmt(e.time_s, 3)} s: ${e.detail}${e.lost_samples ? ` (${e.lost_samples} samples lost)` : ""}`)))) : null,
          figures),
        h("div", { class: "actions" }, last ? h("a", { class: "btn primary big", href: `#/sessions/${this.session.id}/report`, autofocus: true }, "Open the session report") : next,
          h("button", { type: "button", onclick: async () => {
            if (!confirm("Discard this recording and record the set again?")) return;
            try { await del(`/trials/${trial.id}`); this.plan[this.index].trial = null; await this.ready(); } catch (err) { notify(err.message, "error"); }
          } }, "Redo this set (discard)")))));
    if (last) notify("Protocol complete.", "ok");
  }

  skip() {
    if (this.index >= this.plan.length - 1) { this.finish(); return; }
    this.index += 1;
    this.ready();
  }

  finish() {
    this.show(h("section", { class: "card" }, h("h2", {}, "Protocol complete"),
      h("p", {}, h("a", { class: "btn primary big", href: `#/sessions/${this.session.id}/report` }, "Open the session report"))));
  }
}

/** A set's figures right after it ends (from GET /trials/{id}/analysis). */
export function setFigures(analysis) {
  const rows = [];
  for (const rec of analysis.recordings) {
    for (const s of rec.sets) {
      rows.push(h("tr", {}, h("th", { scope: "row" }, `${s.direction} ${s.contraction} ${fmt(s.velocity_dps, 0)} deg/s`),
        h("td", {}, s.repetitions), h("td", {}, `${fmt(s.peak_torque_nm, 1)} (rep ${s.peak_torque_rep})`), h("td", {}, fmt(s.peak_torque_per_kg, 2)),
        h("td", {}, fmt(s.cv_percent, 1)), h("td", {}, fmt(s.total_work_j, 1)), h("td", {}, fmt(s.work_fatigue_percent, 1))));
    }
  }
  const ratios = analysis.ratios.map((r) => h("li", {}, `${r.label} (${r.kind}) ${fmt(r.value, 2)}`));
  const corrected = analysis.recordings.map((rec) => rec.gravity_corrected);
  const correction = corrected.every(Boolean) ? h("p", { class: "muted" }, "Gravity-corrected (limb weighed).")
    : h("p", { class: "msg warn" }, "Not gravity-corrected: the limb was not weighed, so the limb's weight is in these torques (a knee's H:Q reads high).");
  const warnings = analysis.flags.map((f) => h("li", { class: f.severity }, `${f.severity}: ${f.subject}: ${f.message}`));
  return h("div", { class: "set-figures" }, correction,
    h("table", { class: "list" }, h("thead", {}, h("tr", {}, ["Set", "Reps", "Peak torque (N.m)", "PT/BM (N.m/kg)", "CV %", "Work (J)", "Work fatigue %"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)),
    ratios.length ? h("div", {}, "Ratios: ", h("ul", { class: "inline" }, ratios)) : null,
    warnings.length ? h("ul", { class: "flags" }, warnings) : null);
}
