/**
 * Ecuadorian phone numbers in one canonical form, digits with country code: '593987654321'.
 * '0987654321', '+593 98 765 4321', '593987654321' and '987654321' are the same mobile.
 * Returns null when the text is not a plausible Ecuadorian number.
 */
export function normalizePhone(input: string): string | null {
  let d = input.replace(/[\s().-]/g, '');
  if (d.startsWith('+')) d = d.slice(1);
  if (d.startsWith('00')) d = d.slice(2);
  if (!/^\d+$/.test(d)) return null;
  if (d.startsWith('593')) d = d.slice(3);
  if (d.startsWith('0')) d = d.slice(1);
  // Mobiles: 9 + 8 digits; landlines: area code 2–7 + 7 digits.
  if (/^9\d{8}$/.test(d) || /^[2-7]\d{7}$/.test(d)) return '593' + d;
  return null;
}

export function samePhone(a: string, b: string): boolean {
  const na = normalizePhone(a);
  return na !== null && na === normalizePhone(b);
}

/** The WhatsApp form of a mobile ('5939XXXXXXXX'); null for a landline or anything else. */
export function toWhatsApp(input: string): string | null {
  const n = normalizePhone(input);
  return n !== null && /^5939\d{8}$/.test(n) ? n : null;
}
