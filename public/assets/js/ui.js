import { api, qs } from './api.js';
import { LABELS, label } from './labels.js';

// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so data cannot inject markup.

// Labels have one home (labels.js); pages may import them from here too.
export { LABELS, label, options } from './labels.js';

/** h('a', { href: '#/', class: 'x', onclick }, 'text', child, [more]) → element. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // Through CSSOM: the page's CSP refuses style="" attributes.
    else if (k === 'style') el.style.cssText = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

// ------------------------------------------------------------------------------------ formatting
const nf = new Intl.NumberFormat('es-EC');
const money = new Intl.NumberFormat('es-EC', { style: 'currency', currency: 'USD' });
// Calendar dates carry no zone; instants are shown in the provider's zone (written into the page).
const zone = document.body?.dataset.zona;
const timeZone = zone && !zone.includes('{') ? zone : undefined;
const dateFmt = new Intl.DateTimeFormat('es-EC', { day: 'numeric', month: 'short', year: 'numeric' });
const dateTimeFmt = new Intl.DateTimeFormat('es-EC', {
  hourCycle: 'h23', // 24-hour: '01:54', never '01:54 a. m.' (its period doubled at a sentence's end)
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  timeZone,
});
export const timeFmt = new Intl.DateTimeFormat('es-EC', {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone,
});

export const fmt = {
  n: (v) => (v === null || v === undefined ? '—' : nf.format(v)),
  money: (v) => (v === null || v === undefined ? '—' : money.format(v)),
  pct: (v) => (v === null || v === undefined ? '—' : `${nf.format(Math.round(v * 10) / 10)} %`),
  /** 'YYYY-MM-DD' (a calendar date, no time zone) → '5 mar 2026'. */
  date(v) {
    if (!v) return '—';
    const [y, m, d] = v.slice(0, 10).split('-').map(Number);
    return dateFmt.format(new Date(y, m - 1, d));
  },
  dateTime: (v) => (v ? dateTimeFmt.format(new Date(v)) : '—'),
  /** An instant → '08:00' in the provider's zone. */
  time: (v) => (v ? timeFmt.format(new Date(v)) : '—'),
};

const TONE = {
  al_dia: 'ok',
  por_vencer: 'warn',
  vencido: 'bad',
  enviado: 'ok',
  entregado: 'ok',
  leido: 'ok',
  pendiente: 'info',
  fallido: 'bad',
  cancelado: '',
  activo: 'ok',
  suspendido: 'warn',
  retirado: '',
  completada: 'ok',
  en_curso: 'info',
  cancelada: '',
};

/**
 * Where one attempt on a channel is: ✓ enviado (the provider took it), ✓✓ entregado, ✓✓ leído
 * (blue, as WhatsApp shows it). "Enviado" is never shown as delivered.
 */
export function deliveryMark(estado) {
  const tone = { enviado: '', entregado: 'ok', leido: 'info', fallido: 'bad', pendiente: '' }[estado] ?? '';
  return h(
    'span',
    { class: `badge entrega ${tone}`, dataset: { entrega: estado ?? '' } },
    label('envio_estado', estado),
  );
}

/** A coloured badge for a known state value. */
export function badge(group, value) {
  const text = label(group, value);
  return h('span', { class: `badge ${TONE[value] ?? ''}`, dataset: { valor: value ?? '' } }, text);
}

/** The Telegram state of a client as one badge. */
export function telegramBadge(t) {
  const T = LABELS.telegram;
  if (!t?.vinculado) return h('span', { class: 'badge', dataset: { valor: 'sin_vincular' } }, T.sin_vincular);
  if (t.bloqueado) return h('span', { class: 'badge bad', dataset: { valor: 'bloqueado' } }, T.bloqueado);
  if (t.inalcanzable) {
    return h('span', { class: 'badge bad', dataset: { valor: 'inalcanzable' } }, T.inalcanzable);
  }
  // Linked by cédula alone: notices carry no billing data until staff confirm the link.
  if (!t.verificado) {
    return h(
      'span',
      {
        class: 'badge warn',
        dataset: { valor: 'pendiente_de_verificar' },
        title: 'Vinculado solo con la cédula',
      },
      T.pendiente_de_verificar,
    );
  }
  return h('span', { class: 'badge ok', dataset: { valor: 'vinculado' }, title: 'Verificado' }, T.verificado);
}

/**
 * A bar for a share (0–100): a native <progress>, so no inline style is needed (the page's CSP
 * refuses them). `tone`: '' | 'ok' | 'muted'.
 */
export function meter(pct, { tone = '', big = false, ...attrs } = {}) {
  const v = Math.max(0, Math.min(100, Number(pct) || 0));
  return h('progress', { class: `meter ${tone} ${big ? 'big' : ''}`.trim(), max: 100, value: v, ...attrs });
}

/**
 * When a pending notice of this kind goes out, from the service's own clock and send window
 * (`/api/ajustes`): null when it goes now, else "sale a las 08:00 (fuera del horario de envío)".
 * Urgent notices and the welcome do not wait for the window.
 */
export function sendWait(settings, row, { plural = false } = {}) {
  const e = settings?.envio;
  if (!e || e.en_ventana || !e.proxima_apertura || row.urgente || row.tipo === 'bienvenida') return null;
  const day = (v) => dayFmt.format(new Date(v));
  const when = day(e.proxima_apertura) === day(settings.ahora) ? '' : 'mañana ';
  return `${plural ? 'salen' : 'sale'} ${when}a las ${fmt.time(e.proxima_apertura)} (fuera del horario de envío)`;
}
const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone });

/** How far a due date is: "vence hoy", "hace 1 día", "en 3 días" (`dias` as the API gives it). */
export function dueIn({ dias, estado_pago }) {
  const n = Math.abs(dias);
  if (n === 0) return 'vence hoy';
  const unit = n === 1 ? 'día' : 'días';
  return estado_pago === 'vencido' ? `hace ${fmt.n(n)} ${unit}` : `en ${fmt.n(n)} ${unit}`;
}

// ------------------------------------------------------------------------------------ states
export const loading = (text = 'Cargando…') => h('div', { class: 'loading', role: 'status' }, text);

export function errorBox(err) {
  return h('div', { class: 'notice bad', role: 'alert' }, err?.message ?? String(err));
}

// ------------------------------------------------------------------------------------ feedback
export function toast(text, tone = '') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: `toast ${tone}`, role: 'status' }, text);
  box.append(el);
  setTimeout(() => el.remove(), tone === 'bad' ? 7000 : 3500);
}

/**
 * A modal yes/no question; resolves true when confirmed. The way out says "Volver" (never
 * "Cancelar", which reads as the action when the action itself is a cancellation).
 */
export function confirmDialog(title, text, { ok = 'Confirmar', cancel = 'Volver', danger = false } = {}) {
  return new Promise((resolve) => {
    const dlg = h(
      'dialog',
      null,
      h('h2', null, title),
      text ? h('p', null, text) : null,
      h(
        'form',
        { method: 'dialog', class: 'row dialog-actions' },
        h('button', { value: 'no' }, cancel),
        h('button', { value: 'si', class: danger ? 'danger' : 'primary' }, ok),
      ),
    );
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'si');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export function debounce(fn, ms = 250) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** A labelled form field around an input. */
export function field(labelText, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, labelText),
    input,
    hint ? h('div', { class: 'hint' }, hint) : null,
  );
}

/** <select> with [value, label] options; `empty` adds a first option with value ''. */
export function select(name, options, value, empty) {
  return h(
    'select',
    { name },
    empty !== undefined ? h('option', { value: '' }, empty) : null,
    options.map(([v, label]) =>
      h('option', { value: v, selected: String(v) === String(value ?? '') }, label),
    ),
  );
}

/** Shows the API's per-field validation details next to the form's inputs. */
export function showFieldErrors(form, err) {
  for (const e of form.querySelectorAll('.field .error')) e.remove();
  const detalles = Array.isArray(err?.detalles) ? err.detalles : [];
  let shown = 0;
  for (const d of detalles) {
    const input = form.querySelector(`[name="${CSS.escape(String(d.campo ?? ''))}"]`);
    if (input?.parentElement) {
      input.parentElement.append(h('div', { class: 'error' }, d.mensaje));
      shown++;
    }
  }
  return shown;
}

/** No TELEGRAM_BOT_TOKEN (and not the sandbox): what to do, instead of asking Telegram. */
export function noBotNotice() {
  return h(
    'div',
    { class: 'notice warn', dataset: { modo: 'sin_bot' } },
    'El bot de Telegram no está configurado: defina TELEGRAM_BOT_TOKEN y reinicie el servicio.',
  );
}

/** A table that turns into labelled cards at phone width: header texts and the body rows. */
export function dataTable(headers, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'responsive' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          headers.map((t) => h('th', null, t)),
        ),
      ),
      h('tbody', null, rows),
    ),
  );
}

/** Pagination bar: "1–50 de 100.000", previous/next. */
export function pager({ pagina, porPagina, total, onPage }) {
  const pages = Math.max(1, Math.ceil(total / porPagina));
  const from = total === 0 ? 0 : (pagina - 1) * porPagina + 1;
  const to = Math.min(total, pagina * porPagina);
  return h(
    'div',
    { class: 'pager' },
    h('span', { class: 'muted small', dataset: { total } }, `${fmt.n(from)}–${fmt.n(to)} de ${fmt.n(total)}`),
    h(
      'div',
      { class: 'row' },
      h('button', { class: 'small', disabled: pagina <= 1, onclick: () => onPage(pagina - 1) }, '← Anterior'),
      h('span', { class: 'small muted' }, `Página ${fmt.n(pagina)} de ${fmt.n(pages)}`),
      h(
        'button',
        { class: 'small', disabled: pagina >= pages, onclick: () => onPage(pagina + 1) },
        'Siguiente →',
      ),
    ),
  );
}

/** Today as YYYY-MM-DD in the browser's zone. */
export function todayIso() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

const TG_TAGS = {
  b: 'strong',
  strong: 'strong',
  i: 'em',
  em: 'em',
  u: 'u',
  ins: 'u',
  s: 's',
  strike: 's',
  del: 's',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-spoiler': 'span',
  a: 'a',
};

/**
 * Telegram's HTML subset (what templates are written in) as safe elements: parsed inert, and only
 * Telegram's own tags are rebuilt; everything else becomes its text.
 */
export function telegramHtml(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const walk = (node) => {
    const out = document.createDocumentFragment();
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        out.append(child.textContent);
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = TG_TAGS[child.tagName.toLowerCase()];
      if (!tag) {
        out.append(walk(child));
        continue;
      }
      const el = document.createElement(tag);
      if (tag === 'a') {
        const href = child.getAttribute('href') ?? '';
        if (/^(https?|tg):/i.test(href)) {
          el.href = href;
          el.target = '_blank';
          el.rel = 'noopener noreferrer';
        }
      }
      if (child.tagName.toLowerCase() === 'tg-spoiler') el.className = 'spoiler';
      el.append(walk(child));
      out.append(el);
    }
    return out;
  };
  return walk(doc.body);
}

/**
 * A client chosen by searching (name, cédula or phone; the API's `buscar`, accent-insensitive where
 * the API is): never a list cut at the first N clients. `onPick(client)` runs on every choice.
 * Returns the element; `.client` holds the chosen one (or null).
 */
export function clientPicker({ id, label: text = 'Cliente', initial = null, onPick = () => {} } = {}) {
  const input = h('input', {
    type: 'search',
    id,
    name: 'buscar_cliente',
    placeholder: 'Buscar por nombre, cédula o teléfono',
    autocomplete: 'off',
    'aria-autocomplete': 'list',
  });
  const results = h('ul', { class: 'picker-results list-plain', role: 'listbox', hidden: true });
  const chosen = h('div', { class: 'small muted picker-chosen', 'aria-live': 'polite' });
  const root = h('div', { class: 'field picker' }, h('label', { for: id }, text), input, results, chosen);
  root.client = null;
  const pick = (c, notify = true) => {
    root.client = c;
    results.hidden = true;
    input.value = '';
    mount(
      chosen,
      c
        ? ['Elegido: ', h('strong', { dataset: { clienteId: c.id } }, c.nombre), c.plan ? ` (${c.plan})` : '']
        : '',
    );
    if (c && notify) onPick(c);
  };
  let seq = 0;
  const search = debounce(async () => {
    const my = ++seq;
    const q = input.value.trim();
    if (!q) {
      results.hidden = true;
      return;
    }
    try {
      const r = await api(`/api/clientes${qs({ buscar: q, por_pagina: 8 })}`);
      if (my !== seq) return;
      mount(
        results,
        r.clientes.length
          ? r.clientes.map((c) =>
              h(
                'li',
                { role: 'option' },
                h(
                  'button',
                  { type: 'button', class: 'link', dataset: { id: c.id }, onclick: () => pick(c) },
                  c.nombre,
                  h('span', { class: 'small muted' }, ` · ${c.cedula}${c.sector ? ` · ${c.sector}` : ''}`),
                ),
              ),
            )
          : h('li', { class: 'muted small' }, 'Ningún cliente coincide.'),
        r.total > r.clientes.length
          ? h(
              'li',
              { class: 'muted small' },
              `y ${fmt.n(r.total - r.clientes.length)} más: escriba más letras`,
            )
          : null,
      );
      results.hidden = false;
    } catch (err) {
      if (my === seq) mount(results, h('li', { class: 'error small' }, err.message));
      results.hidden = false;
    }
  }, 250);
  input.addEventListener('input', search);
  if (initial) pick(initial, false);
  return root;
}
