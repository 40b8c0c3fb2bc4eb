import { api, session } from '../api.js';
import {
  confirmDialog,
  dataTable,
  errorBox,
  field,
  fmt,
  h,
  loading,
  mount,
  showFieldErrors,
  toast,
} from '../ui.js';

// Planes (issue 14 §7): the provider's plans with their clients; create one, change its name,
// speed or price, retire it (its clients keep it, nobody new gets it), put it back on sale, or
// delete one that nobody has. Changing plans is for admins (the API refuses the others).

const money = (n) => fmt.money(n);

export async function render(root, { signal }) {
  document.title = 'Planes — TelTec Notificaciones';
  const list = h('div', { id: 'planes-lista' }, loading());
  // Token sessions (scripts, the sandbox) have no `me`: the API decides; staff see only what they may do.
  const canEdit = !session.me || session.me.rol === 'admin';
  const form = planForm(null, () => load());
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('div', null, h('h1', null, 'Planes'), h('p', { class: 'muted' }, 'Velocidad y precio de cada plan.')),
    ),
    h('div', { class: 'card' }, list),
    canEdit
      ? h('div', { class: 'card' }, h('h2', null, 'Nuevo plan'), form)
      : h('p', { class: 'muted' }, 'Solo un administrador puede crear, cambiar o retirar planes.'),
  );

  async function load() {
    let r;
    try {
      r = await api('/api/planes', { signal });
    } catch (err) {
      mount(list, errorBox(err));
      return;
    }
    mount(
      list,
      r.planes.length
        ? dataTable(
            ['Plan', 'Velocidad', 'Precio', 'Clientes', 'Estado', ''],
            r.planes.map((p) => planRow(p, load, canEdit)),
          )
        : h('p', { class: 'muted' }, 'Aún no hay planes. Cree el primero abajo.'),
    );
  }
  await load();
}

function planRow(p, reload, canEdit) {
  const edit = h('button', { type: 'button', class: 'small', dataset: { accion: 'editar' } }, 'Editar');
  const row = h(
    'tr',
    { dataset: { plan: String(p.id), retirado: p.retirado ? '1' : '0' } },
    h('td', { 'data-label': 'Plan' }, p.nombre),
    h('td', { 'data-label': 'Velocidad' }, `${fmt.n(p.velocidad_mbps)} Mbps`),
    h('td', { 'data-label': 'Precio', class: 'num' }, money(p.precio)),
    h('td', { 'data-label': 'Clientes', class: 'num' }, fmt.n(p.clientes)),
    h(
      'td',
      { 'data-label': 'Estado' },
      p.retirado
        ? h('span', { class: 'badge warn', title: `Retirado el ${fmt.date(p.retirado_en)}` }, 'Retirado')
        : h('span', { class: 'badge ok' }, 'En venta'),
    ),
    h(
      'td',
      { class: 'actions' },
      ...(canEdit ? [edit, retireButton(p, reload), deleteButton(p, reload)] : []),
    ),
  );
  edit.addEventListener('click', () => {
    const editor = h('tr', { class: 'editor' }, h('td', { colspan: 6 }, planForm(p, reload)));
    row.after(editor);
    edit.disabled = true;
  });
  return row;
}

function retireButton(p, reload) {
  const retiring = !p.retirado;
  return h(
    'button',
    {
      type: 'button',
      class: 'small',
      dataset: { accion: retiring ? 'retirar' : 'reactivar' },
      async onclick() {
        if (retiring) {
          const ok = await confirmDialog(
            `Retirar el plan ${p.nombre}`,
            p.clientes > 0
              ? `Sus ${fmt.n(p.clientes)} clientes conservan el plan y su precio; no se podrá asignar a clientes nuevos.`
              : 'No se podrá asignar a clientes nuevos.',
            { ok: 'Retirar' },
          );
          if (!ok) return;
        }
        try {
          await api(`/api/planes/${p.id}`, { method: 'PATCH', body: { retirado: retiring } });
          toast(retiring ? `Plan ${p.nombre} retirado.` : `Plan ${p.nombre} de nuevo en venta.`, 'ok');
          reload();
        } catch (err) {
          toast(err.message, 'bad');
        }
      },
    },
    retiring ? 'Retirar' : 'Poner en venta',
  );
}

function deleteButton(p, reload) {
  if (p.clientes > 0) return null;
  return h(
    'button',
    {
      type: 'button',
      class: 'small danger',
      dataset: { accion: 'borrar' },
      async onclick() {
        const ok = await confirmDialog(
          `Borrar el plan ${p.nombre}`,
          'Ningún cliente lo tiene. No se puede deshacer.',
          {
            ok: 'Borrar',
            danger: true,
          },
        );
        if (!ok) return;
        try {
          await api(`/api/planes/${p.id}`, { method: 'DELETE' });
          toast(`Plan ${p.nombre} borrado.`, 'ok');
          reload();
        } catch (err) {
          toast(err.message, 'bad');
        }
      },
    },
    'Borrar',
  );
}

/** Create (plan = null) or edit one plan. */
function planForm(plan, done) {
  const form = h(
    'form',
    {
      class: 'row plan-form',
      dataset: { plan: plan ? String(plan.id) : 'nuevo' },
      async onsubmit(e) {
        e.preventDefault();
        const body = {
          nombre: form.nombre.value.trim(),
          velocidad_mbps: form.velocidad_mbps.value,
          precio: form.precio.value.replace(',', '.'),
        };
        form.querySelector('.error')?.remove();
        try {
          if (plan) {
            await api(`/api/planes/${plan.id}`, { method: 'PATCH', body });
            toast(`Plan ${body.nombre} guardado.`, 'ok');
          } else {
            await api('/api/planes', { method: 'POST', body });
            toast(`Plan ${body.nombre} creado.`, 'ok');
            form.reset();
          }
          done();
        } catch (err) {
          if (!showFieldErrors(form, err)) form.append(errorBox(err));
        }
      },
    },
    field(
      'Nombre',
      h('input', { name: 'nombre', required: true, maxlength: 100, value: plan?.nombre ?? '' }),
    ),
    field(
      'Velocidad (Mbps)',
      h('input', {
        name: 'velocidad_mbps',
        type: 'number',
        min: 1,
        step: 1,
        required: true,
        value: plan?.velocidad_mbps ?? '',
      }),
    ),
    field(
      'Precio mensual (USD)',
      h('input', {
        name: 'precio',
        inputmode: 'decimal',
        required: true,
        value: plan ? String(plan.precio) : '',
      }),
      plan && plan.clientes > 0
        ? 'El nuevo precio rige para los próximos avisos de sus clientes.'
        : undefined,
    ),
    h('button', { type: 'submit', class: 'primary' }, plan ? 'Guardar' : 'Crear plan'),
  );
  return form;
}
