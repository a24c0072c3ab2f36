// Client message ids, shared by the widget and the console.

/**
 * newID returns a client message id: a UUIDv7 (RFC 9562), the time in milliseconds then 74 bits from the
 * browser's CSPRNG. Time-ordered ids land where the server's idempotency index was last written, so a commit of
 * many conversations' messages writes one page of it instead of one per message.
 */
export function newID(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // the RFC 9562 variant
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
