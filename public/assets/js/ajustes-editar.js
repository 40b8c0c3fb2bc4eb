import { api } from './api.js';
import { label, options } from './labels.js';
import { errorBox, field, h, loading, mount, showFieldErrors, toast } from './ui.js';

// Ajustes stored in the database (issue 14): company data and bank accounts, send window, daily
// run time, cycle rules, suspension days and the staff session timeout. Only admins see the page.

const input = (name, value, attrs = {}) => h('input', { name, value: value ?? '', ...attrs });
const num = (name, value, min, max, step = 1) =>
  input(name, value, { type: 'number', min, max, step, required: true });
const time = (name, value) => input(name, value, { type: 'time', required: true });

function accountRow(a = {}) {
  return h(
    'fieldset',
    { class: 'cuenta' },
    h('legend', null, 'Cuenta bancaria'),
    field('Banco', input('banco', a.banco, { required: true })),
    field(
      'Tipo',
      h(
        'select',
        { name: 'tipo' },
        h('option', { value: 'ahorros', selected: a.tipo !== 'corriente' }, 'Ahorros'),
        h('option', { value: 'corriente', selected: a.tipo === 'corriente' }, 'Corriente'),
      ),
    ),
    field('Número', input('numero', a.numero, { required: true, inputmode: 'numeric' })),
    field('Titular', input('titular', a.titular, { required: true })),
    field('Cédula o RUC del titular', input('identificacion', a.identificacion)),
    h(
      'button',
      { type: 'button', class: 'small', onclick: (e) => e.target.closest('fieldset').remove() },
      'Quitar cuenta',
    ),
  );
}

/** The card with the form; `onSaved(settings)` after a successful PATCH. */
export function editableSettingsCard(initial, onSaved = () => {}) {
  const card = h(
    'div',
    { class: 'card', id: 'ajustes-editables' },
    h('h2', null, 'Datos de la empresa y reglas de envío'),
    loading(),
  );
  const draw = (s) => {
    const e = s.empresa;
    const cuentas = h('div', { id: 'cuentas' }, e.cuentas_bancarias.map(accountRow));
    const form = h(
      'form',
      {
        id: 'form-ajustes',
        async onsubmit(ev) {
          ev.preventDefault();
          const f = ev.target;
          const v = (n) => f.elements.namedItem(n).value.trim();
          const body = {
            empresa: {
              nombre: v('empresa.nombre'),
              telefono: v('empresa.telefono'),
              whatsapp: v('empresa.whatsapp'),
              email: v('empresa.email'),
              horario: v('empresa.horario'),
              direccion: v('empresa.direccion'),
              cuentas_bancarias: [...cuentas.querySelectorAll('fieldset')].map((fs) => {
                const g = (n) => fs.querySelector(`[name=${n}]`).value.trim();
                const c = { banco: g('banco'), tipo: g('tipo'), numero: g('numero'), titular: g('titular') };
                if (g('identificacion')) c.identificacion = g('identificacion');
                return c;
              }),
              // Issue 13 §5: payment points (one a line) and an optional payment link.
              puntos_pago: v('empresa.puntos_pago')
                .split('\n')
                .map((x) => x.trim())
                .filter(Boolean),
              enlace_pago: v('empresa.enlace_pago'),
            },
            envio: { ventana: { inicio: v('envio.ventana.inicio'), fin: v('envio.ventana.fin') } },
            planificador: { hora_generacion: v('planificador.hora_generacion') },
            ciclo: {
              dias: Number(v('ciclo.dias')),
              recordatorio_dias_antes: Number(v('ciclo.recordatorio_dias_antes')),
              vencido_repetir_cada_dias: Number(v('ciclo.vencido_repetir_cada_dias')),
              vencido_maximo_avisos: Number(v('ciclo.vencido_maximo_avisos')),
              dias_suspension: Number(v('ciclo.dias_suspension')),
              aviso_suspension_dias_antes: Number(v('ciclo.aviso_suspension_dias_antes')),
              reactivar_al_pagar: f.elements.namedItem('ciclo.reactivar_al_pagar').checked,
            },
            sesion: { horas_inactividad: Number(v('sesion.horas_inactividad')) },
            // Issue 11 §3: the channel order after the client's preferred one (empty slots left out).
            respaldo: {
              orden: [0, 1, 2, 3].map((i) => v(`respaldo.orden.${i}`)).filter(Boolean),
              reglas: Object.fromEntries(
                Object.keys(s.respaldo?.reglas ?? {}).map((t) => [t, v(`respaldo.reglas.${t}`)]),
              ),
            },
          };
          const button = f.querySelector('button[type=submit]');
          button.disabled = true;
          try {
            const saved = await api('/api/ajustes', { method: 'PATCH', body });
            toast('Ajustes guardados: rigen desde ya, sin reiniciar.', 'ok');
            draw(saved);
            onSaved(saved);
          } catch (err) {
            if (!showFieldErrors(f, err)) f.append(errorBox(err));
          } finally {
            button.disabled = false;
          }
        },
      },
      h('h3', null, 'Empresa (lo ven los clientes)'),
      field('Nombre', input('empresa.nombre', e.nombre, { required: true })),
      field('Teléfono', input('empresa.telefono', e.telefono, { type: 'tel' })),
      field('WhatsApp', input('empresa.whatsapp', e.whatsapp, { type: 'tel' })),
      field('Correo', input('empresa.email', e.email, { type: 'email' })),
      field('Horario de atención', input('empresa.horario', e.horario)),
      field('Dirección', input('empresa.direccion', e.direccion)),
      cuentas,
      h(
        'button',
        { type: 'button', class: 'small', onclick: () => cuentas.append(accountRow()) },
        'Agregar cuenta bancaria',
      ),
      field(
        'Puntos de pago (uno por línea)',
        h('textarea', { name: 'empresa.puntos_pago', rows: 3 }, (e.puntos_pago ?? []).join('\n')),
        'Dónde pagar en persona. Con las cuentas y el enlace forman «Cómo pagar»: /comopagar y {como_pagar}.',
      ),
      field(
        'Enlace de pago en línea (opcional)',
        input('empresa.enlace_pago', e.enlace_pago, { type: 'url', placeholder: 'https://…' }),
      ),
      h('h3', null, 'Envío y ciclo de cobro'),
      field('Ventana de envío: desde', time('envio.ventana.inicio', s.envio.ventana.inicio)),
      field('Ventana de envío: hasta', time('envio.ventana.fin', s.envio.ventana.fin)),
      field('Hora de la generación diaria', time('planificador.hora_generacion', s.hora_generacion)),
      field('Días del ciclo', num('ciclo.dias', s.ciclo.dias, 7, 92)),
      field(
        'Recordatorio: días antes del vencimiento',
        num('ciclo.recordatorio_dias_antes', s.ciclo.recordatorio_dias_antes, 1, 27),
      ),
      field(
        'Repetir aviso de vencido cada (días)',
        num('ciclo.vencido_repetir_cada_dias', s.ciclo.vencido_repetir_cada_dias, 1, 30),
      ),
      field(
        'Avisos de vencido por ciclo (máximo)',
        num('ciclo.vencido_maximo_avisos', s.ciclo.vencido_maximo_avisos, 1, 10),
      ),
      field('Días de mora antes de suspender', num('ciclo.dias_suspension', s.ciclo.dias_suspension, 1, 90)),
      field(
        'Aviso previo a la suspensión: días antes (0 = sin aviso)',
        num('ciclo.aviso_suspension_dias_antes', s.ciclo.aviso_suspension_dias_antes ?? 3, 0, 30),
      ),
      field(
        'Un pago que deja al día a un cliente suspendido lo reactiva (y se le avisa)',
        h('input', {
          type: 'checkbox',
          name: 'ciclo.reactivar_al_pagar',
          checked: s.ciclo.reactivar_al_pagar !== false,
        }),
      ),
      h('h3', null, 'Canales de respaldo'),
      h(
        'p',
        { class: 'hint' },
        'Si el canal preferido del cliente falla (bloqueado, número sin WhatsApp, sin confirmación de entrega), ' +
          'el aviso prueba los siguientes en este orden, según la regla de su tipo (abajo): obligatorio, todos; ' +
          'un respaldo, solo uno más; sin respaldo, ninguno.',
      ),
      [0, 1, 2, 3].map((i) =>
        field(
          `${i + 1}.º canal`,
          h(
            'select',
            { name: `respaldo.orden.${i}` },
            [
              ['', '(ninguno)'],
              ['telegram', 'Telegram'],
              ['whatsapp', 'WhatsApp'],
              ['sms', 'SMS'],
              ['email', 'Correo'],
            ].map(([value, label]) =>
              h('option', { value, selected: (s.respaldo?.orden ?? [])[i] === value || undefined }, label),
            ),
          ),
        ),
      ),
      h(
        'p',
        { class: 'hint' },
        'Cuánto insiste cada tipo de aviso (el mantenimiento urgente siempre es obligatorio):',
      ),
      Object.entries(s.respaldo?.reglas ?? {}).map(([tipo, regla]) =>
        field(
          label('tipo', tipo),
          h(
            'select',
            { name: `respaldo.reglas.${tipo}` },
            options('regla_respaldo').map(([value, text]) =>
              h('option', { value, selected: regla === value || undefined }, text),
            ),
          ),
        ),
      ),
      h('h3', null, 'Personal'),
      field(
        'Cerrar sesión tras (horas sin uso)',
        num('sesion.horas_inactividad', s.sesion.horas_inactividad, 0.25, 720, 0.25),
      ),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Guardar ajustes')),
    );
    mount(card, h('h2', null, 'Datos de la empresa y reglas de envío'), form);
  };
  draw(initial);
  return card;
}

/** Resumen's first-run checklist: what is still empty (null when nothing is missing). */
export async function firstRunChecklist(signal) {
  const { pendientes } = await api('/api/ajustes/pendientes', { signal });
  if (!pendientes.length) return null;
  return h(
    'div',
    { class: 'notice warn', id: 'primeros-pasos', role: 'status' },
    h('strong', null, 'Primeros pasos: '),
    'faltan datos que los clientes necesitan.',
    h(
      'ul',
      null,
      pendientes.map((p) => h('li', null, p.mensaje)),
    ),
    h('a', { href: '#/ajustes' }, 'Completarlos en Ajustes'),
  );
}
