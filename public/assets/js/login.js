import { checkToken, session } from './api.js';
import { staffSignIn } from './ingreso.js';
import { h } from './ui.js';

/**
 * The sign-in form: the admin token (ADMIN_TOKEN, or the file data/admin-token the first start
 * created). Checked against the API before it is kept in sessionStorage.
 */
export function loginForm(onSignedIn) {
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    required: true,
    minlength: 16,
    placeholder: 'Pegue aquí el token',
    id: 'token',
  });
  const error = h('div', { class: 'notice bad', role: 'alert', hidden: true, id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Entrar');
  const form = h(
    'form',
    {
      class: 'card login',
      id: 'login',
      async onsubmit(e) {
        e.preventDefault();
        error.hidden = true;
        const token = input.value.trim();
        submit.disabled = true;
        try {
          if (await checkToken(token)) {
            session.set(token);
            onSignedIn();
          } else {
            error.textContent = 'Token incorrecto. Revise que lo haya copiado completo.';
            error.hidden = false;
            input.select();
          }
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h2', null, 'O con un token'),
    h(
      'p',
      { class: 'muted' },
      'Para scripts y emergencias: un token de API personal o el token de administración (variable ADMIN_TOKEN o el archivo data/admin-token que creó el primer arranque).',
    ),
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Token de administración'), input),
    error,
    h('div', { class: 'row' }, submit),
    h(
      'p',
      { class: 'muted small' },
      'El token se guarda solo en esta pestaña y se borra al cerrarla o al pulsar «Salir».',
    ),
  );
  // Staff accounts (issue 14): user and password first; the token form stays for scripts.
  return h('div', { class: 'login-wrap' }, staffSignIn(onSignedIn), form);
}
