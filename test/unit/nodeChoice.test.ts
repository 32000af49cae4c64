// Which node a call talks to (client/nodeChoice.ts): the entry URL alone, a
// WRONG_NODE redirect, and the next live node when ours stops answering.
import { describe, expect, it } from 'vitest';
import { NodeChoice } from '../../client/nodeChoice.ts';
import { SignalingError } from '../../client/signaling.ts';

const A = 'ws://a.example/ws';
const B = 'ws://b.example/ws';
const C = 'ws://c.example/ws';
const unreachable = new SignalingError('UNREACHABLE', 'no answer');

describe('NodeChoice', () => {
  it('a node alone: stays on its URL whatever fails', () => {
    const node = new NodeChoice(A);
    node.connectFailed(unreachable);
    node.resumeFailed(unreachable, 5);
    expect(node.current).toBe(A);
  });

  it('follows a redirect, and after a failed connection there goes back to the entry, then on through the live nodes', () => {
    const node = new NodeChoice(A);
    node.learn([A, B, C]);
    node.follow(C);
    expect(node.current).toBe(C);
    node.connectFailed(unreachable);
    expect(node.current).toBe(A);
    node.connectFailed(unreachable);
    expect(node.current).toBe(B);
  });

  it('passes over a node only when it does not answer: a refusal or a closed connection keeps it', () => {
    const node = new NodeChoice(A);
    node.learn([A, B]);
    node.connectFailed(new SignalingError('CONNECTION_CLOSED', 'closed'));
    node.connectFailed(new SignalingError('SERVER_BUSY', 'busy'));
    node.connectFailed(new Error('something else'));
    expect(node.current).toBe(A);
  });

  it('a resume gives our node three attempts before it asks another', () => {
    const node = new NodeChoice(A);
    node.learn([A, B]);
    node.resumeFailed(unreachable, 1);
    node.resumeFailed(unreachable, 2);
    node.resumeFailed(new SignalingError('CONNECTION_CLOSED', 'closed'), 3);
    expect(node.current).toBe(A);
    node.resumeFailed(unreachable, 3);
    expect(node.current).toBe(B);
  });

  it('an empty list of nodes (a node alone answered) keeps what it knew', () => {
    const node = new NodeChoice(A);
    node.learn([A, B]);
    node.learn([]);
    node.learn(undefined);
    node.connectFailed(unreachable);
    expect(node.current).toBe(B);
  });

  it('reads where a WRONG_NODE error sends the join, and only a valid one', () => {
    const wrongNode = (data: unknown) => new SignalingError('WRONG_NODE', 'elsewhere', data);
    expect(NodeChoice.redirect(wrongNode({ nodeId: 'b', url: B }))).toBe(B);
    expect(NodeChoice.redirect(wrongNode({ nodeId: 'b', url: 'http://b.example/ws' }))).toBeUndefined();
    expect(NodeChoice.redirect(wrongNode(undefined))).toBeUndefined();
    expect(NodeChoice.redirect(new SignalingError('SERVER_BUSY', 'busy', { nodeId: 'b', url: B }))).toBeUndefined();
    expect(NodeChoice.redirect(new Error('WRONG_NODE'))).toBeUndefined();
  });
});
