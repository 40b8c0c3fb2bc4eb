import { api, qs, session } from './api.js';
import { dataTable, errorBox, field, fmt, h, loading, mount, select, toast } from './ui.js';

// Staff pages (issue 14): Auditoría (who changed what), the user list for admins, a client's
// history card and the "Enviar mensaje" shortcut on the client page.

const who = (r) => h('td', { 'data-label': 'Quién' }, r.actor);
const summary = (d) => {
  if (!d || typeof d !== 'object') return '';
  const text = JSON.stringify(d);
  return text === '{}' ? '' : text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

function auditRows(registros) {
  return registros.map((r) =>
    h(
      'tr',
      null,
      h('td', { 'data-label': 'Cuándo' }, fmt.dateTime(r.fecha)),
      who(r),
      h('td', { 'data-label': 'Acción' }, r.accion),
      h('td', { 'data-label': 'Sobre' }, r.objeto ?? ''),
      h('td', { 'data-label': 'Detalles', class: 'small' }, summary(r.detalles)),
    ),
  );
}

/** The client page's history card ("who did what to this client"). */
export function clientHistoryCard(clientId, signal) {
  const card = h(
    'div',
    { class: 'card', id: 'historial-cliente' },
    h('h2', null, 'Historial de cambios'),
    loading(),
  );
  api(`/api/clientes/${clientId}/historial?limite=50`, { signal })
    .then(({ registros }) =>
      mount(
        card,
        h('h2', null, 'Historial de cambios'),
        registros.length
          ? dataTable(['Cuándo', 'Quién', 'Acción', 'Sobre', 'Detalles'], auditRows(registros))
          : h('p', { class: 'muted' }, 'Sin cambios registrados.'),
      ),
    )
    .catch((err) => card.append(errorBox(err)));
  return card;
}

/** "Enviar mensaje" on the client page: a single manual message to this client. */
export function sendMessageButton(clientId) {
  const dialog = h('dialog', { id: 'dialogo-mensaje' });
  const form = h(
    'form',
    {
      id: 'form-mensaje',
      async onsubmit(e) {
        e.preventDefault();
        const mensaje = form.mensaje.value.trim();
        if (!mensaje) return;
        try {
          await api('/api/notificaciones/create/', {
            method: 'POST',
            body: { cliente_id: Number(clientId), tipo: 'manual', mensaje },
          });
          toast('Mensaje en cola: sale ahora (o al abrir la ventana de envío).', 'ok');
          dialog.close();
        } catch (err) {
          form.append(errorBox(err));
        }
      },
    },
    h('h2', null, 'Enviar mensaje'),
    field('Mensaje', h('textarea', { name: 'mensaje', rows: 5, maxlength: 4096, required: true })),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, 'Enviar'),
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancelar'),
    ),
  );
  dialog.append(form);
  document.body.append(dialog);
  return h(
    'button',
    { type: 'button', class: 'small', id: 'enviar-mensaje', onclick: () => dialog.showModal() },
    'Enviar mensaje',
  );
}

/** #/auditoria: every change, filterable (admins). */
export async function renderAudit(root, { query, go, signal }) {
  document.title = 'Auditoría — TelTec Notificaciones';
  const params = {
    usuario: query.get('usuario') ?? '',
    accion: query.get('accion') ?? '',
    objeto: query.get('objeto') ?? '',
    desde: query.get('desde') ?? '',
    hasta: query.get('hasta') ?? '',
    pagina: query.get('pagina') ?? '',
  };
  const filters = h(
    'form',
    {
      class: 'filters row',
      onsubmit(e) {
        e.preventDefault();
        const f = new FormData(e.target);
        go('/auditoria', Object.fromEntries([...f.entries()].map(([k, v]) => [k, String(v).trim()])));
      },
    },
    field('Usuario', h('input', { name: 'usuario', value: params.usuario, id: 'a-usuario' })),
    field(
      'Acción',
      h('input', { name: 'accion', value: params.accion, placeholder: 'cliente.', id: 'a-accion' }),
    ),
    field(
      'Sobre',
      h('input', { name: 'objeto', value: params.objeto, placeholder: 'cliente:12', id: 'a-objeto' }),
    ),
    field('Desde', h('input', { name: 'desde', type: 'date', value: params.desde, id: 'a-desde' })),
    field('Hasta', h('input', { name: 'hasta', type: 'date', value: params.hasta, id: 'a-hasta' })),
    h('button', { type: 'submit' }, 'Filtrar'),
  );
  const list = h('div', { class: 'card', id: 'auditoria' }, loading());
  mount(root, h('div', { class: 'page-head' }, h('h1', null, 'Auditoría')), filters, list);
  const data = await api(`/api/auditoria${qs(params)}`, { signal });
  mount(
    list,
    h('p', { class: 'muted' }, `${data.total} cambios`),
    dataTable(['Cuándo', 'Quién', 'Acción', 'Sobre', 'Detalles'], auditRows(data.registros)),
  );
}

/** #/usuarios: staff accounts (admins): create, change role, deactivate. */
export async function renderUsers(root, { signal }) {
  document.title = 'Usuarios — TelTec Notificaciones';
  const list = h('div', { class: 'card', id: 'usuarios' }, loading());
  const roles = [
    ['admin', 'Administrador'],
    ['operador', 'Operador'],
    ['lectura', 'Solo lectura'],
  ];
  const create = h(
    'form',
    {
      class: 'card',
      id: 'form-usuario',
      async onsubmit(e) {
        e.preventDefault();
        const f = e.target;
        try {
          await api('/api/usuarios', {
            method: 'POST',
            body: {
              usuario: f.usuario.value.trim(),
              nombre: f.nombre.value.trim(),
              rol: f.rol.value,
              clave: f.clave.value,
            },
          });
          f.reset();
          toast('Usuario creado.', 'ok');
          await load();
        } catch (err) {
          f.append(errorBox(err));
        }
      },
    },
    h('h2', null, 'Nuevo usuario'),
    field('Nombre', h('input', { name: 'nombre', required: true })),
    field('Usuario', h('input', { name: 'usuario', required: true, autocapitalize: 'none' })),
    field('Rol', select('rol', roles, 'operador')),
    field(
      'Clave inicial',
      h('input', {
        name: 'clave',
        type: 'password',
        autocomplete: 'new-password',
        required: true,
        minlength: 10,
      }),
    ),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Crear usuario')),
  );
  mount(root, h('div', { class: 'page-head' }, h('h1', null, 'Usuarios')), list, create);
  async function patch(id, body) {
    try {
      await api(`/api/usuarios/${id}`, { method: 'PATCH', body });
      toast('Usuario actualizado.', 'ok');
    } catch (err) {
      toast(err.message, 'bad');
    }
    await load();
  }
  async function load() {
    const { usuarios } = await api('/api/usuarios', { signal });
    mount(
      list,
      dataTable(
        ['Nombre', 'Usuario', 'Rol', 'Estado', ''],
        usuarios.map((u) => {
          const rol = select('rol', roles, u.rol);
          rol.addEventListener('change', () => patch(u.id, { rol: rol.value }));
          return h(
            'tr',
            { dataset: { id: String(u.id) } },
            h('td', { 'data-label': 'Nombre' }, u.nombre),
            h('td', { 'data-label': 'Usuario' }, u.usuario),
            h('td', { 'data-label': 'Rol' }, rol),
            h('td', { 'data-label': 'Estado' }, u.activo ? 'Activo' : 'Inactivo'),
            h(
              'td',
              null,
              u.id === session.me?.usuario?.id
                ? h(
                    'button',
                    {
                      class: 'small',
                      async onclick() {
                        const r = await api('/api/sesion/otras', { method: 'DELETE' });
                        toast(`Sesiones cerradas: ${r.cerradas}.`, 'ok');
                      },
                    },
                    'Cerrar mis otras sesiones',
                  )
                : h(
                    'button',
                    { class: 'small', onclick: () => patch(u.id, { activo: !u.activo }) },
                    u.activo ? 'Desactivar' : 'Activar',
                  ),
            ),
          );
        }),
      ),
    );
  }
  await load();
}
