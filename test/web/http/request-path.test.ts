import { describe, expect, it } from 'vitest';
import { isUnder, parseRequestPath } from '../../../src/web/http/request-path.ts';

describe('the request path every decision is made on', () => {
  it('is the path as Astro routes it: dot segments resolved, backslashes read as slashes, decoded, single slashes', () => {
    const routes: [string, string][] = [
      ['/t/o/AbC_-123', '/t/o/AbC_-123'],
      ['/articles/choosing-a-widget/?utm_campaign=x', '/articles/choosing-a-widget/'],
      ['/api/../admin/login?_action=accounts.login', '/admin/login'],
      ['/api/%2e%2e/admin/login', '/admin/login'],
      ['/api/%2E%2e/admin/login', '/admin/login'],
      ['/api/.%2e/admin/login', '/admin/login'],
      ['/api\\..\\admin/login', '/admin/login'],
      ['/t/../admin', '/admin'],
      ['/t/c/../../admin/users', '/admin/users'],
      ['/unsubscribe/./../admin/login', '/admin/login'],
      ['//admin', '/admin'],
      ['/admin//users', '/admin/users'],
      ['/%61dmin/login', '/admin/login'],
      ['/%2561pi/me', '/api/me'],
      ['/API/me', '/API/me'], // Astro matches routes case-sensitively: this is no API route
      ['/api%2Fme', '/api%2Fme'], // an encoded slash stays encoded, for Astro too
      ['/articles/caf%C3%A9', '/articles/café'],
      ['/50%25off', '/50%off'],
      ['http://example.com/admin/login?x=1', '/admin/login'], // absolute-form request target
      ['/admin/login#frag', '/admin/login'],
    ];
    for (const [target, route] of routes) expect(parseRequestPath(target)?.route, target).toBe(route);
  });

  it('gives Astro the normalised target, and leaves a plain one as it came', () => {
    const plain = '/t/o/AbC_-123?x=1';
    expect(parseRequestPath(plain)?.target).toBe(plain);
    expect(parseRequestPath('/api/../admin/login?_action=accounts.login')).toMatchObject({
      pathname: '/admin/login',
      search: '?_action=accounts.login',
      target: '/admin/login?_action=accounts.login',
    });
    expect(parseRequestPath('/api\\..\\admin')?.target).toBe('/admin');
  });

  it('refuses what cannot be read one way only: bad percent-encoding, dot segments or backslashes hidden under a second encoding, no path', () => {
    for (const target of [
      '/%ff',
      '/articles/%E2%82',
      '/api/%252e%252e/admin/login',
      '/x/%252E%252E/admin',
      '/x/%255c..%255cadmin',
      '*',
      'mailto:x@y.z',
      'http://[bad/',
    ]) {
      expect(parseRequestPath(target), target).toBeUndefined();
    }
  });

  it('isUnder: the folder itself or inside it, never a longer name', () => {
    expect(isUnder('/api', '/api')).toBe(true);
    expect(isUnder('/api/me', '/api')).toBe(true);
    expect(isUnder('/apiary', '/api')).toBe(false);
    expect(isUnder('/t/o/x', '/t')).toBe(true);
    expect(isUnder('/tags/x', '/t')).toBe(false);
  });
});
