// npm run bench:network — the IP → network owner lookup against a Map.get of the same address
// string measured in the same run (target: ≤ 4 × Map.get, and well under 1 µs), its allocation
// per lookup, the memory of the loaded table, and the start-up cost: compiling the CSV files
// (cold, into a fresh cache folder) and reading the compiled cache (warm). Rounds interleave the
// baseline and the lookups; medians.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { defaultAsnSourceDir, defaultCacheDir, loadAsnTables } from '../../src/lib/network/asn-data.ts';
import { formatIPv4 } from '../../src/lib/network/ip-address.ts';
import { loadNetworkLookup } from '../../src/lib/network/network-lookup.ts';
import { parseNetworkOverrides } from '../../src/lib/network/admin-networks.ts';
import { conditions, median } from './run-load.ts';

const TARGET_RATIO = 4;
const ROUNDS = 15;
const ADDRESSES = 100_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

// Memory of the loaded lookup, first, in a clean process (the shared cache: compiled if missing).
loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir: defaultCacheDir() });
gc();
const before = process.memoryUsage();
const { networks } = loadNetworkLookup();
gc();
const after = process.memoryUsage();

// Start-up: cold compile into a fresh folder, then warm reads of what it wrote.
const cacheDir = mkdtempSync(path.join(tmpdir(), 'footfall-bench-networks-'));
const cold = loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir });
const warm = median(
  Array.from({ length: 5 }, () => loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir }).milliseconds),
);
rmSync(cacheDir, { recursive: true });

// Addresses as the hot path sees them: strings, a spread over the whole IPv4 space and real IPv6 prefixes.
let seed = 12345;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
const v4 = Array.from({ length: ADDRESSES }, () => formatIPv4(random()));
const v6Prefixes = [
  '2a01:111:f403',
  '2001:4860:4860',
  '2a02:26f7:b018',
  '2620:149:af0',
  '2a01:4f8:c0c',
  '2600:1f18:4d2',
  '2606:4700:3033',
  '2a00:1450:4009',
];
const v6 = Array.from(
  { length: ADDRESSES },
  (_, i) =>
    `${v6Prefixes[i % v6Prefixes.length]}:${(random() & 0xffff).toString(16)}::${(random() & 0xffff).toString(16)}`,
);
const mixed = v4.map((a, i) => (i % 5 === 0 ? v6[i]! : a));
// A realistic admin list in force: a handful of networks and AS numbers.
const admin = parseNetworkOverrides(
  '203.0.113.0/24 security_gateway A\n198.18.0.0/15 access B\nAS64500 web_proxy C\n2001:db8:1::/48 cloud D\n100.64.0.0/10 access E',
);
if (admin.ok) networks.applyOverrides(admin.overrides, admin.text);

const map = new Map(mixed.map((a, i) => [a, i]));
let sink = 0;
const timeNs = (fn: (list: string[]) => void, list: string[]) => {
  const began = process.hrtime.bigint();
  fn(list);
  return Number(process.hrtime.bigint() - began) / list.length;
};
const baseline = (list: string[]) => {
  for (const a of list) sink += map.get(a)!;
};
const lookups = (list: string[]) => {
  for (const a of list) sink += networks.lookup(a).asn ?? 1;
};
for (let i = 0; i < 3; i++) {
  baseline(mixed);
  lookups(mixed);
}
const rounds = { baseline: [] as number[], v4: [] as number[], v6: [] as number[], mixed: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  rounds.baseline.push(timeNs(baseline, mixed));
  rounds.v4.push(timeNs(lookups, v4));
  rounds.v6.push(timeNs(lookups, v6));
  rounds.mixed.push(timeNs(lookups, mixed));
}
const ns = {
  baseline: median(rounds.baseline),
  v4: median(rounds.v4),
  v6: median(rounds.v6),
  mixed: median(rounds.mixed),
};

// Allocation: young-generation collections while the same loops run 2,000,000 times each. A loop
// that allocates nothing triggers none; every collection stands for a few MB of garbage.
const scavenges = async (fn: (list: string[]) => void) => {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (
        (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
        constants.NODE_PERFORMANCE_GC_MINOR
      )
        count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  gc();
  for (let i = 0; i < 2_000_000 / mixed.length; i++) fn(mixed);
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return count;
};
const scavengesBaseline = await scavenges(baseline);
const scavengesLookup = await scavenges(lookups);

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const perSecond = (n: number) => Math.round(1e9 / n).toLocaleString('en');
console.log(
  `conditions: ${conditions()}; ${ADDRESSES.toLocaleString('en')} distinct addresses (random IPv4 over the whole space; IPv6 in 8 real prefixes; mixed = 4 IPv4 : 1 IPv6), 5 admin entries in force`,
);
console.log(
  `lookups: IPv4 ${ns.v4.toFixed(0)} ns (${perSecond(ns.v4)}/s), IPv6 ${ns.v6.toFixed(0)} ns (${perSecond(ns.v6)}/s), mixed ${ns.mixed.toFixed(0)} ns (${perSecond(ns.mixed)}/s); Map.get of the same strings ${ns.baseline.toFixed(0)} ns (${perSecond(ns.baseline)}/s)`,
);
console.log(
  `lookup ratio: ${(ns.mixed / ns.baseline).toFixed(2)} × Map.get (median of ${ROUNDS} interleaved rounds; target <= ${TARGET_RATIO}, and < 1000 ns)`,
);
console.log(
  `allocation: ${scavengesLookup} young-generation collections during 2,000,000 mixed lookups (the Map.get loop: ${scavengesBaseline})`,
);
console.log(
  `memory of the loaded table: ${mb(networks.byteLength)} MB of typed arrays read from the cache; growth around the load: array buffers ${mb(after.arrayBuffers - before.arrayBuffers)} MB, heap ${mb(after.heapUsed - before.heapUsed)} MB, rss ${mb(after.rss - before.rss)} MB (target < 40 MB)`,
);
console.log(
  `start-up: cold compile of the CSV files ${Math.round(cold.milliseconds)} ms; warm read of the ${mb(cold.tables.byteLength)} MB cache ${warm.toFixed(1)} ms (median of 5)`,
);
if (sink === 0) console.log('');
