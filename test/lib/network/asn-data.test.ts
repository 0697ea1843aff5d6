import { mkdtempSync, readdirSync, readFileSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { disjointRanges, IPV4_FILE, IPV6_FILE, loadAsnTables, NetworkDataError } from '#lib/network/asn-data.ts';
import { loadNetworkLookup } from '#lib/network/network-lookup.ts';

const V4 = [
  '16777216,16777471,13335,"Cloudflare, Inc."', // 1.0.0.0/24
  '167772160,184549375,64500,Outer Example', // 10.0.0.0/8 (reserved: never reached)
  '83886080,83886335,64501,"Quoted, ""Name"""', // 5.0.0.0/24
  '134744064,134744319,15169,Google LLC', // 8.8.8.0/24
  '134743040,134746111,64502,Wide Example', // 8.8.4.0–8.8.15.255, around 8.8.8.0/24
];
// 2001:4860::/32 (Google) and 2a01:4f8::/32 (Hetzner).
const V6 = [
  '42541956101370907050197289607612071936,42541956180599069564461627201156022271,15169,Google LLC',
  '55832868898047719633825846016008519680,55832868977275882148090183609552470015,24940,Hetzner Online GmbH',
];

function dataDir(v4 = V4, v6 = V6): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'footfall-asn-'));
  writeFileSync(path.join(dir, IPV4_FILE), v4.join('\n') + '\n');
  writeFileSync(path.join(dir, IPV6_FILE), v6.join('\n') + '\n');
  return dir;
}

describe('compiling the data set', () => {
  it('compiles once, then reads the cache; a changed data set gets a new cache and the old one goes', () => {
    const source = dataDir();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'footfall-asn-cache-'));
    const first = loadAsnTables({ sourceDir: source, cacheDir });
    expect(first.from).toBe('compiled');
    expect(first.cacheWarning).toBeUndefined();
    const second = loadAsnTables({ sourceDir: source, cacheDir });
    expect(second.from).toBe('cache');
    expect(second.cacheFile).toBe(first.cacheFile);
    expect([...second.tables.asNumber]).toEqual([13335, 15169, 24940, 64500, 64501, 64502]);

    writeFileSync(path.join(source, IPV4_FILE), V4.slice(0, 1).join('\n') + '\n');
    utimesSync(path.join(source, IPV4_FILE), new Date(), new Date(Date.now() + 5000));
    const third = loadAsnTables({ sourceDir: source, cacheDir });
    expect(third.from).toBe('compiled');
    expect(third.cacheFile).not.toBe(first.cacheFile);
    expect(readdirSync(cacheDir)).toEqual([path.basename(third.cacheFile)]);
  });

  it('a nested range wins inside the outer one, which resumes after it; quoted names survive', () => {
    const { networks } = loadNetworkLookup({
      sourceDir: dataDir(),
      cacheDir: mkdtempSync(path.join(tmpdir(), 'footfall-asn-cache-')),
    });
    expect(networks.lookup('5.0.0.1')).toMatchObject({ asn: 64501, organisation: 'Quoted, "Name"' });
    expect(networks.lookup('10.0.0.1')).toMatchObject({ asn: null, role: 'private' });
    expect(networks.lookup('8.8.4.0')).toMatchObject({ asn: 64502, organisation: 'Wide Example', role: 'access' });
    expect(networks.lookup('8.8.7.255')).toMatchObject({ asn: 64502 });
    expect(networks.lookup('8.8.8.0')).toMatchObject({ asn: 15169, role: 'mail_proxy' });
    expect(networks.lookup('8.8.8.255')).toMatchObject({ asn: 15169 });
    expect(networks.lookup('8.8.9.0')).toMatchObject({ asn: 64502 });
    expect(networks.lookup('8.8.15.255')).toMatchObject({ asn: 64502 });
    expect(networks.lookup('8.8.16.0')).toMatchObject({ asn: null });
    expect(networks.lookup('2001:4860:4860::8888')).toMatchObject({ asn: 15169, role: 'mail_proxy' });
    expect(networks.lookup('2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff')).toMatchObject({ asn: 24940, role: 'cloud' });
    expect(networks.lookup('2a01:4f9::')).toMatchObject({ asn: null });
  });

  it('disjointRanges: partial overlaps go to the later start; nesting is undone around the inner range', () => {
    const r = (start: number, end: number, asn: number) => ({ start: BigInt(start), end: BigInt(end), asn });
    const out = disjointRanges([r(0, 100, 1), r(50, 150, 2), r(60, 70, 3), r(200, 300, 4), r(200, 210, 5)]);
    expect(out.map((x) => [Number(x.start), Number(x.end), x.asn])).toEqual([
      [0, 49, 1],
      [50, 59, 2],
      [60, 70, 3],
      [71, 150, 2],
      [200, 210, 5],
      [211, 300, 4],
    ]);
  });
});

describe('a damaged or missing data set stops the load, naming the file', () => {
  it('a missing CSV file', () => {
    const source = dataDir();
    unlinkSync(path.join(source, IPV6_FILE));
    expect(() => loadAsnTables({ sourceDir: source, cacheDir: mkdtempSync(path.join(tmpdir(), 'c-')) })).toThrow(
      new NetworkDataError(
        `Network data: cannot read ${path.join(source, IPV6_FILE)} (ENOENT). Reinstall the data set with \`npm ci\`, or point NETWORK_DATA_DIR at a folder holding ${IPV4_FILE} and ${IPV6_FILE}.`,
      ),
    );
  });

  it('a row that is not a range, with its line number', () => {
    const source = dataDir([...V4.slice(0, 2), '300,200,1,Backwards']);
    expect(() => loadAsnTables({ sourceDir: source, cacheDir: mkdtempSync(path.join(tmpdir(), 'c-')) })).toThrow(
      `${path.join(source, IPV4_FILE)} line 3 has a range that is not an IPv4 range`,
    );
    const garbled = dataDir(V4, ['not,a,number,here']);
    expect(() => loadAsnTables({ sourceDir: garbled, cacheDir: mkdtempSync(path.join(tmpdir(), 'c-')) })).toThrow(
      `${path.join(garbled, IPV6_FILE)} line 1 is not "start,end,AS number,organisation"`,
    );
    const empty = dataDir(V4, []);
    expect(() => loadAsnTables({ sourceDir: empty, cacheDir: mkdtempSync(path.join(tmpdir(), 'c-')) })).toThrow(
      /holds no ranges/,
    );
  });

  it('a truncated or altered cache file', () => {
    const source = dataDir();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'c-'));
    const { cacheFile } = loadAsnTables({ sourceDir: source, cacheDir });
    const bytes = readFileSync(cacheFile);
    truncateSync(cacheFile, bytes.length - 10);
    expect(() => loadAsnTables({ sourceDir: source, cacheDir })).toThrow(
      new RegExp(
        `the compiled cache ${cacheFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt \\(\\d+ bytes where the header promises \\d+\\)`,
      ),
    );
    const flipped = Buffer.from(bytes);
    flipped[100] = flipped[100]! ^ 0xff;
    writeFileSync(cacheFile, flipped);
    expect(() => loadAsnTables({ sourceDir: source, cacheDir })).toThrow(
      /is corrupt \(checksum mismatch\)\. Delete it and start again/,
    );
    writeFileSync(cacheFile, 'not a cache');
    expect(() => loadAsnTables({ sourceDir: source, cacheDir })).toThrow(
      /is corrupt \(not a Footfall network data file\)/,
    );
  });

  it('a cache folder that cannot be written still loads, with a warning', () => {
    const source = dataDir();
    const blocked = path.join(dataDir(), IPV4_FILE, 'cache'); // under a file: mkdir fails
    const loaded = loadAsnTables({ sourceDir: source, cacheDir: blocked });
    expect(loaded.from).toBe('compiled');
    expect(loaded.cacheWarning).toMatch(/could not write .* set NETWORK_CACHE_DIR to a writable folder/);
    expect(loaded.tables.asNumber.length).toBe(6);
  });
});
