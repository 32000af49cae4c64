import { describe, expect, it } from 'vitest';
import {
  type ProducerInfo,
  SpeakerActivityTracker,
  planConsumers,
  rankSpeakers,
  selectForListener,
} from '../../sfu/rooms/forwardingPolicy.ts';

const HOLD = 1500;

/** A room of producers p1..pn driven through time, as the room drives the policy. */
function room(n: number, k: number) {
  const tracker = new SpeakerActivityTracker();
  const producers: ProducerInfo[] = Array.from({ length: n }, (_, i) => ({ producerId: `p${i + 1}`, muted: false }));
  let forwarded = new Set<string>();
  let now = 0;
  return {
    producers,
    /** One observer report at time t: these producers are loud, at these levels. */
    at(t: number, loud: Record<string, number>) {
      now = t;
      tracker.report(Object.entries(loud).map(([producerId, level]) => ({ producerId, level })), now);
      const ranking = rankSpeakers({ now, producers, activity: (id) => tracker.get(id), holdMs: HOLD, previouslyForwarded: forwarded });
      forwarded = new Set(ranking.slice(0, k + 1));
      return ranking;
    },
    /** What listener pN receives after the last report. */
    hears(listener: string, ranking: string[]) {
      return [...selectForListener(ranking, producers, listener, k)].sort();
    },
    mute(id: string, muted = true) {
      producers.find((p) => p.producerId === id)!.muted = muted;
    },
  };
}

describe('speaker ranking and selection', () => {
  it('forwards only the speakers, and never a listener their own voice', () => {
    const r = room(8, 3);
    const ranking = r.at(0, { p1: -20, p2: -30 });
    expect(ranking).toEqual(['p1', 'p2']);
    expect(r.hears('p5', ranking)).toEqual(['p1', 'p2']);
    expect(r.hears('p1', ranking)).toEqual(['p2']);
  });

  it('forwards nobody in a silent room', () => {
    const r = room(5, 3);
    expect(r.at(0, {})).toEqual([]);
  });

  it('holds a speaker through a short pause (hysteresis)', () => {
    const r = room(4, 2);
    r.at(0, { p1: -20 });
    const duringPause = r.at(1000, {});
    expect(r.hears('p4', duringPause)).toEqual(['p1']);
    const afterHold = r.at(0 + HOLD + 100, {});
    expect(r.hears('p4', afterHold)).toEqual([]);
  });

  it('lets a new speaker take the slot of one who has paused, at once', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    // p1 pauses (still held) as p3 starts: slots are full, speaking beats held.
    const ranking = r.at(100, { p2: -20, p3: -35 });
    expect(r.hears('p6', ranking)).toEqual(['p2', 'p3']);
  });

  it('does not swap between simultaneous speakers by loudness (no flapping)', () => {
    const r = room(6, 2);
    r.at(0, { p1: -30, p2: -30 });
    // p3 is louder, but p1 and p2 are speaking and already forwarded.
    const ranking = r.at(100, { p1: -30, p2: -30, p3: -10 });
    expect(r.hears('p6', ranking)).toEqual(['p1', 'p2']);
    // Those speakers themselves hear the third, since their own slot is free.
    expect(r.hears('p1', ranking)).toEqual(['p2', 'p3']);
  });

  it('picks the loudest new speakers when more start at once than there are slots', () => {
    const r = room(6, 2);
    const ranking = r.at(0, { p1: -40, p2: -10, p3: -25 });
    expect(ranking).toEqual(['p2', 'p3', 'p1']);
    expect(r.hears('p6', ranking)).toEqual(['p2', 'p3']);
  });

  it('breaks exact ties deterministically by id', () => {
    const r = room(4, 1);
    expect(r.at(0, { p3: -20, p2: -20 })).toEqual(['p2', 'p3']);
  });

  it('drops a muted speaker at once, even within the hold time', () => {
    const r = room(4, 2);
    r.at(0, { p1: -20, p2: -20 });
    r.mute('p1');
    const ranking = r.at(100, { p2: -20 });
    expect(r.hears('p4', ranking)).toEqual(['p2']);
  });

  it('with K = 0 forwards every unmuted producer but your own, speaking or not', () => {
    const r = room(4, 0);
    r.mute('p2');
    const ranking = r.at(0, {});
    expect(r.hears('p1', ranking)).toEqual(['p3', 'p4']);
  });

  it('forgets a producer that left', () => {
    const tracker = new SpeakerActivityTracker();
    tracker.report([{ producerId: 'p1', level: -20 }], 0);
    tracker.forget('p1');
    expect(tracker.get('p1')).toBeUndefined();
  });

  it('ranks a joiner like anyone else once they speak', () => {
    const r = room(3, 2);
    r.at(0, { p1: -20 });
    r.producers.push({ producerId: 'p4', muted: false });
    const ranking = r.at(100, { p1: -20, p4: -20 });
    expect(r.hears('p2', ranking)).toEqual(['p1', 'p4']);
  });
});

describe('planConsumers', () => {
  const c = (consumerId: string, producerId: string, running: boolean, clientReady = true) => ({
    consumerId,
    producerId,
    running,
    clientReady,
  });

  it('resumes selected consumers and pauses the rest', () => {
    const plan = planConsumers([c('c1', 'p1', false), c('c2', 'p2', true), c('c3', 'p3', true)], new Set(['p1', 'p3']));
    expect(plan).toEqual({ resume: ['c1'], pause: ['c2'] });
  });

  it('never resumes a consumer whose client has not said it is ready', () => {
    expect(planConsumers([c('c1', 'p1', false, false)], new Set(['p1']))).toEqual({ resume: [], pause: [] });
  });
});
