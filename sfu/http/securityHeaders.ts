// Security headers on every HTTP response (the web client, the APIs, errors).
// The web client is a Vite build: one module script and one stylesheet from
// /assets, no inline script or style, no eval; it talks to this host only
// (fetch /dev/token, the WebSocket at /ws) and plays remote audio from
// MediaStreams (srcObject), so everything else is refused.
import type Koa from 'koa';

/** A Host header as a CSP source: host[:port] or [v6]:port, nothing that could end a directive. */
const safeHost = /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

/** `nodes`: cluster mode, every node's signaling URL (the page follows WRONG_NODE to one of them). */
export function contentSecurityPolicy(host: string | undefined, nodes: readonly string[] = []): string {
  // CSP Level 3 lets 'self' match ws:/wss: to the same host; older engines
  // (Safari before 15.4) do not, so the socket's URLs are named too.
  const socket = (host && safeHost.test(host) ? ` ws://${host} wss://${host}` : '') + nodes.map((u) => ` ${u}`).join('');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    `connect-src 'self'${socket}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A CSP source: ws(s)://host[:port]/path with nothing that could end a directive. */
const safeSocketUrl = /^wss?:\/\/[a-z0-9.:[\]-]+\/[a-z0-9/_.-]*$/i;

export function securityHeaders(clusterNodes: () => string[] = () => []): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set({
      'Content-Security-Policy': contentSecurityPolicy(ctx.get('host') || undefined, clusterNodes().filter((u) => safeSocketUrl.test(u))),
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
    await next();
  };
}
