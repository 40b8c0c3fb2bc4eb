import { cedulaCheckDigit } from '../../src/clients/cedula.js';

/** A valid cédula for a sequence number (province 17). */
export function cedulaFor(n: number): string {
  const first9 = '17' + String(n).padStart(7, '0');
  return first9 + cedulaCheckDigit(first9);
}
