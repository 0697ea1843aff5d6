/**
 * CSV downloads of the admin, streamed a chunk at a time: the service writes pieces of text,
 * the browser receives them as they come. Each piece waits until the reader took the previous
 * one, so a slow download does not pile a whole list up in memory. When the service fails
 * halfway, the download is broken off (the browser reports a failed download) rather than
 * ended cleanly, which would pass a cut-short list off as the whole of it.
 */

/** The answer's headers: a file to save (never shown inline, never cached). */
export function csvDownloadHeaders(fileName: string): Record<string, string> {
  return {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${fileName}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
}

/**
 * A response streaming what `produce` writes, saved as `fileName`; a failure is logged as
 * "[export] <what> failed". The response is answered at once: `produce` runs behind it.
 */
export function streamedCsvDownload(
  fileName: string,
  what: string,
  produce: (write: (text: string) => Promise<void>) => Promise<unknown>,
): Response {
  const stream = new TransformStream<Uint8Array, Uint8Array>();
  const writer = stream.writable.getWriter();
  const encoder = new TextEncoder();
  produce(async (text) => {
    await writer.ready;
    await writer.write(encoder.encode(text));
  })
    .then(() => writer.close())
    .catch((error: unknown) => {
      console.error(`[export] ${what} failed:`, error);
      writer.abort(error).catch(() => {});
    });
  return new Response(stream.readable, { headers: csvDownloadHeaders(fileName) });
}
