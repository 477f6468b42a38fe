// Charts: the subject's history (uPlot) and a torque-angle plot on a canvas (x is not monotonic there).
/* global uPlot */
import { h } from "./dom.js";

const PALETTE = ["#1f5fbf", "#d9730d", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"];

/** A line chart of series over session dates: {name, dashed, points: [{date, value}]} */
export function historyChart(dates, series, { unit, decimals }) {
  const box = h("div", { class: "chart history", role: "img", "aria-label": `History chart (${unit}); the table below lists its values` });
  const xs = dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);  // on the day's tick
  const data = [xs, ...series.map((s) => dates.map((d) => { const p = s.points.find((x) => x.date === d); return p ? p.value : null; }))];
  const opts = {
    width: 600, height: 240,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),  // dates are days: ticks at UTC midnight, as labelled
    // a few days of margin, so one session is a point, not a span of years
    scales: { x: { time: true, auto: false, range: [Math.min(...xs) - 3.5 * 86400, Math.max(...xs) + 3.5 * 86400] } },
    series: [{ label: "date", value: (u, v) => (v === null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
      ...series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, dash: s.dashed ? [6, 4] : undefined,
        spanGaps: true, points: { size: 7 }, value: (u, v) => (v === null ? "–" : v.toFixed(decimals)) }))],
    // whole days only: sessions have dates, not times (hour ticks showed on a short range)
    axes: [{ incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400], space: 90,
      values: (u, splits) => splits.map((v) => new Date(v * 1000).toISOString().slice(0, 10)) }, { label: unit, size: 60 }],
  };
  requestAnimationFrame(() => {
    opts.width = Math.max(320, box.clientWidth || 600);
    const plot = new uPlot(opts, data, box);
    new ResizeObserver(() => plot.setSize({ width: Math.max(320, box.clientWidth), height: 240 })).observe(box);
  });
  return box;
}

/** Torque against angle on a canvas, one polyline per movement, coloured by direction. */
export class TorqueAnglePlot {
  constructor(canvas, { angleRange, labels }) {
    this.canvas = canvas;
    this.angleRange = angleRange; // [min, max] deg
    this.labels = labels; // [label of + direction, label of - direction]
    this.torqueRange = [-10, 10];
  }

  /** strokes: [{direction: 1|-1, angle: [], torque: []}], the last one is the current movement */
  draw(strokes) {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    for (const s of strokes) for (const t of s.torque) {
      if (t < this.torqueRange[0]) this.torqueRange[0] = t;
      if (t > this.torqueRange[1]) this.torqueRange[1] = t;
    }
    const pad = { l: 52, r: 10, t: 12, b: 34 };
    const [a0, a1] = this.angleRange;
    const [t0, t1] = niceRange(this.torqueRange[0] * 1.08, this.torqueRange[1] * 1.08);
    const x = (a) => pad.l + ((a - a0) / (a1 - a0)) * (width - pad.l - pad.r);
    const y = (t) => pad.t + ((t1 - t) / (t1 - t0)) * (height - pad.t - pad.b);
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#444"; ctx.strokeStyle = "#e2e2e2"; ctx.lineWidth = 1;
    for (const a of ticks(a0, a1, 6)) { ctx.beginPath(); ctx.moveTo(x(a), pad.t); ctx.lineTo(x(a), height - pad.b); ctx.stroke(); ctx.textAlign = "center"; ctx.fillText(`${a}`, x(a), height - pad.b + 14); }
    for (const t of ticks(t0, t1, 6)) { ctx.beginPath(); ctx.moveTo(pad.l, y(t)); ctx.lineTo(width - pad.r, y(t)); ctx.stroke(); ctx.textAlign = "right"; ctx.fillText(`${t}`, pad.l - 6, y(t) + 4); }
    ctx.strokeStyle = "#888"; ctx.beginPath(); ctx.moveTo(pad.l, y(0)); ctx.lineTo(width - pad.r, y(0)); ctx.stroke();
    ctx.textAlign = "center"; ctx.fillText("angle (deg)", (pad.l + width - pad.r) / 2, height - 4);
    ctx.save(); ctx.translate(12, (pad.t + height - pad.b) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText("torque (N.m)", 0, 0); ctx.restore();
    strokes.forEach((s, i) => {
      const last = i === strokes.length - 1;
      ctx.strokeStyle = s.direction > 0 ? "#1f5fbf" : "#d9730d";
      ctx.globalAlpha = last ? 1 : 0.45; ctx.lineWidth = last ? 2.2 : 1;
      ctx.beginPath();
      s.angle.forEach((a, k) => (k ? ctx.lineTo(x(a), y(s.torque[k])) : ctx.moveTo(x(a), y(s.torque[k]))));
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.textAlign = "left"; ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = "#1f5fbf"; ctx.fillText(`— ${this.labels[0]}`, pad.l + 8, pad.t + 12);
    ctx.fillStyle = "#d9730d"; ctx.fillText(`— ${this.labels[1]}`, pad.l + 8, pad.t + 28);
  }
}

function niceRange(lo, hi) {
  const step = niceStep((hi - lo) / 6);
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step];
}

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  const n = raw / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

function ticks(lo, hi, count) {
  const step = niceStep((hi - lo) / count);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}
