import { api } from '../api.js';
import { errorBox, fmt, h, mount } from '../ui.js';

// CSV import: a file (or pasted text) goes to POST /api/clientes/importar as text/csv; the answer
// lists what was created, updated, and each refused line with its reason.

const COLUMNS = 'cedula,nombre,telefono,email,direccion,sector,plan,estado,fecha_ultimo_pago,dia_pago';
const EXAMPLE = `${COLUMNS}\n1714307103,María Pérez,0987654321,maria@correo.ec,Av. Amazonas N34-12,Centro,Hogar 60,activo,2026-02-12,\n`;

export async function render(root) {
  document.title = 'Importar clientes — TelTec Notificaciones';
  const file = h('input', { type: 'file', accept: '.csv,text/csv', name: 'archivo', id: 'csv-archivo' });
  const text = h('textarea', {
    name: 'texto',
    id: 'csv-texto',
    placeholder: EXAMPLE,
    spellcheck: false,
    class: 'mono',
  });
  const report = h('div', { id: 'reporte-importacion', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Importar');

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  });

  const form = h(
    'form',
    {
      class: 'card',
      async onsubmit(e) {
        e.preventDefault();
        const csv = text.value;
        if (!csv.trim()) {
          mount(report, errorBox('Elija un archivo CSV o pegue su contenido.'));
          return;
        }
        submit.disabled = true;
        mount(report, h('div', { class: 'loading' }, 'Importando…'));
        try {
          const r = await api('/api/clientes/importar', {
            method: 'POST',
            body: csv,
            type: 'text/csv; charset=utf-8',
          });
          mount(report, reportView(r));
        } catch (err) {
          mount(report, errorBox(err));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'csv-archivo' }, 'Archivo CSV (UTF-8)'), file),
    h('div', { class: 'field' }, h('label', { for: 'csv-texto' }, 'o pegue el contenido'), text),
    h(
      'div',
      { class: 'row' },
      submit,
      h('button', { type: 'button', onclick: downloadTemplate }, 'Descargar plantilla'),
    ),
  );

  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        h('a', { href: '#/clientes', class: 'small' }, '← Clientes'),
        h('h1', null, 'Importar clientes'),
      ),
    ),
    h(
      'div',
      { class: 'card' },
      h(
        'p',
        null,
        'La primera línea nombra las columnas (separadas por coma o punto y coma). Obligatorias: ',
        h('code', null, 'cedula'),
        ' y ',
        h('code', null, 'nombre'),
        '.',
      ),
      h(
        'p',
        { class: 'muted small' },
        'Columnas aceptadas: ',
        h('code', null, COLUMNS.replaceAll(',', ', ')),
        '. Si la cédula ya existe, el cliente se actualiza. Las líneas con errores no cambian nada y se listan abajo.',
      ),
    ),
    form,
    report,
  );
}

function reportView(r) {
  return h(
    'div',
    { class: 'card' },
    h('h2', null, 'Resultado'),
    h(
      'div',
      { class: 'row' },
      h('span', { class: 'badge ok', dataset: { cifra: 'creados' } }, `${fmt.n(r.creados)} creados`),
      h(
        'span',
        { class: 'badge info', dataset: { cifra: 'actualizados' } },
        `${fmt.n(r.actualizados)} actualizados`,
      ),
      h(
        'span',
        { class: `badge ${r.errores.length ? 'bad' : ''}`, dataset: { cifra: 'errores' } },
        `${fmt.n(r.errores.length)} con errores`,
      ),
    ),
    r.errores.length
      ? h(
          'div',
          { class: 'table-wrap section' },
          h(
            'table',
            { id: 'errores-importacion' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { class: 'num' }, 'Línea'),
                h('th', null, 'Cédula'),
                h('th', null, 'Motivo'),
              ),
            ),
            h(
              'tbody',
              null,
              r.errores.map((e) =>
                h(
                  'tr',
                  { dataset: { linea: e.linea } },
                  h('td', { class: 'num' }, e.linea),
                  h('td', { class: 'mono' }, e.cedula ?? '—'),
                  h('td', null, e.motivo),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted section' }, 'Todas las líneas se importaron.'),
    h('p', null, h('a', { href: '#/clientes' }, 'Ver clientes')),
  );
}

function downloadTemplate() {
  const url = URL.createObjectURL(new Blob(['\uFEFF' + EXAMPLE], { type: 'text/csv;charset=utf-8' }));
  const a = h('a', { href: url, download: 'plantilla-clientes.csv' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
