import { api, download, qs } from '../api.js';
import { errorBox, field, h, loading, mount, options, select, toast } from '../ui.js';

// Invitations in bulk for every client without Telegram: a CSV of links (for a mail merge or
// WhatsApp) and printable cards with the QR and the name (for invoices and the office counter).

const CSV = '/api/invitaciones/enlaces.csv';
const PRINT = '/api/invitaciones/imprimir';

export async function render(root, { signal }) {
  document.title = 'Invitaciones — TelTec Notificaciones';
  const head = h(
    'div',
    { class: 'page-head' },
    h(
      'div',
      null,
      h('a', { href: '#/clientes', class: 'small no-print' }, '← Clientes'),
      h('h1', null, 'Invitaciones a Telegram'),
    ),
  );
  const sectores = (await api('/api/sectores', { signal })).sectores;
  const sector = select(
    'sector',
    sectores.map((s) => [s.nombre, s.nombre]),
    '',
    'Todos los sectores',
  );
  const estado = select('estado', options('estado'), 'activo', 'Todos');
  const cards = h('div', { id: 'tarjetas' });
  const filters = () => ({ sector: sector.value, estado: estado.value });

  const preview = async () => {
    mount(cards, loading('Preparando las tarjetas…'));
    try {
      const html = await api(`${PRINT}${qs({ ...filters(), por_pagina: 300 })}`, { signal });
      // Our own API's page, escaped there; parsed inert and only its cards (SVG + text) are taken.
      const doc = new DOMParser().parseFromString(html, 'text/html');
      for (const s of doc.querySelectorAll('script, style, link')) s.remove();
      const figures = [...doc.querySelectorAll('figure')];
      const intro = doc.querySelector('header p')?.textContent ?? '';
      mount(
        cards,
        h('p', { class: 'muted no-print' }, intro),
        figures.length
          ? h(
              'div',
              { class: 'invite-grid' },
              figures.map((f) => document.importNode(f, true)),
            )
          : h('p', { class: 'muted' }, 'Todos los clientes de este filtro ya tienen Telegram.'),
      );
    } catch (err) {
      mount(cards, errorBox(err));
    }
  };

  mount(
    root,
    head,
    h(
      'div',
      { class: 'card no-print' },
      h(
        'p',
        null,
        'Cada cliente sin Telegram recibe un enlace de un solo uso: al abrirlo, el bot lo vincula sin pedir la cédula. Se crean las invitaciones que falten.',
      ),
      h('div', { class: 'form-grid' }, field('Sector', sector), field('Estado', estado)),
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              download(`${CSV}${qs(filters())}`, 'invitaciones.csv').catch((e) => toast(e.message, 'bad')),
          },
          'Descargar enlaces (CSV)',
        ),
        h('button', { type: 'button', onclick: preview }, 'Ver tarjetas con QR'),
        h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, 'Imprimir'),
      ),
    ),
    cards,
  );
}
