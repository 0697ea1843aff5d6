declare namespace App {
  interface Locals {
    /** The client's address as src/web/http/client-address.ts decided it (set by the server entry). */
    clientAddress?: string;
    /** The signed-in user, from the session cookie (src/middleware.ts). Pages still check roles themselves. */
    user?: import('./lib/auth/session.service.ts').AuthUser;
    /** The session behind `user`. */
    session?: import('./lib/auth/session.service.ts').Session;
    /** The request body's limit and whether it was passed (set by the server entry: src/web/http/body-guard.ts). */
    bodyBudget?: import('./web/http/body-guard.ts').BodyBudget;
    /** Set by a throttled action: the middleware sends it as a Retry-After header. */
    retryAfterSeconds?: number;
    /**
     * Runs a task once the response is out (set by the server entry): for work whose duration
     * must not show in the answer, such as mailing a reset link. See runAfterResponse.
     */
    afterResponse?: (task: () => void) => void;
  }
}
