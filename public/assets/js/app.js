import { api, loadMe, session } from './api.js';
import { loadLabels } from './labels.js';
import { loginForm } from './login.js';
import { h, mount } from './ui.js';

// The admin page's shell: sign-in, navigation and a tiny hash router (#/clientes/12?pagina=2).
// Pages are ES modules loaded on first visit.

const PAGES = [
  { path: /^\/$/, nav: '/', load: () => import('./pages/resumen.js') },
  { path: /^\/llamadas$/, nav: '/', load: () => import('./pages/llamadas.js') },
  { path: /^\/clientes\/importar$/, nav: '/clientes', load: () => import('./pages/importar.js') },
  { path: /^\/clientes\/invitaciones$/, nav: '/clientes', load: () => import('./pages/invitaciones.js') },
  { path: /^\/clientes\/nuevo$/, nav: '/clientes', load: () => import('./pages/cliente.js') },
  { path: /^\/clientes\/(\d+)$/, nav: '/clientes', load: () => import('./pages/cliente.js') },
  { path: /^\/clientes$/, nav: '/clientes', load: () => import('./pages/clientes.js') },
  { path: /^\/comprobantes$/, nav: '/comprobantes', load: () => import('./pages/comprobantes.js') },
  { path: /^\/mensajes$/, nav: '/mensajes', load: () => import('./pages/mensajes.js') },
  { path: /^\/notificaciones$/, nav: '/notificaciones', load: () => import('./pages/notificaciones.js') },
  { path: /^\/campanas(?:\/(\d+))?$/, nav: '/campanas', load: () => import('./pages/campanas.js') },
  { path: /^\/planes$/, nav: '/planes', load: () => import('./pages/planes.js') },
  { path: /^\/ajustes$/, nav: '/ajustes', admin: true, load: () => import('./pages/ajustes.js') },
  // Staff accounts (issue 14).
  {
    path: /^\/usuarios$/,
    nav: '/usuarios',
    admin: true,
    load: () => import('./personal.js').then((m) => ({ render: m.renderUsers })),
  },
  {
    path: /^\/auditoria$/,
    nav: '/auditoria',
    admin: true,
    load: () => import('./personal.js').then((m) => ({ render: m.renderAudit })),
  },
  { path: /^\/alertas$/, nav: '/alertas', admin: true, load: () => import('./pages/alertas.js') },
];

const NAV = [
  ['/', 'Resumen'],
  ['/clientes', 'Clientes'],
  ['/comprobantes', 'Comprobantes'],
  ['/mensajes', 'Mensajes'],
  ['/notificaciones', 'Notificaciones'],
  ['/campanas', 'Campañas'],
  ['/planes', 'Planes'],
  ['/ajustes', 'Ajustes'],
  ['/alertas', 'Alertas'],
  ['/usuarios', 'Usuarios'],
  ['/auditoria', 'Auditoría'],
];
const ADMIN_ONLY = new Set(['/ajustes', '/alertas', '/usuarios', '/auditoria']);

const sandbox = document.body.dataset.modo === 'sandbox';
const nav = document.getElementById('nav');
const view = document.getElementById('view');
const salir = document.getElementById('salir');

mount(
  nav,
  NAV.map(([path, label]) =>
    h(
      'a',
      {
        href: `#${path}`,
        dataset: ADMIN_ONLY.has(path) ? { path, admin: '1' } : { path },
      },
      label,
    ),
  ),
  sandbox ? h('a', { href: '/sandbox' }, 'Chat de prueba') : null,
);

salir.addEventListener('click', async () => {
  // A cookie session is closed on the server too.
  if (!session.token && session.me) await api('/api/sesion', { method: 'DELETE' }).catch(() => {});
  session.clear();
  render();
});
window.addEventListener('teltec:sesion-terminada', () => render());
window.addEventListener('hashchange', () => render());

/** The current route: path and query from the hash. */
export function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(query) };
}

/** Navigates to `path` with `query` (an object; empty values dropped), replacing history if asked. */
export function go(path, query = {}, { replace = false } = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const hash = `#${path}${p.toString() ? `?${p}` : ''}`;
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else location.hash = hash;
}

let generation = 0;
let controller;

async function render() {
  const gen = ++generation;
  controller?.abort();
  controller = new AbortController();
  if (!session.me && session.token) await loadMe();
  if (gen !== generation) return;
  const signedIn = Boolean(session.token || session.me);
  const isAdmin = session.me?.rol === 'admin';
  for (const a of nav.querySelectorAll('a[data-admin]')) a.hidden = !isAdmin;
  nav.hidden = !signedIn;
  salir.hidden = !signedIn;
  if (!signedIn) {
    document.title = 'Entrar — TelTec Notificaciones';
    mount(
      view,
      loginForm(() => render()),
    );
    return;
  }
  const { path, query } = currentRoute();
  const page = PAGES.find((p) => p.path.test(path));
  for (const a of nav.querySelectorAll('a[data-path]')) {
    if (a.dataset.path === (page?.nav ?? '')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!page) {
    mount(
      view,
      h(
        'div',
        { class: 'card' },
        h('h1', null, 'Página no encontrada'),
        h('a', { href: '#/' }, 'Ir al resumen'),
      ),
    );
    return;
  }
  if (page.admin && !isAdmin) {
    document.title = 'Solo administradores — TelTec Notificaciones';
    mount(
      view,
      h(
        'div',
        { class: 'card', id: 'solo-admin' },
        h('h1', null, 'Solo administradores'),
        h('p', null, 'Su rol no permite abrir esta página. Pida a un administrador que haga el cambio.'),
        h('a', { href: '#/' }, 'Ir al resumen'),
      ),
    );
    return;
  }
  const params = path.match(page.path).slice(1);
  // Labels first (the service's vocabulary): a page never shows a raw value for lack of them.
  const [mod] = await Promise.all([page.load(), loadLabels().catch(() => {})]);
  if (gen !== generation) return;
  const root = h('div', { class: 'page' });
  mount(view, root);
  try {
    await mod.render(root, { params, query, signal: controller.signal, go, sandbox });
  } catch (err) {
    if (err?.name === 'AbortError' || gen !== generation) return;
    if (err?.status === 401) return; // the session ended; render() already showed the sign-in
    root.append(h('div', { class: 'notice bad', role: 'alert' }, err?.message ?? String(err)));
  }
}

// A cookie session survives a reload: ask the service before the first render.
loadMe().finally(() => render());
