import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
const db = new Database(mkdtempSync(tmpdir() + '/u-') + '/x.db');
db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
const cols = ['a1','a2','a3','a4','a5','a6','a7','a8','a9','a10','a11','a12','a13'];
db.exec(`create table d (id integer primary key, issue_id int, subscriber_id int, status text, reason text, smtp_response text, message_id text, ${cols.map(c => c + ' ' + (c === 'a4' || c === 'a6' ? 'text' : 'int')).join(', ')})`);
const N = 200000;
const ins = db.prepare(`insert into d (issue_id, subscriber_id, status, smtp_response, message_id) values (1, ?, 'sent', '250 2.0.0 OK queued as ABCDEF', ?)`);
db.transaction(() => { for (let i = 0; i < N; i++) ins.run(i, `<${i}.abcdef@frobozz.example>`); })();
function bench(label: string, width: number, nullsAfter = width) {
  const set = cols.slice(0, width).map((c, i) => `"${c}" = "v"."column${i + 2}"`).join(', ');
  const stmt = db.prepare(`update d set ${set} from (values ${new Array(32).fill('(' + new Array(width + 1).fill('?').join(',') + ')').join(',')}) as v where d.id = v.column1`);
  let id = Math.floor(Math.random() * (N - 40000));
  const t0 = performance.now();
  const rounds = 1000;
  for (let r = 0; r < rounds; r++) {
    const values: unknown[] = [];
    for (let k = 0; k < 32; k++) { values.push(id++); for (let c = 0; c < width; c++) values.push(c < nullsAfter ? 1_700_000_000_000 + k : null); }
    db.transaction(() => stmt.run(...values))();
  }
  console.log(label, ((performance.now() - t0) * 1000 / rounds / 32).toFixed(2), 'µs a row');
}
for (let i = 0; i < 2; i++) { bench('2 cols', 2); bench('13 cols', 13); bench('13 cols, 5 set', 13, 5); bench('5 cols', 5); }
