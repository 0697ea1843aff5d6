/**
 * A JSON request body, read with a size limit (checked against Content-Length first, then
 * while streaming, so an oversized body is refused before it is all in memory).
 */
export type JsonBody = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readJsonBody(request: Request, maxBytes: number): Promise<JsonBody> {
  const type = request.headers.get('content-type');
  if (type && !/^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(type)) {
    return { ok: false, status: 415, message: `Send the body as JSON with "Content-Type: application/json" (got "${type.slice(0, 80)}").` };
  }
  const tooLarge = { ok: false, status: 413, message: `The body is larger than ${Math.round(maxBytes / 1024 / 1024)} MB; send fewer rows per request.` } as const;
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge;

  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > maxBytes) return tooLarge;
        chunks.push(value);
      }
    } catch {
      return { ok: false, status: 400, message: 'The request body could not be read (the upload was interrupted).' };
    } finally {
      reader.cancel().catch(() => {});
    }
  }
  if (size === 0) return { ok: false, status: 400, message: 'The body is empty: send a JSON object or an array of objects.' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    return { ok: false, status: 400, message: 'The body is not valid UTF-8 text.' };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, status: 400, message: `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}
