import type { InlineImage } from '../channels/types.js';
import { qrPng } from '../lib/qr.js';

/**
 * The invitation e-mail carries the link's QR code inline, for the client who reads the mail on a
 * computer: scanned with the phone's camera it opens the bot there (the same one-time link).
 */

export const INVITATION_QR_CID = 'qr-invitacion@teltec';

/** The QR image of an invitation notice's link (`datos.enlace`), or null for any other notice. */
export async function invitationQrImage(
  tipo: string,
  datos: Record<string, unknown> | null | undefined,
): Promise<InlineImage | null> {
  const link = datos?.['enlace'];
  if (tipo !== 'invitacion' || typeof link !== 'string' || !link) return null;
  return {
    cid: INVITATION_QR_CID,
    filename: 'invitacion-telegram.png',
    contentType: 'image/png',
    content: await qrPng(link, 240),
  };
}

/** The e-mail's HTML with the QR at the end of its body. */
export function withInvitationQr(html: string): string {
  const qr =
    `<p><img src="cid:${INVITATION_QR_CID}" alt="Código QR de su enlace" width="240" height="240"></p>` +
    '<p style="color:#555;font-size:13px">¿Lee este correo en la computadora? Escanee el código con la cámara de su celular.</p>';
  return html.includes('</body>') ? html.replace('</body>', `${qr}</body>`) : `${html}${qr}`;
}
