import QRCode from 'qrcode';

/** QR codes of invitation links (error correction M: survives a crease on a printed invoice). */
export function qrPng(text: string, width = 360): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width });
}

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
