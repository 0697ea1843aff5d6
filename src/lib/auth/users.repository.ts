import type { Insertable, Selectable, Transaction, Updateable } from 'kysely';
import type { DB } from '../db/database.ts';
import type { Database, UserTable } from '../db/schema.ts';

export type User = Selectable<UserTable>;
type Db = DB | Transaction<Database>;

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countActiveAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findUserById(db: Db, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function listUsers(db: Db): Promise<User[]> {
  return db.selectFrom('users').selectAll().orderBy('status').orderBy('email').execute();
}

export async function insertUser(db: Db, row: Insertable<UserTable>): Promise<number> {
  const inserted = await db.insertInto('users').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function updateUser(db: Db, id: number, changes: Updateable<UserTable>): Promise<void> {
  await db.updateTable('users').set(changes).where('id', '=', id).execute();
}
