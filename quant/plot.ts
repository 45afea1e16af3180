/**
 * Hand-written SVG plot of SQNR against EBW for `msq compare`, rendered from
 * templates/quant/sqnr-vs-ebw.svg.hbs. Layout (scales, ticks, positions) is
 * computed here; the template only draws.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import type { CompareRow } from './compare.ts';

const template = Handlebars.create().compile(readFileSync(new URL('../templates/quant/sqnr-vs-ebw.svg.hbs', import.meta.url), 'utf8'));

/** Tick positions at a "nice" step (1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** The plot area of a chart, in SVG pixels. */
export interface PlotBox {
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
}

/** The layout fields every chart template shares: size, title and the plot area. */
export function chartFrame(width: number, height: number, title: string, box: PlotBox) {
  return { width, height, title, titleX: (box.plotLeft + box.plotRight) / 2, ...box, plotWidth: box.plotRight - box.plotLeft, plotHeight: box.plotBottom - box.plotTop };
}

export function sqnrPlotSvg(rows: readonly CompareRow[], title = 'SQNR against effective bits per element'): string {
  const width = 760;
  const height = 480;
  const plotLeft = 70;
  const plotRight = width - 30;
  const plotTop = 40;
  const plotBottom = height - 70;
  const pts = rows.flatMap((r) => [
    { row: r, series: 'weight', sqnr: r.sqnrDb },
    ...(r.outputSqnrDb !== undefined ? [{ row: r, series: 'X·Wᵀ', sqnr: r.outputSqnrDb }] : []),
  ]);
  const finite = pts.map((p) => p.sqnr).filter((v) => Number.isFinite(v));
  const ebws = rows.map((r) => r.ebw);
  const xLo = Math.floor(Math.min(...ebws, 2) - 0.25);
  const xHi = Math.ceil(Math.max(...ebws, 4) + 0.25);
  let yLo = finite.length ? Math.min(...finite) : 0;
  let yHi = finite.length ? Math.max(...finite) : 1;
  const pad = Math.max(1, (yHi - yLo) * 0.08);
  yLo = Math.floor(yLo - pad);
  yHi = Math.ceil(yHi + pad);
  const sx = (v: number) => plotLeft + ((v - xLo) / (xHi - xLo)) * (plotRight - plotLeft);
  const sy = (v: number) => plotBottom - ((Math.min(Math.max(v, yLo), yHi) - yLo) / (yHi - yLo)) * (plotBottom - plotTop);
  const points = pts.map((p) => {
    const x = sx(p.row.ebw);
    const y = sy(Number.isFinite(p.sqnr) ? p.sqnr : yHi);
    const square = p.series !== 'weight';
    return {
      x: x.toFixed(1),
      y: y.toFixed(1),
      sx: (x - 4).toFixed(1),
      sy: (y - 4).toFixed(1),
      square,
      color: square ? '#ff7f0e' : '#1f77b4',
      label: p.row.label,
      showLabel: !square,
      labelX: (x + 7).toFixed(1),
      labelY: (y - 6).toFixed(1),
      ebw: p.row.ebw.toFixed(4),
      series: p.series,
      sqnr: Number.isFinite(p.sqnr) ? p.sqnr.toFixed(2) : 'exact',
    };
  });
  spreadLabels(points);
  const hasOutput = pts.some((p) => p.series !== 'weight');
  return template({
    ...chartFrame(width, height, title, { plotLeft, plotRight, plotTop, plotBottom }),
    xTicks: niceTicks(xLo, xHi).map((v) => ({ x: sx(v).toFixed(1), label: String(v) })),
    yTicks: niceTicks(yLo, yHi).map((v) => ({ y: sy(v).toFixed(1), label: String(v) })),
    xTickLabelY: plotBottom + 18,
    yTickLabelX: plotLeft - 8,
    xAxisLabelY: plotBottom + 44,
    yAxisLabelY: (plotTop + plotBottom) / 2,
    points,
    hasOutput,
    legendX: plotLeft + 16,
    legendY: plotTop + 16,
    legendY2: plotTop + 34,
    legendSquareX: plotLeft + 12,
    legendSquareY: plotTop + 30,
    legendTextX: plotLeft + 28,
  });
}

/**
 * Moves labels of nearby points apart vertically (greedy, top to bottom) so
 * that formats with almost equal EBW and SQNR stay readable.
 */
function spreadLabels(points: Array<{ showLabel: boolean; labelX: string; labelY: string }>): void {
  const labels = points.filter((p) => p.showLabel).sort((a, b) => Number(a.labelY) - Number(b.labelY));
  const placed: Array<{ x: number; y: number }> = [];
  for (const l of labels) {
    const x = Number(l.labelX);
    let y = Number(l.labelY);
    for (let moved = true; moved; ) {
      moved = false;
      for (const q of placed) {
        if (Math.abs(q.x - x) < 140 && Math.abs(q.y - y) < 12.5) {
          y = q.y + 13; // a margin above the 12.5 test: q.y + 13 - q.y may round below 13
          moved = true;
        }
      }
    }
    l.labelY = y.toFixed(1);
    placed.push({ x, y });
  }
}
