import { describe, expect, it } from 'vitest';
import { selectForwarded } from '../../sfu/rooms/forwardingPolicy.ts';

describe('forwarding policy', () => {
  const sources = [
    { participantId: 'a', producerId: 'pa' },
    { participantId: 'b', producerId: 'pb' },
    { participantId: 'c', producerId: 'pc' },
  ];

  it('forwards every other participant to a listener, never their own voice', () => {
    expect([...selectForwarded('a', sources)].sort()).toEqual(['pb', 'pc']);
  });

  it('forwards everyone to a listener who does not send', () => {
    expect([...selectForwarded('z', sources)].sort()).toEqual(['pa', 'pb', 'pc']);
  });

  it('forwards nothing when nobody sends', () => {
    expect(selectForwarded('a', []).size).toBe(0);
  });
});
