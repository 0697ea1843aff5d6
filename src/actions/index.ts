import { accounts } from './accounts.ts';
import { digest } from './digest.ts';
import { doors } from './doors.ts';
import { issues } from './issues.ts';
import { sending } from './sending.ts';
import { offline } from './offline.ts';
import { subscribers } from './subscribers.ts';

// Each domain keeps its actions in its own file; they are merged here, Astro's one entry point.
export const server = {
  ...accounts,
  ...issues,
  ...sending,
  ...subscribers,
  ...offline,
  ...digest,
  ...doors,
};
