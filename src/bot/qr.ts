/** QR codes have one home: src/lib/qr.ts (the invitation e-mail uses them too). */
export { qrPng, qrSvg } from '../lib/qr.js';
