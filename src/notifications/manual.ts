import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { escapeHtml, TELEGRAM_MAX_CHARS } from '../telegram/html.js';
import { composeError } from './campaigns.js';
import { compose } from './compose.js';
import { REACHABLE_SQL } from './generator.js';
import { enqueue } from './outbox.js';
import { loadTemplates } from './templates.js';
import type { CampaignType, EngineSettings } from './types.js';

export interface ManualInput {
  clientId: number;
  tipo: CampaignType;
  /** Plain text as staff typed it; `{nombre}` and the other variables are filled in. */
  mensaje: string;
  urgente: boolean;
}

/**
 * One notice to one client (POST /create/). The text is final when queued: staff's words with the
 * variables filled in, sent as plain text (no markup, nothing to escape).
 */
export async function createManualNotification(
  tx: Queryable,
  input: ManualInput,
  s: EngineSettings,
  at: { today: string; now: Date },
): Promise<{ id: number; mensaje: string }> {
  const { rows } = await tx.query<{
    id: number;
    nombre: string;
    plan: string | null;
    precio: number | null;
    velocidad: number | null;
    due: string | null;
    reachable: boolean;
  }>(
    `SELECT c.id, c.nombre, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
            teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due, ${REACHABLE_SQL} AS reachable
       FROM clients c LEFT JOIN plans p ON p.id = c.plan_id WHERE c.id = $1`,
    [input.clientId, s.cycleDays],
  );
  const c = rows[0];
  if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${input.clientId}.`);
  if (!c.reachable) throw new AppError('CLIENTE_SIN_TELEGRAM');
  // Staff's plain text through the one door: variables filled, no empty placeholder, plain text out.
  const composed = compose(
    { tipo: input.tipo, texto: escapeHtml(input.mensaje) },
    { ...c, plan_id: null, vencimiento: c.due },
    { templates: await loadTemplates(tx), today: at.today, settings: s },
    'texto',
  );
  if (!composed.ok && composed.motivo !== 'mensaje_demasiado_largo') throw composeError(composed);
  const mensaje = composed.ok && composed.channel === 'texto' ? composed.text : input.mensaje;
  if (mensaje.length > TELEGRAM_MAX_CHARS) {
    throw new AppError(
      'MENSAJE_DEMASIADO_LARGO',
      `El mensaje tiene ${mensaje.length} caracteres y Telegram admite ${TELEGRAM_MAX_CHARS}: acórtelo o divídalo en varios envíos.`,
      { longitud: mensaje.length, maximo: TELEGRAM_MAX_CHARS },
    );
  }
  const [id] = await enqueue(
    tx,
    [{ client_id: input.clientId, tipo: input.tipo, mensaje, urgente: input.urgente }],
    at.now,
  );
  return { id: id!, mensaje };
}
