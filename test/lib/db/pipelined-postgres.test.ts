import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompiledQuery, Kysely, sql } from 'kysely';
import pg from 'pg';
import { createTestDatabaseUrl } from '../../helpers/databases.ts';
import { keptPrepared, PipelinedPostgresDialect } from '#lib/db/pipelined-postgres.ts';
import { runPlan, type StatementPlan } from '#lib/events/statement-plan.ts';

// PostgreSQL only: the driver that sends BEGIN with a transaction's first statement and a plan's
// writes with the next statement or COMMIT, in one write to the socket each. What a user would
// notice if it were wrong: values changed on the way (quotes, backslashes, large numbers, nulls),
// a write lost or kept when its transaction failed, a read that does not see the write before it.
const enabled = Boolean(process.env.TEST_DATABASE_URL);

describe.skipIf(!enabled)('pipelined PostgreSQL transactions', () => {
  let db: Kysely<any>;
  let drop: () => Promise<void>;
  /** Every statement's text the pool's clients sent. */
  const sent: string[] = [];
  /** The writes to the clients' sockets (a group of queries corked together is one). */
  let writes = 0;

  beforeAll(async () => {
    const created = await createTestDatabaseUrl('postgres', mkdtempSync(path.join(tmpdir(), 'footfall-pipe-')));
    drop = created.drop;
    const pool = new pg.Pool({ connectionString: created.url, max: 2, pipeline: true });
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        sent.push(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text);
        return query(...args);
      };
      const stream = (client as unknown as { connection: { stream: Record<string, (...a: unknown[]) => unknown> } })
        .connection.stream;
      for (const method of ['_write', '_writev']) {
        const original = stream[method]!.bind(stream);
        stream[method] = (...a: unknown[]) => {
          writes++;
          return original(...a);
        };
      }
    });
    db = new Kysely<any>({ dialect: new PipelinedPostgresDialect(pool) });
    await sql`create table "things" ("id" bigint primary key, "name" text, "n" bigint)`.execute(db);
  });

  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  const odd = [
    { id: 1, name: "O'Brien", n: 9_007_199_254_740_991 },
    { id: 2, name: "back\\slash and \\x41 and E'quoted'", n: -42 },
    { id: 3, name: null, n: null },
    { id: 4, name: '', n: 0 },
    { id: 5, name: 'émoji 🚪 and $1 and ? and ; commit;', n: 1_765_000_000_000 },
  ];

  function* insertThenRead(rows: typeof odd, seen: unknown[]): StatementPlan {
    for (const r of rows)
      yield { write: 'insert into "things" ("id", "name", "n") values (?, ?, ?)', params: [r.id, r.name, r.n] };
    seen.push(
      ...((yield {
        all: 'select "id", "name", "n" from "things" where "id" >= ? order by "id"',
        params: [rows[0]!.id],
      }) as unknown[]),
    );
  }

  it('keeps every value as sent, and a read sees the writes held back before it', async () => {
    const seen: unknown[] = [];
    await db.transaction().execute((trx) => runPlan(trx, insertThenRead(odd, seen)));
    const expected = odd.map((r) => ({ id: r.id, name: r.name, n: r.n }));
    expect(seen).toEqual(expected);
    const stored = await sql<{
      id: number;
      name: string | null;
      n: number | null;
    }>`select * from "things" order by "id"`.execute(db);
    expect(stored.rows).toEqual(expected);
  });

  it('sends BEGIN with the first statement and the writes with COMMIT: two writes for a read and a write', async () => {
    sent.length = 0;
    writes = 0;
    await db.transaction().execute((trx) =>
      runPlan(
        trx,
        (function* (): StatementPlan {
          yield { all: 'select "id" from "things" where "id" in (?, ?) order by "id" for update', params: [1, 2] };
          yield { write: 'update "things" set "n" = "n" + ? where "id" = ?', params: [1, 4] };
        })(),
      ),
    );
    expect(sent).toEqual([
      'begin',
      'select "id" from "things" where "id" in ($1, $2) order by "id" for update',
      'update "things" set "n" = "n" + $1 where "id" = $2',
      'commit',
    ]);
    expect(writes).toBe(2);
    const row = await sql<{ n: number }>`select "n" from "things" where "id" = 4`.execute(db);
    expect(row.rows[0]!.n).toBe(1);
  });

  it('a held-back write that fails fails its transaction at COMMIT and nothing of it is stored', async () => {
    const before = await sql<{ c: string }>`select count(*) as "c" from "things"`.execute(db);
    const failing = db.transaction().execute((trx) =>
      runPlan(
        trx,
        (function* (): StatementPlan {
          yield { write: 'insert into "things" ("id", "name") values (?, ?)', params: [100, 'new'] };
          yield {
            write: 'insert into "things" ("id", "name", "n") values (?, ?, ?) on conflict do nothing',
            params: [101, 'x', 1],
          };
          yield { write: 'update "things" set "n" = ? where "id" = ?', params: ['not a number', 1] };
        })(),
      ),
    );
    await expect(failing).rejects.toThrow(/invalid input syntax for type bigint/);
    const after = await sql<{ c: string }>`select count(*) as "c" from "things"`.execute(db);
    expect(after.rows[0]!.c).toBe(before.rows[0]!.c);
    // The connections are usable again.
    await Promise.all([1, 2, 3].map(() => sql`select 1`.execute(db)));
  });

  it('a transaction given up after a held-back write keeps nothing', async () => {
    const giveUp = db.transaction().execute(async (trx) => {
      await runPlan(
        trx,
        (function* (): StatementPlan {
          yield { write: 'insert into "things" ("id", "name") values (?, ?)', params: [200, 'kept?'] };
        })(),
      );
      throw new Error('changed my mind');
    });
    await expect(giveUp).rejects.toThrow('changed my mind');
    const row = await sql`select 1 from "things" where "id" = 200`.execute(db);
    expect(row.rows).toEqual([]);
  });

  it('a statement kept prepared is parsed once on a connection and then only bound', async () => {
    const text = 'select count(*) as "c" from "things" where "id" = any($1::bigint[])';
    const seen = await db.connection().execute(async (conn) => {
      const counts = [];
      for (const ids of [[1, 2], [3], [1, 2, 3, 4, 5]])
        counts.push((await conn.executeQuery<{ c: number }>(keptPrepared(CompiledQuery.raw(text, [ids])))).rows[0]!.c);
      const prepared = await sql<{ statement: string }>`select "statement" from pg_prepared_statements`.execute(conn);
      return { counts, prepared: prepared.rows.map((r) => r.statement) };
    });
    expect(seen.counts).toEqual([2, 1, 5]);
    expect(seen.prepared.filter((s) => s === text)).toHaveLength(1);
  });
});
