import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * VERP return paths (variable envelope return path): with BOUNCE_VERP_ADDRESS set, say
 * `bounces@shop.example`, each delivery's envelope sender (SMTP MAIL FROM) is
 * `bounces+<token>@shop.example`. A relay that gives up later sends its delivery-status
 * notification to that address, so the bounce names its delivery even when the DSN carries
 * none of the original message.
 *
 * The token is `d<delivery id>-<MAC>`: the MAC is HMAC-SHA256(key, "<delivery id>"), first
 * 10 bytes (80 bits) as lowercase hex, under key = HMAC-SHA256(server secret, "footfall verp v1")
 * so it never coincides with another token the secret signs. Lowercase only: some relays fold
 * the case of local parts. A token that does not verify names nothing.
 */
const KEY_LABEL = 'footfall verp v1';
const MAC_HEX = 20;
const TOKEN = /^d([1-9][0-9]{0,15})-([0-9a-f]{20})$/;

function macOf(secret: string, deliveryId: number): string {
  const key = createHmac('sha256', secret).update(KEY_LABEL).digest();
  return createHmac('sha256', key).update(String(deliveryId)).digest('hex').slice(0, MAC_HEX);
}

/** `local+d<id>-<mac>@domain` for a configured `local@domain`. */
export function verpAddress(base: string, secret: string, deliveryId: number): string {
  if (!Number.isSafeInteger(deliveryId) || deliveryId <= 0)
    throw new RangeError(`delivery id must be a positive safe integer (got ${deliveryId})`);
  const at = base.lastIndexOf('@');
  return `${base.slice(0, at)}+d${deliveryId}-${macOf(secret, deliveryId)}${base.slice(at)}`;
}

/**
 * The delivery a VERP address names: `address` must be the configured base's local part with a
 * `+token`, at its domain (both compared without case), and the token must verify.
 */
export function readVerpAddress(base: string, secret: string, address: string): number | undefined {
  const wanted = base.toLowerCase();
  const at = wanted.lastIndexOf('@');
  const local = wanted.slice(0, at);
  const domain = wanted.slice(at + 1);
  const given = address.trim().replace(/^<|>$/g, '').toLowerCase();
  const givenAt = given.lastIndexOf('@');
  if (givenAt < 0 || given.slice(givenAt + 1) !== domain) return undefined;
  const givenLocal = given.slice(0, givenAt);
  if (!givenLocal.startsWith(`${local}+`)) return undefined;
  const match = TOKEN.exec(givenLocal.slice(local.length + 1));
  if (!match) return undefined;
  const deliveryId = Number(match[1]);
  if (!Number.isSafeInteger(deliveryId)) return undefined;
  const expected = Buffer.from(macOf(secret, deliveryId));
  const got = Buffer.from(match[2]!);
  return expected.length === got.length && timingSafeEqual(expected, got) ? deliveryId : undefined;
}
