// Room ownership in Redis: chorus:room:<name> holds the id of the node that
// owns the room, with a lease (PX) the owner renews every heartbeat. Taking a
// room is SET NX: of two nodes racing for one room exactly one gets it. Every
// change to a lease that is someone's is a compare-and-set on the node id, in
// Lua (atomic in Redis): only the owner renews or releases its lease, and a
// live node takes over a dead node's room only while the dead one still holds
// it and its heartbeat key is gone.
import type { Redis } from 'ioredis';
import { nodeKey } from './nodeRegistry.ts';

export const roomKey = (room: string) => `chorus:room:${room}`;

/** Renews each lease that is ours; takes back one that lapsed (e.g. Redis restarted empty). 1 renewed, 2 taken back, 0 someone else's. */
const RENEW = `
local out = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = 1
  elseif not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    out[i] = 2
  else
    out[i] = 0
  end
end
return out`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** KEYS: room, the dead owner's node key; ARGV: dead owner, new owner, lease ms. */
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/**
 * Dev tokens' "first person in an empty room is its moderator", across nodes.
 * KEYS: the room's lease, its moderator claim; ARGV: this node, claim ms. The
 * claim is granted when no other node owns the room and nobody claimed it in
 * the last claim ms (whichever node was asked).
 */
const CLAIM_DEV_MODERATOR = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

export const devModeratorKey = (room: string) => `chorus:devmod:${room}`;

export type RenewResult = 'renewed' | 'retaken' | 'lost';

export class RoomLeases {
  constructor(
    readonly redis: Redis,
    readonly leaseMs: number,
  ) {}

  /** The node that owns `room` now, if any. */
  owner(room: string): Promise<string | null> {
    return this.redis.get(roomKey(room));
  }

  /** Whether a dev token asked of `node` for `room` may be its moderator (see CLAIM_DEV_MODERATOR). */
  async claimDevModerator(room: string, node: string, claimMs: number): Promise<boolean> {
    return (await this.redis.eval(CLAIM_DEV_MODERATOR, 2, roomKey(room), devModeratorKey(room), node, claimMs)) === 1;
  }

  /** Gives `room` to `node` if nobody owns it (true), atomically. */
  async claim(room: string, node: string): Promise<boolean> {
    return (await this.redis.set(roomKey(room), node, 'PX', this.leaseMs, 'NX')) === 'OK';
  }

  /** `node` takes `room` from `deadOwner`, only if that one still owns it and has no heartbeat. */
  async takeOver(room: string, deadOwner: string, node: string): Promise<boolean> {
    return (await this.redis.eval(TAKE_OVER, 2, roomKey(room), nodeKey(deadOwner), deadOwner, node, this.leaseMs)) === 1;
  }

  /** Renews `node`'s leases of `rooms` (one round trip), saying for each what happened. */
  async renew(rooms: readonly string[], node: string): Promise<RenewResult[]> {
    if (rooms.length === 0) return [];
    const out = (await this.redis.eval(RENEW, rooms.length, ...rooms.map(roomKey), node, this.leaseMs)) as number[];
    return out.map((r) => (r === 1 ? 'renewed' : r === 2 ? 'retaken' : 'lost'));
  }

  /** Gives `room` up, if `node` still owns it. */
  async release(room: string, node: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, roomKey(room), node);
  }
}
