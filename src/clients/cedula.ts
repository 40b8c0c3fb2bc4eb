/**
 * Ecuadorian cédula (CI) validation, exactly as python-stdnum's `stdnum.ec.ci`:
 * strip spaces and hyphens; 10 digits; province 01–24, 30 or 50; third digit 0–6 (natural
 * persons); modulo-10 check digit with coefficients 2,1,2,1,… (products over 9 minus 9).
 */

export type CedulaProblem = 'formato' | 'longitud' | 'provincia' | 'tercer_digito' | 'digito_verificador';

export type CedulaResult =
  | { ok: true; cedula: string }
  | { ok: false; problema: CedulaProblem; mensaje: string };

const messages: Record<CedulaProblem, string> = {
  formato: 'La cédula solo puede tener números (se aceptan espacios y guiones).',
  longitud: 'La cédula debe tener 10 dígitos.',
  provincia:
    'Los dos primeros dígitos de la cédula deben ser un código de provincia válido (01 a 24, 30 o 50).',
  tercer_digito: 'El tercer dígito de la cédula debe estar entre 0 y 6.',
  digito_verificador:
    'El último dígito (verificador) de la cédula no es correcto: revise que no falte ni sobre un número.',
};

/** Removes the separators python-stdnum accepts. */
export function compactCedula(value: string): string {
  return value.replace(/[\s-]/g, '');
}

/** Check digit for the first nine digits. */
export function cedulaCheckDigit(first9: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    let p = Number(first9[i]) * (i % 2 === 0 ? 2 : 1);
    if (p > 9) p -= 9;
    sum += p;
  }
  return (10 - (sum % 10)) % 10;
}

export function validateCedula(input: string): CedulaResult {
  const fail = (problema: CedulaProblem): CedulaResult => ({
    ok: false,
    problema,
    mensaje: messages[problema],
  });
  const value = compactCedula(input.trim());
  if (!/^\d+$/.test(value)) return fail('formato');
  if (value.length !== 10) return fail('longitud');
  const province = Number(value.slice(0, 2));
  if (!((province >= 1 && province <= 24) || province === 30 || province === 50)) return fail('provincia');
  if (Number(value[2]) > 6) return fail('tercer_digito');
  if (cedulaCheckDigit(value.slice(0, 9)) !== Number(value[9])) return fail('digito_verificador');
  return { ok: true, cedula: value };
}

export function isValidCedula(input: string): boolean {
  return validateCedula(input).ok;
}
