import os from 'node:os';

/**
 * The address to put in ICE candidates. "auto" picks the first non-internal
 * IPv4 address of this host (what other machines on the LAN can reach), or
 * 127.0.0.1 on a host with none.
 */
export function resolveAnnouncedAddress(configured: string, listenIp: string): string {
  if (configured !== 'auto') return configured;
  if (listenIp !== '0.0.0.0' && listenIp !== '::') return listenIp;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}
