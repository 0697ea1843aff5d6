import { describe, expect, it, vi } from 'vitest';
import { streamedCsvDownload } from '../../src/web/csv-download.ts';

/** The admin's streamed CSV downloads (people behind a figure, the subscriber export). */
describe('a streamed CSV download', () => {
  it('is a file to save, arriving piece by piece in order', async () => {
    const response = streamedCsvDownload('list.csv', 'test CSV', async (write) => {
      await write('\uFEFFemail,name\r\n');
      for (let i = 1; i <= 3; i++) await write(`person${i}@example.com,Person ${i}\r\n`);
    });
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="list.csv"',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    // The byte-order mark stays (spreadsheet programs read accents by it); text() would drop it.
    expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode(await response.arrayBuffer())).toBe(
      '\uFEFFemail,name\r\nperson1@example.com,Person 1\r\nperson2@example.com,Person 2\r\nperson3@example.com,Person 3\r\n',
    );
  });

  it('does not run ahead of a reader that does not read', async () => {
    let written = 0;
    const response = streamedCsvDownload('list.csv', 'test CSV', async (write) => {
      for (let i = 0; i < 1000; i++) {
        await write(`row ${i}\r\n`);
        written++;
      }
    });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(written).toBeLessThan(5);
    expect((await response.text()).split('\r\n').length - 1).toBe(1000);
  });

  it('breaks off, rather than ends as if complete, when the list fails halfway', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const response = streamedCsvDownload('list.csv', 'test CSV', async (write) => {
        await write('email\r\n');
        await write('person1@example.com\r\n');
        throw new Error('database went away');
      });
      await expect(response.text()).rejects.toThrow('database went away');
      expect(log).toHaveBeenCalledWith('[export] test CSV failed:', expect.any(Error));
    } finally {
      log.mockRestore();
    }
  });
});
