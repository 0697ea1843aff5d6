import { formatLimit } from './body-limits.ts';

/**
 * The one bounded reader of a request body held in memory (uploads stream to disk instead:
 * multipart.ts). A declared Content-Length over the limit is refused before anything is read;
 * otherwise bytes are counted as they arrive and reading stops at the first byte over it. The
 * server entry has already refused any body over its route's limit (body-guard.ts); this keeps
 * each route's own limit where it reads, and holds under `astro dev` too.
 */
export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = 'BodyTooLargeError';
    this.limit = limit;
  }
}

export type BodyBytes = { ok: true; bytes: Uint8Array } | { ok: false; reason: 'too_large' | 'interrupted' };

/**
 * The chunks of `source` as they arrive, stopping with a BodyTooLargeError at the first byte over
 * `maxBytes` (after `onExceeded`): the one count of a body's bytes, for readers here and for the
 * server entry's guard, which hands it to Astro in place of the raw request (body-guard.ts).
 */
export async function* boundedChunks(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  onExceeded?: () => void,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of source) {
    received += chunk.byteLength;
    if (received > maxBytes) {
      onExceeded?.();
      throw new BodyTooLargeError(maxBytes);
    }
    yield chunk;
  }
}

/** A body's bytes, at most `maxBytes`. `declaredLength`: the Content-Length, when there is one. */
export async function readBodyBytes(
  source: AsyncIterable<Uint8Array> | null | undefined,
  maxBytes: number,
  declaredLength?: number,
): Promise<BodyBytes> {
  if (declaredLength !== undefined && declaredLength > maxBytes) return { ok: false, reason: 'too_large' };
  if (!source) return { ok: true, bytes: new Uint8Array() };
  const chunks: Uint8Array[] = [];
  try {
    // Stopping early cancels the stream; the server entry's guard keeps the connection for the answer.
    for await (const chunk of boundedChunks(source, maxBytes)) chunks.push(chunk);
  } catch (error) {
    return { ok: false, reason: isTooLarge(error) ? 'too_large' : 'interrupted' };
  }
  return { ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
}

function isTooLarge(error: unknown): boolean {
  return error instanceof BodyTooLargeError || (error instanceof Error && error.cause instanceof BodyTooLargeError);
}

/** A Request's body (a web stream), at most `maxBytes`. */
export function readRequestBytes(request: Request, maxBytes: number): Promise<BodyBytes> {
  const declared = request.headers.get('content-length');
  return readBodyBytes(request.body, maxBytes, declared === null ? undefined : Number(declared));
}

export type JsonBody = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; message: string };

/** A JSON request body, at most `maxBytes`; otherwise the status and a sentence saying why. */
export async function readJsonBody(request: Request, maxBytes: number): Promise<JsonBody> {
  const type = request.headers.get('content-type');
  if (type && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
    return {
      ok: false,
      status: 415,
      message: `Send the body as JSON with "Content-Type: application/json" (got "${type.slice(0, 80)}").`,
    };
  }
  const read = await readRequestBytes(request, maxBytes);
  if (!read.ok) {
    return read.reason === 'too_large'
      ? { ok: false, status: 413, message: `The body is larger than ${formatLimit(maxBytes)}; send less per request.` }
      : { ok: false, status: 400, message: 'The request body could not be read (the upload was interrupted).' };
  }
  if (read.bytes.byteLength === 0)
    return { ok: false, status: 400, message: 'The body is empty: send a JSON object or an array of objects.' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(read.bytes);
  } catch {
    return { ok: false, status: 400, message: 'The body is not valid UTF-8 text.' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return {
      ok: false,
      status: 400,
      message: `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
