import { describe, expect, it } from 'vitest';
import { cedulaCheckDigit, validateCedula } from '../../src/clients/cedula.js';
import { normalizePhone, samePhone } from '../../src/clients/phone.js';

// Public vectors from python-stdnum's tests/test_ec_ci.doctest.
describe('cédula (as python-stdnum ec.ci)', () => {
  it.each([
    ['1714307103', '1714307103'],
    ['171430710-3', '1714307103'],
    ['0602910945', '0602910945'],
    ['0926687856', '0926687856'],
    ['0910005917', '0910005917'],
    [' 1714 307 103 ', '1714307103'],
  ])('accepts %s', (input, compact) => {
    expect(validateCedula(input)).toEqual({ ok: true, cedula: compact });
  });

  it.each([
    ['1714307104', 'digito_verificador', /verificador/],
    ['171430710', 'longitud', /10 dígitos/],
    ['123A567890', 'formato', /solo puede tener números/],
    ['1784307108', 'tercer_digito', /tercer dígito/],
    ['8814307107', 'provincia', /provincia/],
    ['2514307103', 'provincia', /provincia/],
  ])('rejects %s (%s) with a Spanish reason', (input, problema, message) => {
    const r = validateCedula(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problema).toBe(problema);
      expect(r.mensaje).toMatch(message);
    }
  });

  it('accepts provinces 30 and 50 when the check digit is right', () => {
    for (const prefix of ['300000000', '500000000']) {
      const value = prefix + cedulaCheckDigit(prefix);
      expect(validateCedula(value).ok).toBe(true);
    }
  });
});

describe('Ecuadorian phone numbers', () => {
  it('treats 09…, +593 9… and 5939… as the same mobile', () => {
    expect(normalizePhone('0987654321')).toBe('593987654321');
    expect(normalizePhone('+593 98 765 4321')).toBe('593987654321');
    expect(normalizePhone('593987654321')).toBe('593987654321');
    expect(samePhone('098-765-4321', '+593987654321')).toBe(true);
    expect(samePhone('0987654321', '0987654322')).toBe(false);
  });
  it('rejects text that is not a phone', () => {
    expect(normalizePhone('12')).toBeNull();
    expect(normalizePhone('abc')).toBeNull();
  });
});
