import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { multipartBoundary, receiveMultipartFile } from '../../../src/web/http/multipart.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'footfall-multipart-'));
let n = 0;
const destination = () => path.join(dir, `upload-${n++}.csv`);

/** A body as a browser sends it, from Request's own multipart encoder. */
async function encode(form: FormData): Promise<{ bytes: Uint8Array; type: string }> {
  const request = new Request('http://x/', { method: 'POST', body: form });
  return { bytes: new Uint8Array(await request.arrayBuffer()), type: request.headers.get('content-type')! };
}

/** The bytes as a stream of chunks of `size` (1 = byte by byte: every boundary split every way). */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

const csv = 'email,name\r\nada@example.com,"Ada, the first"\r\n--not-a-boundary\r\n' + 'x'.repeat(20_000) + '\r\n';

describe('streaming multipart uploads', () => {
  it('writes the file to disk and keeps the text fields, whatever the chunk size', async () => {
    const form = new FormData();
    form.set('note', 'from the loyalty list');
    form.set('file', new File([csv], 'C:\\Users\\mira\\list.csv', { type: 'text/csv' }));
    form.set('after', 'ü ok');
    const { bytes, type } = await encode(form);
    for (const size of [1, 7, 70, 4096, bytes.length]) {
      const file = destination();
      const result = await receiveMultipartFile(chunked(bytes, size), type, {
        fileField: 'file',
        destination: file,
        maxFileBytes: 1024 * 1024,
      });
      expect(result, `chunks of ${size}`).toMatchObject({
        ok: true,
        fields: { note: 'from the loyalty list', after: 'ü ok' },
      });
      if (!result.ok) continue;
      expect(result.file).toMatchObject({ fileName: 'list.csv', size: Buffer.byteLength(csv) });
      expect(result.file!.head.toString()).toBe(csv.slice(0, 8192));
      expect(readFileSync(file, 'utf8')).toBe(csv);
    }
  });

  it('keeps an empty file as an empty file, and tells when no file was chosen', async () => {
    const empty = new FormData();
    empty.set('file', new File([], 'empty.csv'));
    const file = destination();
    const one = await encode(empty);
    expect(
      await receiveMultipartFile(chunked(one.bytes, 5), one.type, {
        fileField: 'file',
        destination: file,
        maxFileBytes: 100,
      }),
    ).toMatchObject({ ok: true, file: { size: 0, fileName: 'empty.csv' } });
    expect(readFileSync(file, 'utf8')).toBe('');

    // A browser's file input with nothing chosen: an empty part with an empty file name.
    const none = new TextEncoder().encode(
      '--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n',
    );
    const nothing = destination();
    expect(
      await receiveMultipartFile(chunked(none, 5), 'multipart/form-data; boundary=b', {
        fileField: 'file',
        destination: nothing,
        maxFileBytes: 100,
      }),
    ).toEqual({ ok: true, file: undefined, fields: {} });
    expect(existsSync(nothing)).toBe(false);
  });

  it('refuses a file over the limit and leaves nothing behind', async () => {
    const form = new FormData();
    form.set('file', new File(['a'.repeat(5000)], 'big.csv'));
    const { bytes, type } = await encode(form);
    const file = destination();
    expect(
      await receiveMultipartFile(chunked(bytes, 512), type, {
        fileField: 'file',
        destination: file,
        maxFileBytes: 4000,
      }),
    ).toEqual({ ok: false, reason: 'too_large' });
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a body that does not start with its boundary within 16 KB (browsers send no preamble), without reading on', async () => {
    let pulled = 0;
    const junk = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 64 * 1024;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
      },
    });
    expect(
      await receiveMultipartFile(junk, 'multipart/form-data; boundary=x', {
        fileField: 'file',
        destination: destination(),
        maxFileBytes: 1e6,
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
    expect(pulled).toBeLessThanOrEqual(2 * 64 * 1024);
    // A short preamble is still allowed (RFC 2046).
    const withPreamble = new TextEncoder().encode(
      'This is a preamble.\r\n--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--b--\r\n',
    );
    expect(
      await receiveMultipartFile(chunked(withPreamble, 7), 'multipart/form-data; boundary=b', {
        fileField: 'file',
        destination: destination(),
        maxFileBytes: 100,
      }),
    ).toEqual({ ok: true, file: undefined, fields: { note: 'hi' } });
  });

  it('refuses a body cut short, a body that is not multipart, and a part without a name', async () => {
    const form = new FormData();
    form.set('file', new File([csv], 'list.csv'));
    const { bytes, type } = await encode(form);
    const cut = destination();
    expect(
      await receiveMultipartFile(chunked(bytes.slice(0, bytes.length - 200), 100), type, {
        fileField: 'file',
        destination: cut,
        maxFileBytes: 1e6,
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
    expect(existsSync(cut)).toBe(false);
    expect(
      await receiveMultipartFile(chunked(bytes, 100), 'application/x-www-form-urlencoded', {
        fileField: 'file',
        destination: destination(),
        maxFileBytes: 1e6,
      }),
    ).toEqual({ ok: false, reason: 'not_multipart' });
    const nameless = new TextEncoder().encode('--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n');
    expect(
      await receiveMultipartFile(chunked(nameless, 3), 'multipart/form-data; boundary=b', {
        fileField: 'file',
        destination: destination(),
        maxFileBytes: 1e6,
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a form of more than 32 parts and a text field over its limit, and leaves no file behind', async () => {
    const many = new FormData();
    many.set('file', new File([csv], 'list.csv'));
    for (let i = 0; i < 40; i++) many.set(`field${i}`, 'x');
    const crowded = await encode(many);
    const file = destination();
    expect(
      await receiveMultipartFile(chunked(crowded.bytes, 512), crowded.type, {
        fileField: 'file',
        destination: file,
        maxFileBytes: 1e6,
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
    expect(existsSync(file)).toBe(false);

    const long = new FormData();
    long.set('note', 'n'.repeat(101));
    const wordy = await encode(long);
    expect(
      await receiveMultipartFile(chunked(wordy.bytes, 64), wordy.type, {
        fileField: 'file',
        destination: destination(),
        maxFileBytes: 1e6,
        maxFieldBytes: 100,
      }),
    ).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads quoted and bare boundaries', () => {
    expect(multipartBoundary('multipart/form-data; boundary="a b:c"')).toBe('a b:c');
    expect(multipartBoundary('Multipart/Form-Data;boundary=----WebKitFormBoundaryX1')).toBe('----WebKitFormBoundaryX1');
    expect(multipartBoundary('multipart/form-data')).toBeUndefined();
    expect(multipartBoundary('text/csv; boundary=x')).toBeUndefined();
  });
});
