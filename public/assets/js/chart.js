import { fmt, h, meter, svg } from './ui.js';

/**
 * Bars per day as inline SVG (no library): one bar per series, side by side.
 * `days`: [{ fecha: 'YYYY-MM-DD', creadas, enviadas, fallidas }]; `series`: [[key, label, colour]].
 */
export function dailyBars(days, series, { height = 190 } = {}) {
  const W = 640;
  const H = height;
  const pad = { l: 34, r: 6, t: 10, b: 22 };
  const max = Math.max(1, ...days.flatMap((d) => series.map(([k]) => d[k] ?? 0)));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const innerW = W - pad.l - pad.r;
  const innerH = H - pad.t - pad.b;
  const slot = innerW / Math.max(1, days.length);
  const bw = Math.max(1, (slot * 0.8) / series.length);
  const y = (v) => pad.t + innerH - (v / top) * innerH;

  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(
      svg('line', { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), stroke: '#e6eaf0' }),
      svg(
        'text',
        { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#6b7685' },
        fmt.n(v),
      ),
    );
  }
  const every = Math.ceil(days.length / 10);
  const groups = days.map((d, i) => {
    const x0 = pad.l + i * slot + slot * 0.1;
    const bars = series.map(([k, , colour], j) => {
      const v = d[k] ?? 0;
      return svg('rect', {
        x: x0 + j * bw,
        width: bw,
        y: y(v),
        height: Math.max(0, y(0) - y(v)),
        fill: colour,
      });
    });
    const label =
      i % every === 0
        ? svg(
            'text',
            { x: x0 + slot * 0.4, y: H - 6, 'text-anchor': 'middle', 'font-size': 10, fill: '#6b7685' },
            `${d.fecha.slice(8, 10)}/${d.fecha.slice(5, 7)}`,
          )
        : null;
    const title = `${fmt.date(d.fecha)}: ${series.map(([k, l]) => `${fmt.n(d[k] ?? 0)} ${l.toLowerCase()}`).join(', ')}`;
    return svg('g', null, svg('title', null, title), bars, label);
  });
  return h(
    'div',
    { class: 'chart' },
    svg(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Notificaciones por día' },
      grid,
      groups,
    ),
    h(
      'div',
      { class: 'legend' },
      // Swatches are SVG fills (attributes, not inline styles: the page's CSP refuses those).
      series.map(([, label, colour]) =>
        h(
          'span',
          null,
          svg(
            'svg',
            { class: 'swatch', viewBox: '0 0 10 10', 'aria-hidden': 'true' },
            svg('rect', { width: 10, height: 10, rx: 2, fill: colour }),
          ),
          label,
        ),
      ),
    ),
  );
}

function niceStep(max) {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (raw <= m * mag) return Math.max(1, m * mag);
  return Math.max(1, 10 * mag);
}

/** Horizontal bars for a few labelled counts (failures by reason). `tone`: 'bad' | 'muted'. */
export function barList(items, tone = 'bad') {
  const max = Math.max(1, ...items.map((i) => i.valor));
  return h(
    'ul',
    { class: 'list-plain' },
    items.map((i) =>
      h(
        'li',
        { class: 'block' },
        h(
          'div',
          { class: 'row' },
          h('span', null, i.etiqueta),
          h('span', { class: 'spacer' }),
          h('strong', null, fmt.n(i.valor)),
        ),
        meter((i.valor / max) * 100, { tone }),
      ),
    ),
  );
}
