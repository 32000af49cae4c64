// Pre-encoded Opus for Node peers: a tone made with sox, encoded by opusenc
// (Debian's opus-tools) into Ogg Opus, split into its 20 ms packets.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const cacheDir = path.join(os.tmpdir(), 'chorus-opus');

/** The Opus packets (20 ms each) of `seconds` of a `hz` sine tone. */
export function opusTonePackets(hz: number, seconds = 10): Buffer[] {
  fs.mkdirSync(cacheDir, { recursive: true });
  const ogg = path.join(cacheDir, `tone${hz}-${seconds}s.opus`);
  if (!fs.existsSync(ogg)) {
    const wav = `${ogg}.wav`;
    execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', String(seconds), 'sine', String(hz), 'vol', '0.5']);
    execFileSync('opusenc', ['--quiet', '--framesize', '20', '--bitrate', '32', wav, ogg]);
    fs.rmSync(wav);
  }
  return oggPackets(fs.readFileSync(ogg)).slice(2); // skip OpusHead and OpusTags
}

/** Splits an Ogg stream into its packets (RFC 3533 pages and lacing). */
export function oggPackets(data: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  let pos = 0;
  while (pos + 27 <= data.length) {
    if (data.toString('latin1', pos, pos + 4) !== 'OggS') throw new Error(`bad Ogg page at byte ${pos}`);
    const segments = data[pos + 26]!;
    const table = data.subarray(pos + 27, pos + 27 + segments);
    let body = pos + 27 + segments;
    for (const lacing of table) {
      partial.push(data.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    pos = body;
  }
  return packets;
}
