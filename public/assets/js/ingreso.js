import { api, session } from './api.js';
import { h } from './ui.js';

// Staff sign-in (issue 14): user name and password open a server session (HttpOnly cookie).
// On a service without users yet, the form to create the first administrator with the one-time
// code the service printed in its log.

function field(id, label, attrs) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, required: true, ...attrs }),
  );
}

function errorBox(id) {
  return h('div', { class: 'notice bad', role: 'alert', hidden: true, id });
}

async function submitWith(form, error, run) {
  error.hidden = true;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await run();
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function signInForm(onSignedIn) {
  const error = errorBox('ingreso-error');
  const form = h(
    'form',
    {
      class: 'card login',
      id: 'ingreso',
      async onsubmit(e) {
        e.preventDefault();
        await submitWith(form, error, async () => {
          const me = await api('/api/sesion', {
            method: 'POST',
            body: { usuario: form.usuario.value.trim(), clave: form.clave.value },
            quiet401: true,
          });
          form.clave.value = '';
          session.setMe(me);
          onSignedIn();
        });
        form.clave.value = '';
      },
    },
    h('h1', null, 'Entrar'),
    field('usuario', 'Usuario', { autocomplete: 'username', autocapitalize: 'none', spellcheck: false }),
    field('clave', 'Clave', { type: 'password', autocomplete: 'current-password' }),
    error,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Entrar')),
  );
  queueMicrotask(() => form.usuario?.focus());
  return form;
}

function firstAdminForm(onSignedIn, minimum) {
  const error = errorBox('primer-admin-error');
  const form = h(
    'form',
    {
      class: 'card login',
      id: 'primer-admin',
      async onsubmit(e) {
        e.preventDefault();
        await submitWith(form, error, async () => {
          const me = await api('/api/sesion/primer-admin', {
            method: 'POST',
            body: {
              codigo: form.codigo.value.trim(),
              usuario: form.usuario.value.trim(),
              nombre: form.nombre.value.trim(),
              clave: form.clave.value,
            },
            quiet401: true,
          });
          session.setMe(me);
          onSignedIn();
        });
      },
    },
    h('h1', null, 'Crear el primer administrador'),
    h(
      'p',
      { class: 'muted' },
      'Aún no hay usuarios. Escriba el código de configuración que el servicio mostró en su registro (log) al arrancar; sirve una sola vez.',
    ),
    field('codigo', 'Código de configuración', {
      autocomplete: 'one-time-code',
      placeholder: 'XXXX-XXXX-XXXX',
    }),
    field('nombre', 'Su nombre', { autocomplete: 'name' }),
    field('usuario', 'Usuario', { autocomplete: 'username', autocapitalize: 'none', spellcheck: false }),
    field('clave', `Clave (al menos ${minimum} caracteres, que no sea común)`, {
      type: 'password',
      autocomplete: 'new-password',
      minlength: minimum,
    }),
    error,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Crear y entrar')),
  );
  return form;
}

/** The sign-in (or first-administrator) card; replaces itself once the service answers. */
export function staffSignIn(onSignedIn) {
  const slot = h('div', { id: 'ingreso-personal' }, signInForm(onSignedIn));
  fetch('/api/sesion/estado')
    .then((r) => (r.ok ? r.json() : null))
    .then((estado) => {
      if (estado?.primer_inicio) slot.replaceChildren(firstAdminForm(onSignedIn, estado.clave_minima));
    })
    .catch(() => {});
  return slot;
}
