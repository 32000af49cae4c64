// Getting a call's session back after its signaling socket dropped, media
// running meanwhile: reconnect with backoff (retry.ts) and ask for the same
// participant (`resume`, docs/protocol.md), for as long as the server keeps it
// (the grace period of its latest resume grant). Requests made meanwhile wait
// for the new socket (SignalingClient.holdOnDrop). A refusal (the session is
// gone, the token expired) ends it; a node that stops answering is passed over
// (NodeChoice), and the call rejoins through the next one. One resume per
// drop, run by the call; it owns nothing once it returns.
import type { ResponseData } from '../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../protocol/messages.ts';
import type { NodeChoice } from './nodeChoice.ts';
import { retry } from './retry.ts';
import { type SignalingClient, SignalingError, type SocketFactory } from './signaling.ts';

export type ResumeGrant = ResponseData<'join'>['resume'];

export interface ResumeOptions {
  /** The call's signaling, away since its socket dropped. */
  signaling: SignalingClient;
  createSocket: SocketFactory;
  node: NodeChoice;
  participantId: string;
  /** The join's (or the last resume's) grant: its token, and how long the server keeps the session. */
  grant: ResumeGrant;
  /** The join token in use (the server checks it again). */
  token: string;
  /** Whether the call ended meanwhile. */
  stopped(): boolean;
  /** Attempt `attempt` (1, 2, …) starts. */
  reconnecting(attempt: number): void;
  /** The server handed the session back: take its new grant and TURN credentials (before held requests go out). */
  resumed(answer: ResponseData<'resume'>): Promise<void>;
}

/** Reconnects and resumes; resolves with whether it did, and the server's refusal if one ended it. */
export async function resumeSession(o: ResumeOptions): Promise<{ resumed: true } | { resumed: false; refusal?: SignalingError }> {
  const { signaling } = o;
  const outcome = await retry({
    deadline: Date.now() + o.grant.graceMs,
    stopped: o.stopped,
    attempt: async (attempt) => {
      o.reconnecting(attempt);
      await signaling.reconnect(o.node.current, o.createSocket, async (call) => {
        const answer = await call('resume', {
          protocolVersion: PROTOCOL_VERSION,
          participantId: o.participantId,
          resumeToken: o.grant.token,
          token: o.token,
          lastSeq: signaling.lastSeq,
        });
        await o.resumed(answer);
      });
    },
    failed: (err, attempt) => {
      if (refused(err)) return true;
      o.node.resumeFailed(err, attempt);
      return false;
    },
  });
  if (outcome.ok) return { resumed: true };
  return { resumed: false, refusal: outcome.why === 'gaveUp' ? (outcome.lastError as SignalingError) : undefined };
}

/** The server said no (another attempt would hear the same), as opposed to a connection that failed. */
const refused = (err: unknown) => err instanceof SignalingError && !['UNREACHABLE', 'CONNECTION_CLOSED'].includes(err.code);
