import type { AppContext } from '../../app/context.ts';
import type { WorkerChore } from '../../sending/worker.ts';
import { pollBounceMailbox } from './mailbox.service.ts';

/**
 * The bounce mailbox, read by the send worker (the one scheduler) every BOUNCE_IMAP_POLL_MS;
 * undefined when no BOUNCE_IMAP_URL is set. Every worker runs it; the database lease lets one read at a time.
 */
export function bounceMailboxChore(
  app: Pick<AppContext, 'db' | 'secret' | 'config'>,
  log: (line: string) => void = console.log,
): WorkerChore | undefined {
  const { url, pollMs, processedFolder, otherFolder, tlsCa, verpAddress } = app.config.bounceMailbox;
  if (!url) return undefined;
  return {
    name: 'bounce mailbox',
    everyMs: pollMs,
    run: async (now, workerId) => {
      const read = await pollBounceMailbox(
        { db: app.db, secret: app.secret, verpAddress, log },
        { url, processedFolder, otherFolder, tlsCa },
        workerId,
        now,
      );
      if (read.error) log(`[bounces] the bounce mailbox could not be read: ${read.error}`);
      else if (read.reports + read.others > 0)
        log(
          `[bounces] bounce mailbox: ${read.reports} report(s) processed (${read.recorded} recorded), ${read.others} other message(s) moved aside`,
        );
    },
  };
}
