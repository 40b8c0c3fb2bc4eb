import { api, download } from '../api.js';
import { errorBox, fmt, h, loading, mount, toast } from '../ui.js';

// Operations (issue 15): the backup status card of Resumen, and the backup download and diagnosis
// card of Ajustes. Their own module so the pages only place them.

const MARK = { ok: '✔', fallo: '✖', no_configurado: '—' };

function sizeOf(bytes) {
  if (bytes === null || bytes === undefined) return '';
  return bytes < 1024 * 1024
    ? `${fmt.n(Math.round(bytes / 1024))} KB`
    : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Resumen: the last backup; a warning when it failed or the last good one is old. */
export function backupCard({ signal }) {
  const el = h('div', { class: 'card', id: 'respaldos' }, h('h2', null, 'Respaldos'), loading());
  api('/api/respaldo/estado', { signal }).then(
    (s) => {
      const tone = s.alerta ? (s.alerta === 'antiguo' ? 'warn' : 'bad') : 'ok';
      mount(
        el,
        h('h2', null, 'Respaldos'),
        h('div', { class: `notice ${tone}`, dataset: { alerta: s.alerta ?? 'ninguna' } }, s.mensaje),
        s.ultimo_correcto
          ? h(
              'p',
              { class: 'muted small' },
              `Último correcto: ${fmt.dateTime(s.ultimo_correcto.fecha)} ${sizeOf(s.ultimo_correcto.bytes)}`,
            )
          : null,
        h(
          'p',
          { class: 'muted small' },
          s.programado
            ? `Diario a las ${s.programado.hora}; se conservan ${s.programado.conservar}.`
            : 'Respaldo diario desactivado (BACKUP_TIME=no).',
        ),
      );
    },
    (err) => {
      if (err?.name !== 'AbortError') mount(el, h('h2', null, 'Respaldos'), errorBox(err));
    },
  );
  return el;
}

/** Ajustes: download a backup now; run the diagnosis and show each check with what to do. */
export function operationsCard() {
  const result = h('div', { id: 'diagnostico-resultado' });
  const runDiagnosis = async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    mount(result, loading('Comprobando…'));
    try {
      const d = await api('/api/diagnostico');
      mount(
        result,
        h(
          'ul',
          { class: 'list-plain' },
          d.comprobaciones.map((c) =>
            h(
              'li',
              { dataset: { comprobacion: c.id, estado: c.estado } },
              h(
                'div',
                null,
                h('strong', null, `${MARK[c.estado]} ${c.nombre}: `),
                c.detalle,
                c.accion ? h('div', { class: 'small muted' }, `→ ${c.accion}`) : null,
              ),
            ),
          ),
        ),
        h(
          'div',
          { class: `notice ${d.correcto ? 'ok' : 'bad'}` },
          d.correcto ? 'Todo en orden.' : 'Hay problemas: vea las líneas con ✖.',
        ),
      );
    } catch (err) {
      mount(result, errorBox(err));
    } finally {
      button.disabled = false;
    }
  };
  const downloadBackup = async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      await download('/api/respaldo', 'teltec-respaldo');
      toast('Respaldo descargado.', 'ok');
    } catch (err) {
      toast(err.message, 'bad');
    } finally {
      button.disabled = false;
    }
  };
  return h(
    'div',
    { class: 'card section', id: 'operacion' },
    h('h2', null, 'Respaldo y diagnóstico'),
    h(
      'p',
      { class: 'muted small' },
      'El respaldo es completo (clientes, pagos, avisos y vínculos) y se restaura con "npx teltec restaurar archivo".',
    ),
    h(
      'p',
      null,
      h(
        'button',
        { type: 'button', id: 'descargar-respaldo', onclick: downloadBackup },
        'Descargar respaldo',
      ),
      ' ',
      h(
        'button',
        { type: 'button', id: 'ejecutar-diagnostico', onclick: runDiagnosis },
        'Ejecutar diagnóstico',
      ),
    ),
    result,
  );
}
