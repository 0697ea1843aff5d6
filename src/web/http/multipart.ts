import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';

/**
 * A streaming reader for `multipart/form-data` uploads (RFC 7578), parsed by busboy: one file
 * field goes straight to a file on disk, chunk by chunk, so a 20 MB upload never sits in memory
 * whole (`Request.formData()` would buffer it). What busboy does not limit itself is held here:
 * the text before the first boundary, and a body that goes on after its file proved too large.
 */

export interface ReceivedFile {
  /** The file name the browser sent (no path), as given: display it, never use it as a path. */
  fileName: string;
  size: number;
  /** The first bytes (up to 8 KB), for sniffing what the file is. */
  head: Buffer;
}

export type MultipartResult =
  | { ok: true; file: ReceivedFile | undefined; fields: Record<string, string> }
  | { ok: false; reason: 'not_multipart' | 'malformed' | 'too_large' };

export interface MultipartOptions {
  /** The form field whose file is kept; other files are read and dropped. */
  fileField: string;
  /** Where that file is written (created, mode 600; deleted again on any failure). */
  destination: string;
  maxFileBytes: number;
  /** Text fields are kept up to this size each (default 16 KB); longer ones make the body malformed. */
  maxFieldBytes?: number;
  /**
   * After the file proved too large, the rest of the body is still read (and dropped) up to
   * this many bytes in all, so a browser gets the answer rather than a reset connection.
   */
  maxDrainBytes?: number;
}

const HEAD_BYTES = 8 * 1024;
/** Text before the first boundary: browsers send none, so more than this is not a form upload. */
const MAX_PREAMBLE_BYTES = 16 * 1024;
/** An upload form has a file and a few fields: more parts than this is not one of ours. */
const MAX_PARTS = 32;

/** The boundary of a multipart/form-data content type, or undefined. */
export function multipartBoundary(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

/**
 * Reads a multipart body: the first non-empty file in `fileField` is written to
 * `destination`, text fields are collected. A body that ends early or breaks the format is
 * `malformed`; a file over `maxFileBytes` is `too_large`; either way no file is left behind.
 */
export async function receiveMultipartFile(
  body: ReadableStream<Uint8Array> | null,
  contentType: string | null,
  options: MultipartOptions,
): Promise<MultipartResult> {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return { ok: false, reason: 'not_multipart' };
  if (!body) return { ok: false, reason: 'malformed' };
  const maxDrain = options.maxDrainBytes ?? options.maxFileBytes * 5;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType! },
      // Browsers send file names as raw UTF-8 (busboy's default for parameters is latin1).
      defParamCharset: 'utf8',
      limits: { fileSize: options.maxFileBytes, fieldSize: options.maxFieldBytes ?? 16 * 1024, parts: MAX_PARTS },
    });
  } catch {
    return { ok: false, reason: 'malformed' }; // a content type busboy cannot read
  }

  const fields: Record<string, string> = {};
  let file: ReceivedFile | undefined;
  let written: Promise<void> | undefined;
  let tooLarge = false;
  let malformed = false;
  let diskError: NodeJS.ErrnoException | undefined;
  const refuse = () => {
    malformed = true;
    parser.destroy(new MalformedError());
  };

  parser.on('field', (name: string | undefined, value, info) => {
    if (name === undefined || info.valueTruncated) {
      refuse();
      return;
    }
    fields[name] = value;
  });
  parser.on('partsLimit', refuse);
  // busboy can report one failure twice (at the end of the body and again as it is destroyed):
  // the pipeline below takes the first; a second must not become an uncaught error.
  parser.on('error', () => {});
  parser.on('file', (name: string | undefined, stream, info) => {
    if (name === undefined) {
      refuse();
      return;
    }
    if (name !== options.fileField || written || !info.filename) {
      stream.resume(); // a file input with nothing chosen has no name
      return;
    }
    const kept: ReceivedFile = { fileName: info.filename, size: 0, head: Buffer.alloc(0) };
    const heads: Buffer[] = [];
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (kept.size < HEAD_BYTES) heads.push(chunk.subarray(0, HEAD_BYTES - kept.size));
        kept.size += chunk.length;
        done(null, chunk);
      },
    });
    stream.on('limit', () => {
      tooLarge = true;
    });
    const out = createWriteStream(options.destination, { flags: 'wx', mode: 0o600 });
    out.on('error', (error: NodeJS.ErrnoException) => {
      // A part cut short reaches the file too (the pipeline passes its error on): only the disk's own counts here.
      if (error.syscall !== undefined) diskError ??= error;
    });
    written = pipeline(stream, measure, out).then(() => {
      kept.head = Buffer.concat(heads);
      file = kept;
    });
    written.catch(() => {}); // awaited below; a part cut short is the body's failure, not an unhandled one
  });

  const reader = body.getReader();
  async function* bytes(): AsyncGenerator<Uint8Array> {
    const opening = Buffer.from(`--${boundary}`);
    let opened = false;
    let preamble = 0;
    let tail = Buffer.alloc(0); // the end of what came before, for a boundary split across chunks
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      received += value.length;
      if (tooLarge && received > maxDrain) return;
      if (!opened) {
        const seen = Buffer.concat([tail, value]);
        opened = seen.includes(opening);
        if (!opened && (preamble += value.length) > MAX_PREAMBLE_BYTES) throw new MalformedError();
        tail = seen.subarray(-(opening.length - 1));
      }
      yield value;
    }
  }

  try {
    await pipeline(Readable.from(bytes()), parser);
    await written;
  } catch {
    // busboy's own complaints (a body cut short, a broken part header) and an interrupted upload
    // all land here; which of them it was does not change the answer.
    malformed = true;
  } finally {
    reader.cancel().catch(() => {});
  }
  await written?.catch(() => {});
  if (diskError) {
    await rm(options.destination, { force: true });
    throw diskError; // the disk, not the request
  }
  if (tooLarge || malformed) {
    await rm(options.destination, { force: true });
    return { ok: false, reason: tooLarge ? 'too_large' : 'malformed' };
  }
  return { ok: true, file, fields };
}

class MalformedError extends Error {}
