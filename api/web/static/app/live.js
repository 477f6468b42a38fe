// The live view of a recording trial: WebSocket messages (about 10 a second) are played out
// smoothly on the display's own clock (requestAnimationFrame), a little behind the newest bin,
// into a torque-time plot (uPlot) and a torque-angle plot (canvas), with a repetition counter.
/* global uPlot */
import { auth } from "./api.js";
import { TorqueAnglePlot } from "./charts.js";
import { h } from "./dom.js";

const FINAL = new Set(["complete", "interrupted", "failed"]);
/** How far behind the newest received bin the display runs, in wall seconds (1.5 message intervals). */
const LATENCY_S = 0.15;

export class LiveView {
  /**
   * trial: the TrialPublic being recorded; onFinal(message): called once every bin of the final
   * message is drawn; onError(text): the socket was refused.
   */
  constructor(trial, { onFinal, onError } = {}) {
    this.trial = trial;
    this.onFinal = onFinal || (() => {});
    this.onError = onError || (() => {});
    const [plus, minus] = trial.pattern.split("/");
    this.labels = [plus, minus];
    this.velocity = [trial.velocity_plus_dps, trial.velocity_minus_dps];
    this.queue = []; // bins received, not drawn yet: [t, torque, min, max, position, velocity]
    this.data = [[], [], [], []]; // uPlot columns: time, min, max, mean torque
    this.strokes = [];
    this.reps = { plus: 0, minus: 0, moving: 0 };
    this.playT = null; this.rate = null; this.lastNewest = null; this.lastWall = null; this.lastFrame = null;
    this.cursor = 0; this.final = null; this.closed = false; this.step = null;
    this.stats = { messages: 0, messagesWithBins: 0, binsReceived: 0, binsDrawn: 0, draws: 0, firstDrawMs: null, lastDrawMs: null, drawTimes: [] };
    window.isokinLive = this.stats;
    this.build();
  }

  build() {
    const t = this.trial;
    this.stateEl = h("span", { class: "pill" }, "waiting");
    this.deviceEl = h("span", { class: "pill" }, "device ?");
    this.repsEl = h("strong", { class: "reps", "aria-live": "polite" }, "");
    this.countsEl = h("span", { class: "muted" }, "");
    this.fpsEl = h("span", { class: "muted fps" }, "");
    this.alertEl = h("p", { class: "msg error", role: "alert", hidden: true });
    this.timeBox = h("div", { class: "chart live-time", role: "img", "aria-label": "Torque against time, live" });
    this.canvas = h("canvas", { class: "live-angle", role: "img", "aria-label": "Torque against angle, live" });
    this.anglePlot = new TorqueAnglePlot(this.canvas, {
      angleRange: [t.rom_min_deg ?? -10, t.rom_max_deg ?? 100],
      labels: [`${this.labels[0]} (+)`, `${this.labels[1]} (−)`],
    });
    this.element = h("div", { class: "live" },
      h("div", { class: "live-status" }, "Trial ", this.stateEl, " Device ", this.deviceEl, " ", this.repsEl, " ", this.countsEl, " ", this.fpsEl),
      this.alertEl,
      h("div", { class: "live-plots" }, h("figure", {}, this.timeBox, h("figcaption", {}, "Torque-time (mean per 20 ms bin, with its min-max band)")),
        h("figure", {}, this.canvas, h("figcaption", {}, "Torque-angle, each movement a line (current one bold)"))));
    this.showReps();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/trials/${this.trial.id}/live?since=${this.cursor}`,
      ["isokin.live", `bearer.${auth.token()}`]);
    this.socket = socket;
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (this.closed || this.final) return;
      if ([4401, 4403, 4404].includes(event.code)) { this.onError(event.reason || `live view refused (${event.code})`); return; }
      this.alert("The live view's connection dropped; reconnecting…");
      setTimeout(() => { if (!this.closed && !this.final) this.connect(); }, 500);
    };
    if (!this.frame) this.frame = requestAnimationFrame((now) => this.tick(now));
  }

  close() {
    this.closed = true;
    if (this.socket && this.socket.readyState <= 1) this.socket.close(1000);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = null;
  }

  alert(text) {
    this.alertEl.textContent = text || "";
    this.alertEl.hidden = !text;
  }

  receive(message) {
    const now = performance.now() / 1000;
    this.stats.messages += 1;
    this.cursor = message.cursor;
    const b = message.bins;
    if (b.time_s.length) {
      this.stats.messagesWithBins += 1;
      this.stats.binsReceived += b.time_s.length;
      for (let i = 0; i < b.time_s.length; i += 1) {
        this.queue.push([b.time_s[i], b.torque_nm[i], b.torque_min_nm[i], b.torque_max_nm[i], b.position_deg[i], b.velocity_dps[i]]);
      }
      const newest = b.time_s[b.time_s.length - 1];
      if (this.lastNewest !== null && now > this.lastWall && newest > this.lastNewest) {
        const rate = (newest - this.lastNewest) / (now - this.lastWall);
        this.rate = this.rate === null ? rate : 0.7 * this.rate + 0.3 * rate;
      }
      if (this.playT === null) this.playT = b.time_s[0];
      this.lastNewest = newest; this.lastWall = now;
    }
    this.stateEl.textContent = message.state;
    this.stateEl.className = `pill state-${message.state}`;
    this.deviceEl.textContent = message.device_state;
    this.deviceEl.className = `pill ${message.device_state === "connected" ? "ok" : "bad"}`;
    const a = message.acquisition;
    this.countsEl.textContent = `${a.samples} samples · ${a.gaps} gaps · ${a.lost_samples} lost · ${a.reconnects} reconnects`;
    if (message.device_state !== "connected") this.alert(`Device ${message.device_state}: samples may be lost; the gap will be counted and shown.`);
    else if (a.gaps > 0) this.alert(`${a.gaps} gap(s) in this recording: ${a.lost_samples} samples lost${a.reconnects ? `, ${a.reconnects} reconnect(s)` : ""}.`);
    else this.alert("");
    if (FINAL.has(message.state)) this.final = message;
  }

  /** Advance the display clock and draw the bins it has reached. */
  tick(nowMs) {
    this.frame = requestAnimationFrame((t) => this.tick(t));
    const dt = this.lastFrame === null ? 0 : Math.min(0.25, (nowMs - this.lastFrame) / 1000);
    this.lastFrame = nowMs;
    if (this.queue.length && this.playT !== null) {
      const newest = this.queue[this.queue.length - 1][0];
      const rate = this.rate || 1;
      const target = rate * LATENCY_S;
      const lag = newest - this.playT;
      if (this.final || lag > 20 * target) this.playT = newest; // the end, or far behind (hidden tab): catch up
      else this.playT = Math.min(newest, this.playT + dt * rate * Math.min(3, Math.max(0.5, 1 + (lag - target) / Math.max(target, 1e-3))));
      let released = 0;
      while (released < this.queue.length && this.queue[released][0] <= this.playT) released += 1;
      if (released) this.draw(this.queue.splice(0, released), nowMs);
    }
    if (this.final && !this.queue.length && !this.finished) {
      this.finished = true;
      this.close();
      this.onFinal(this.final);
    }
  }

  draw(bins, nowMs) {
    const [x, lo, hi, mean] = this.data;
    for (const [t, torque, tmin, tmax, position, velocity] of bins) {
      const previous = x.length ? x[x.length - 1] : null;
      if (previous !== null && this.step !== null && t - previous > 3 * this.step) { x.push(previous + this.step); lo.push(null); hi.push(null); mean.push(null); }
      if (previous !== null && t > previous && (this.step === null || t - previous < this.step)) this.step = t - previous;
      x.push(t); lo.push(tmin); hi.push(tmax); mean.push(torque);
      this.countRep(velocity);
      const direction = velocity >= 0 ? 1 : -1;
      const current = this.strokes[this.strokes.length - 1];
      const moving = Math.abs(velocity) > 0.2 * Math.min(...this.velocity);
      if (!current || (moving && current.direction !== direction)) this.strokes.push({ direction, angle: [position], torque: [torque] });
      else { current.angle.push(position); current.torque.push(torque); }
    }
    if (!this.plot && this.timeBox.clientWidth > 0) this.plot = this.makePlot();
    if (this.plot) this.plot.setData(this.data);
    this.anglePlot.draw(this.strokes);
    this.showReps();
    const s = this.stats;
    s.binsDrawn += bins.length; s.draws += 1;
    if (s.firstDrawMs === null) s.firstDrawMs = nowMs;
    s.lastDrawMs = nowMs;
    s.drawTimes.push(nowMs);
    while (s.drawTimes.length && s.drawTimes[0] < nowMs - 1000) s.drawTimes.shift();
    this.fpsEl.textContent = `display ${s.drawTimes.length} fps`;
  }

  makePlot() {
    const width = this.timeBox.clientWidth;
    return new uPlot({
      width, height: 300,
      scales: { x: { time: false } },
      legend: { show: false },
      cursor: { show: false },
      series: [
        { label: "time (s)" },
        { label: "min", stroke: "rgba(31,95,191,0.25)", width: 1, points: { show: false } },
        { label: "max", stroke: "rgba(31,95,191,0.25)", width: 1, points: { show: false } },
        { label: "torque (N.m)", stroke: "#1f5fbf", width: 1.5, points: { show: false } },
      ],
      bands: [{ series: [2, 1], fill: "rgba(31,95,191,0.12)" }],
      axes: [{ label: "time (s)" }, { label: "torque (N.m)", size: 56 }],
    }, this.data, this.timeBox);
  }

  countRep(velocity) {
    const r = this.reps;
    const [vPlus, vMinus] = this.velocity;
    if (r.moving === 0) {
      if (velocity > 0.5 * vPlus) r.moving = 1;
      else if (velocity < -0.5 * vMinus) r.moving = -1;
    } else if (r.moving === 1 && velocity < 0.2 * vPlus) { r.plus += 1; r.moving = 0; }
    else if (r.moving === -1 && velocity > -0.2 * vMinus) { r.minus += 1; r.moving = 0; }
  }

  showReps() {
    const n = this.trial.repetitions;
    this.repsEl.textContent = `Repetitions: ${this.labels[0]} ${Math.min(this.reps.plus, n)}/${n}, ${this.labels[1]} ${Math.min(this.reps.minus, n)}/${n}`;
  }

  /** Frames per second of the display while bins were drawn (null before two draws). */
  fps() {
    const s = this.stats;
    return s.draws > 1 ? ((s.draws - 1) * 1000) / (s.lastDrawMs - s.firstDrawMs) : null;
  }
}

