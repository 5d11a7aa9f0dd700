/** Records pulled per hour by integration, as an SVG line chart (no chart library: one polyline per series). */
import { api } from '../api';
import { h } from '../dom';

interface PerHour {
  hours: string[];
  series: { integration: string; received: number[] }[];
}

const COLORS = ['#2f6fd6', '#d6652f', '#2fa85a', '#a82f9b', '#c9a21a', '#2fb3c9', '#6b4fd6', '#8a8a8a'];
const SVG = 'http://www.w3.org/2000/svg';
const W = 960;
const H = 300;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

export async function throughputPage(root: HTMLElement): Promise<void> {
  const data = await api<PerHour>('GET', '/api/sync/records-per-hour?hours=24');
  const max = Math.max(1, ...data.series.flatMap((s) => s.received));
  const x = (i: number) => PAD.left + (i * (W - PAD.left - PAD.right)) / Math.max(1, data.hours.length - 1);
  const y = (v: number) => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / max;
  const chart = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: '100%',
    role: 'img',
    'aria-label': 'records per hour by integration',
  });
  for (const fraction of [0, 0.5, 1]) {
    chart.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * fraction), y2: y(max * fraction), stroke: '#e1e4ea' }),
    );
    chart.append(
      svg(
        'text',
        { x: PAD.left - 6, y: y(max * fraction) + 4, 'text-anchor': 'end', 'font-size': 11 },
        String(Math.round(max * fraction)),
      ),
    );
  }
  data.hours.forEach((hour, i) => {
    if (i % 4 === 0 || i === data.hours.length - 1) {
      // The last label ends at the last point, so it stays inside the chart.
      const anchor = i === data.hours.length - 1 ? 'end' : 'middle';
      chart.append(
        svg('text', { x: x(i), y: H - 8, 'text-anchor': anchor, 'font-size': 11 }, `${hour.slice(11, 13)}:00`),
      );
    }
  });
  data.series.forEach((series, n) => {
    const color = COLORS[n % COLORS.length];
    const points = series.received.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    chart.append(
      svg('polyline', {
        points,
        fill: 'none',
        stroke: color,
        'stroke-width': 2,
        'data-integration': series.integration,
      }),
    );
  });
  const legend = h(
    'div',
    { class: 'legend' },
    ...data.series.map((s, n) => {
      const item = h('span', {}, `${s.integration} (${s.received.reduce((a, b) => a + b, 0)})`);
      item.style.setProperty('--c', COLORS[n % COLORS.length]);
      return item;
    }),
  );
  root.replaceChildren(
    h('h1', {}, 'Records per hour (last 24 hours, UTC)'),
    h(
      'div',
      { class: 'chart' },
      chart,
      data.series.length ? legend : h('p', { class: 'muted' }, 'No records pulled in the last 24 hours.'),
    ),
  );
}
