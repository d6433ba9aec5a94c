/** A dependency-free SVG line chart. Same input, same output (no randomness, no locale, fixed rounding). */

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  /** Drawn in x order; points with a non-finite coordinate are left out. */
  points: ChartPoint[];
  /** A reference line (e.g. ideal scaling): drawn dashed, without markers. */
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  width?: number;
  height?: number;
  /** Start the y axis at 0 (default), or fit it to the data. */
  yFromZero?: boolean;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A coordinate with one decimal; never "-0". */
function num(n: number): string {
  return String(Math.round(n * 10) / 10 || 0);
}

function decimalsFor(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

export interface Ticks {
  min: number;
  max: number;
  step: number;
  values: number[];
}

/** Axis range and ticks covering [min, max] with a step of 1, 2 or 5 times a power of ten, about `target` intervals. */
export function niceTicks(min: number, max: number, target = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceTicks(0, 1, target);
  if (max < min) [min, max] = [max, min];
  if (!(max > min)) {
    if (min === 0) return niceTicks(0, 1, target);
    const pad = Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const decimals = decimalsFor(step);
  const values: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-6; i++) values.push(Number((lo + i * step).toFixed(decimals)) || 0);
  return { min: values[0], max: values[values.length - 1], step, values };
}

/** Labels for an axis's ticks, in k or M when the axis reaches 10000 or a million: 250000 -> "250k", 1500000 -> "1.5M". */
export function tickFormatter(ticks: Ticks): (value: number) => string {
  const top = Math.max(...ticks.values.map((v) => Math.abs(v)));
  const [unit, suffix] = top >= 1e6 ? [1e6, 'M'] : top >= 1e4 ? [1e3, 'k'] : [1, ''];
  const decimals = decimalsFor(ticks.step / unit);
  return (value) => (value === 0 ? '0' : `${(value / unit).toFixed(decimals)}${suffix}`);
}

function extent(values: number[]): [number, number] {
  return values.length === 0 ? [0, 1] : [Math.min(...values), Math.max(...values)];
}

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const series = options.series.map((s) => ({
    ...s,
    points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x),
  }));
  const all = series.flatMap((s) => s.points);

  // Legend: entries in rows under the title, wrapped at the chart width (text width estimated at 7 px a character).
  const legend: Array<{ x: number; row: number }> = [];
  let lx = 16;
  let row = 0;
  for (const s of series) {
    const w = 30 + s.name.length * 7 + 16;
    if (lx + w > width - 8 && lx > 16) {
      row++;
      lx = 16;
    }
    legend.push({ x: lx, row });
    lx += w;
  }
  const legendRows = series.length === 0 ? 0 : row + 1;

  const left = 68;
  const right = width - 24;
  const top = 40 + legendRows * 18 + 8;
  const bottom = height - 48;

  const [x0, x1] = extent(all.map((p) => p.x));
  let [y0, y1] = extent(all.map((p) => p.y));
  if (options.yFromZero !== false) [y0, y1] = [Math.min(0, y0), Math.max(0, y1)];
  const xt = niceTicks(x0, x1);
  const yt = niceTicks(y0, y1);
  const px = (x: number): number => left + ((x - xt.min) / (xt.max - xt.min)) * (right - left);
  const py = (y: number): number => bottom - ((y - yt.min) / (yt.max - yt.min)) * (bottom - top);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${num(width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);

  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const { x, row: r } = legend[i];
    const y = 44 + r * 18;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${x + 30}" y="${y}" dy="0.32em">${escapeXml(s.name)}</text>`);
  });

  const yLabel = tickFormatter(yt);
  const xLabel = tickFormatter(xt);
  for (const v of yt.values) {
    const y = num(py(v));
    out.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${y}" dy="0.32em" text-anchor="end">${escapeXml(yLabel(v))}</text>`);
  }
  for (const v of xt.values) {
    const x = num(px(v));
    out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${bottom + 18}" text-anchor="middle">${escapeXml(xLabel(v))}</text>`);
  }
  out.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#333333"/>`);
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#333333"/>`);
  out.push(`<text x="${num((left + right) / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${num((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);

  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const color = PALETTE[i % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const points = s.points.map((p) => `${num(px(p.x))},${num(py(p.y))}`).join(' ');
    out.push(`<g data-series="${escapeXml(s.name)}">`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points}"/>`);
    if (!s.dashed) {
      for (const p of s.points) out.push(`<circle cx="${num(px(p.x))}" cy="${num(py(p.y))}" r="3" fill="${color}"/>`);
    }
    out.push('</g>');
  });

  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
