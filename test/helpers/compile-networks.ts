import { defaultAsnSourceDir, defaultCacheDir, loadAsnTables } from '../../src/lib/network/asn-data.ts';

// Run in a worker thread by global-setup.ts: compiles the IP → network table into its cache once,
// so servers started in parallel all read the cache — on the other core while the site builds.
loadAsnTables({ sourceDir: defaultAsnSourceDir(), cacheDir: process.env.NETWORK_CACHE_DIR ?? defaultCacheDir() });
