/**
 * Hand-written SVG charts of docs/PERFORMANCE.md (the approach of
 * quant/plot.ts: layout computed here, drawn by Handlebars templates in
 * templates/perf/; no plotting dependency). A line chart with linear or log
 * axes and a stacked-bar chart.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { chartFrame, niceTicks } from '../quant/plot.ts';

const hb = Handlebars.create();
const load = (name: string) => hb.compile(readFileSync(new URL(`../templates/perf/${name}`, import.meta.url), 'utf8'));
const lineTemplate = load('line-chart.svg.hbs');
const barsTemplate = load('stacked-bars.svg.hbs');

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#d62728'];

export interface Tick {
  value: number;
  label: string;
}

export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number; tip?: string }>;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  xLog?: boolean;
  yLog?: boolean;
  /** explicit ticks (default: nice ticks, or 1-2-5 decades on a log axis) */
  xTicks?: Tick[];
  yTicks?: Tick[];
  /** fixed axis ranges */
  xRange?: [number, number];
  yRange?: [number, number];
  /** horizontal reference lines (goals) */
  hLines?: Array<{ y: number; label: string }>;
  width?: number;
  height?: number;
  /** legend columns (legend sits under the plot) */
  legendColumns?: number;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(4));
}

/** Ticks at 1, 2 and 5 times powers of ten covering [lo, hi] (lo > 0). */
export function logTicks(lo: number, hi: number): Tick[] {
  const out: Tick[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push({ value: v, label: fmt(v) });
    }
  }
  return out;
}

export function lineChartSvg(c: LineChart): string {
  const width = c.width ?? 760;
  const cols = c.legendColumns ?? 2;
  const legendRows = Math.ceil(c.series.length / cols);
  const height = (c.height ?? 440) + legendRows * 18;
  const plotLeft = 76;
  const plotRight = width - 24;
  const plotTop = 40;
  const plotBottom = height - 70 - legendRows * 18;
  const xs = c.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = c.series.flatMap((s) => s.points.map((p) => p.y));
  let [xLo, xHi] = c.xRange ?? [Math.min(...xs), Math.max(...xs)];
  let [yLo, yHi] = c.yRange ?? [Math.min(...ys, ...(c.hLines ?? []).map((h) => h.y)), Math.max(...ys, ...(c.hLines ?? []).map((h) => h.y))];
  if (!c.xRange) {
    if (c.xLog) [xLo, xHi] = [xLo / 1.25, xHi * 1.25];
    else {
      const pad = (xHi - xLo || 1) * 0.04;
      [xLo, xHi] = [xLo - pad, xHi + pad];
    }
  }
  if (!c.yRange) {
    if (c.yLog) [yLo, yHi] = [yLo / 1.5, yHi * 1.5];
    else {
      const pad = (yHi - yLo || 1) * 0.08;
      [yLo, yHi] = [yLo - pad, yHi + pad];
    }
  }
  const tx = (v: number) => (c.xLog ? Math.log(v) : v);
  const ty = (v: number) => (c.yLog ? Math.log(v) : v);
  const sx = (v: number) => plotLeft + ((tx(v) - tx(xLo)) / (tx(xHi) - tx(xLo))) * (plotRight - plotLeft);
  const sy = (v: number) => plotBottom - ((ty(Math.min(Math.max(v, yLo), yHi)) - ty(yLo)) / (ty(yHi) - ty(yLo))) * (plotBottom - plotTop);
  const xTicks = c.xTicks ?? (c.xLog ? logTicks(xLo, xHi) : niceTicks(xLo, xHi).map((v) => ({ value: v, label: fmt(v) })));
  const yTicks = c.yTicks ?? (c.yLog ? logTicks(yLo, yHi) : niceTicks(yLo, yHi).map((v) => ({ value: v, label: fmt(v) })));
  const colWidth = (plotRight - plotLeft) / cols;
  return lineTemplate({
    ...chartFrame(width, height, c.title, { plotLeft, plotRight, plotTop, plotBottom }),
    xTicks: xTicks.filter((t) => t.value >= xLo && t.value <= xHi).map((t) => ({ x: sx(t.value).toFixed(1), label: t.label })),
    yTicks: yTicks.filter((t) => t.value >= yLo && t.value <= yHi).map((t) => ({ y: sy(t.value).toFixed(1), label: t.label })),
    hLines: (c.hLines ?? []).map((h) => ({ y: sy(h.y).toFixed(1), labelY: (sy(h.y) - 4).toFixed(1), label: h.label })),
    xTickLabelY: plotBottom + 18,
    yTickLabelX: plotLeft - 8,
    xAxisLabelY: plotBottom + 40,
    yAxisLabelY: (plotTop + plotBottom) / 2,
    xLabel: c.xLabel,
    yLabel: c.yLabel,
    series: c.series.map((s) => ({
      name: s.name,
      color: s.color,
      dashed: s.dashed === true,
      path: s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' '),
      points: s.points.map((p) => ({ x: sx(p.x).toFixed(1), y: sy(p.y).toFixed(1), tip: p.tip ?? `${fmt(p.x)}, ${fmt(p.y)}` })),
    })),
    legend: c.series.map((s, i) => {
      const col = i % cols;
      const row = Math.floor(i / cols);
      const x1 = plotLeft + col * colWidth + 8;
      return { name: s.name, color: s.color, dashed: s.dashed === true, x1, x2: x1 + 26, textX: x1 + 32, y: plotBottom + 62 + row * 18 };
    }),
  });
}

export interface StackedBars {
  title: string;
  yLabel: string;
  /** stacking order, bottom first */
  series: Array<{ name: string; color: string }>;
  groups: Array<{ label: string; bars: Array<{ label: string; values: number[] }> }>;
  width?: number;
  height?: number;
}

export function stackedBarsSvg(c: StackedBars): string {
  const width = c.width ?? 760;
  const height = c.height ?? 460;
  const plotLeft = 76;
  const plotRight = width - 150;
  const plotTop = 40;
  const plotBottom = height - 90;
  const totals = c.groups.flatMap((g) => g.bars.map((b) => b.values.reduce((s, v) => s + v, 0)));
  const yHi = Math.max(...totals) * 1.08;
  const sy = (v: number) => plotBottom - (v / yHi) * (plotBottom - plotTop);
  const nBars = c.groups.reduce((s, g) => s + g.bars.length, 0);
  const gap = 18;
  const slot = (plotRight - plotLeft - gap * (c.groups.length + 1)) / nBars;
  const barW = slot * 0.8;
  let x = plotLeft + gap;
  const bars: unknown[] = [];
  const groups: unknown[] = [];
  for (const g of c.groups) {
    const gx0 = x;
    for (const b of g.bars) {
      let acc = 0;
      const segments = b.values.map((v, i) => {
        const y0 = sy(acc);
        acc += v;
        const y1 = sy(acc);
        return { y: y1.toFixed(1), height: Math.max(0, y0 - y1).toFixed(1), color: c.series[i]!.color, series: c.series[i]!.name, value: fmt(v) };
      });
      const cx = x + slot * 0.1 + barW / 2;
      bars.push({ x: (x + slot * 0.1).toFixed(1), width: barW.toFixed(1), segments, label: b.label, labelX: (cx + 4).toFixed(1), labelY: plotBottom + 14, totalY: (sy(acc) - 4).toFixed(1), total: fmt(acc) });
      x += slot;
    }
    groups.push({ x: ((gx0 + x) / 2).toFixed(1), y: plotBottom + 72, label: g.label });
    x += gap;
  }
  return barsTemplate({
    ...chartFrame(width, height, c.title, { plotLeft, plotRight, plotTop, plotBottom }),
    yTicks: niceTicks(0, yHi).map((v) => ({ y: sy(v).toFixed(1), label: fmt(v) })),
    yTickLabelX: plotLeft - 8,
    yAxisLabelY: (plotTop + plotBottom) / 2,
    yLabel: c.yLabel,
    bars,
    groups,
    legend: [...c.series].reverse().map((s, i) => ({ name: s.name, color: s.color, x: plotRight + 16, y: plotTop + 10 + i * 20, textX: plotRight + 34, textY: plotTop + 16 + i * 20 })),
  });
}
