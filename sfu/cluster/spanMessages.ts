// What the nodes of a room spanning nodes tell each other about its people
// (spanState.ts): the schemas of the `spanState` messages and of `moderate`
// requests, checked on arrival. Each message is about one room; `node` names
// the node whose people it is about (the authority for them). Every list is
// bounded here; the room bounds them again by its own size (peopleElsewhere.ts).
import { z } from 'zod';
import { CHAT_MAX_LENGTH, leaveReasons, roleSchema } from '../../protocol/messages.ts';
import { MAX_NODES } from '../rooms/peopleElsewhere.ts';

/** The most people, hands or chat messages one message may carry (rooms.maxParticipants' own bound). */
const MAX_LIST = 10_000;
/** Removed identities in one snapshot. */
export const MAX_REMOVED = 10_000;

const id = z.string().min(1).max(64);
const node = z.string().min(1).max(64);
/** A time as Date.toISOString() writes it (so that times compare as strings). */
const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

const identity = z.string().min(1).max(256);
/** Someone on the node: what clients are told, and their identity and join time (a later session of one identity replaces an earlier one). */
const person = z.strictObject({ id, displayName: z.string().max(64), role: roleSchema, muted: z.boolean(), identity, joinedAt: isoTime });
const hand = z.strictObject({ participantId: id, at: isoTime });
const chatMessage = z.strictObject({ id, participantId: id, displayName: z.string().max(64), text: z.string().max(CHAT_MAX_LENGTH), at: isoTime });
const nodePeople = z.strictObject({ node, people: z.array(person).max(MAX_LIST), hands: z.array(hand).max(MAX_LIST) });

const room = z.string().min(1).max(64);

export const spanMessage = z.discriminatedUnion('kind', [
  /** Who is on these nodes now, the chat history and the removed identities; `hello`: send yours back. */
  z.strictObject({
    room,
    kind: z.literal('snapshot'),
    nodes: z.array(nodePeople).max(MAX_NODES),
    chat: z.array(chatMessage).max(MAX_LIST),
    removed: z.array(identity).max(MAX_REMOVED),
    hello: z.boolean(),
  }),
  z.strictObject({ room, kind: z.literal('joined'), node, person }),
  z.strictObject({ room, kind: z.literal('left'), node, participantId: id, reason: z.enum(leaveReasons) }),
  z.strictObject({ room, kind: z.literal('muted'), node, participantId: id, muted: z.boolean() }),
  z.strictObject({ room, kind: z.literal('hands'), node, hands: z.array(hand).max(MAX_LIST) }),
  z.strictObject({ room, kind: z.literal('chat'), node, message: chatMessage }),
  z.strictObject({ room, kind: z.literal('removed'), node, identity }),
  /** Nobody is on `node` any more (the owner says so of a satellite that detached or died). */
  z.strictObject({ room, kind: z.literal('gone'), node, reason: z.enum(leaveReasons) }),
]);
export type SpanMessage = z.infer<typeof spanMessage>;
export type NodePeople = z.infer<typeof nodePeople>;

export const moderateRequest = z.strictObject({
  room,
  participantId: id,
  action: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('forceMute'), allowUnmute: z.boolean() }),
    z.strictObject({ kind: z.literal('remove') }),
    z.strictObject({ kind: z.literal('lowerHand') }),
  ]),
});
export type ModerateRequest = z.infer<typeof moderateRequest>;

/** The nodes a message speaks for (a satellite may speak only for itself). */
export function nodesOf(m: SpanMessage): string[] {
  return m.kind === 'snapshot' ? m.nodes.map((n) => n.node) : [m.node];
}
