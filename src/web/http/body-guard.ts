import type { IncomingMessage, ServerResponse } from 'node:http';
import { tooLargeAnswer, UNDECLARED_BODY_LIMIT, type BodyAllowance } from './body-limits.ts';
import { firstRawHeader } from './raw-headers.ts';
import { boundedChunks } from './request-body.ts';

/**
 * The server entry's side of the body limits (body-limits.ts): a body over its route's limit is
 * stopped before anything buffers it.
 *
 * - Content-Length over the limit: 413 at once, nothing read (with `Expect: 100-continue` the
 *   client is never asked for the body), and the connection closed.
 * - No Content-Length (chunked): held to the route's undeclared limit (1 MB at most). The answer
 *   closes the connection whatever it is, so an unread body is never drained, and what Astro or
 *   the entry reads is counted as it arrives. At the first byte over, reading stops with a
 *   BodyTooLargeError; the budget records it, and the middleware answers 413 in place of
 *   whatever the route made of the cut-off body.
 * - A declared length within the limit: Node delivers exactly that many bytes; over 1 MB the
 *   connection closes after the answer too, so one the route did not read is not drained.
 *
 * Closing is a "lingering close" (as nginx does it): Node destroys the socket as soon as the
 * answer is flushed, and a socket closed with the client's bytes still arriving answers them
 * with a reset, which can make a client that is still sending lose the 413 it has not read yet.
 * So the answer is followed by FIN alone, the socket stops reading (the client's sending stalls)
 * and it is destroyed when the client closes, or after LINGER_MS.
 */

const LINGER_MS = 2000;

/** Shared with the middleware through `locals.bodyBudget`. */
export interface BodyBudget {
  /** The most this request's body may be (its route's limit, or the undeclared limit). */
  limit: number;
  /** The route's limit for a body that declares its length. */
  declaredLimit: number;
  exceeded: boolean;
}

export interface DeclaredBody {
  /** Content-Length, when sent (Node refuses one that is not a number before this is reached). */
  length: number | undefined;
  chunked: boolean;
}

/** What the request says of its body, read from rawHeaders (cheap enough for the tracking fast path). */
export function declaredBody(rawHeaders: readonly string[]): DeclaredBody {
  let length: number | undefined;
  let chunked = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(rawHeaders[i + 1]);
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') chunked = true;
  }
  return { length, chunked };
}

export function hasBody(declared: DeclaredBody): boolean {
  return declared.chunked || (declared.length !== undefined && declared.length > 0);
}

/** Answers 413 for `route` (JSON, a page or text, as the client reads) and closes the connection. */
export function refuseBody(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  limit: number,
  declaredLimit = limit,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answer = tooLargeAnswer(
    route,
    { accept: firstRawHeader(req.rawHeaders, 'accept'), contentType: firstRawHeader(req.rawHeaders, 'content-type') },
    limit,
    declaredLimit,
  );
  lingerBeforeClosing(req, res);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(req.method === 'HEAD' ? undefined : answer.body);
}

/**
 * Applies the route's allowance to the request's body before anyone reads it: undefined when
 * that already answered the request (413); otherwise the budget the middleware checks.
 */
export function guardBody(
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  allowance: BodyAllowance,
  declared = declaredBody(req.rawHeaders),
): BodyBudget | undefined {
  if (declared.length !== undefined && declared.length > allowance.limit) {
    refuseBody(req, res, route, allowance.limit);
    return undefined;
  }
  const budget: BodyBudget = {
    limit: declared.chunked ? allowance.undeclared : allowance.limit,
    declaredLimit: allowance.limit,
    exceeded: false,
  };
  if (declared.chunked || (declared.length ?? 0) > UNDECLARED_BODY_LIMIT) {
    res.setHeader('connection', 'close');
    lingerBeforeClosing(req, res);
  }
  if (declared.chunked) {
    // @astrojs/node reads `req.body` when it is an async iterable, and so does requestBody().
    (req as IncomingMessage & { body?: AsyncIterable<Uint8Array> }).body = countedBody(req, budget, () => {
      // A route that answered before reading all of it has nothing to take back: cut the connection.
      if (res.headersSent) res.destroy();
    });
  }
  return budget;
}

/** Once an answer with `Connection: close` is out while the body is still coming: FIN, no more reading, close after the client or LINGER_MS. */
function lingerBeforeClosing(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  res.once('finish', () => {
    if (req.complete || socket.destroyed) return;
    // Node's own handler ran first: it ended the socket and will destroy it once the FIN is written.
    // The listener Node added is the method itself: removing it takes the same reference.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    socket.removeListener('finish', socket.destroy);
    socket.pause();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}

function countedBody(req: IncomingMessage, budget: BodyBudget, onExceeded: () => void): AsyncGenerator<Uint8Array> {
  // destroyOnReturn: false — stopping early must leave the socket for the 413.
  return boundedChunks(req.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>, budget.limit, () => {
    budget.exceeded = true;
    onExceeded();
  });
}

/** The request's body for a reader in the entry: counted when guardBody set that up. */
export function requestBody(req: IncomingMessage): AsyncIterable<Uint8Array> {
  return (
    (req as IncomingMessage & { body?: AsyncIterable<Uint8Array> }).body ??
    (req.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>)
  );
}
