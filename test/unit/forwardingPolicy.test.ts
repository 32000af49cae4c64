import { describe, expect, it } from 'vitest';
import {
  type ProducerInfo,
  SpeakerActivityTracker,
  decideForwarding,
  planConsumers,
  selectForListener,
} from '../../sfu/rooms/forwardingPolicy.ts';

const HOLD = 1500;
const THRESHOLD = -50;

/** A room of producers p1..pn driven through time, as the room drives the policy. */
function room(n: number, k: number) {
  const tracker = new SpeakerActivityTracker(THRESHOLD);
  const producers: ProducerInfo[] = Array.from({ length: n }, (_, i) => ({ producerId: `p${i + 1}`, muted: false }));
  let forwarded = new Set<string>();
  let state = decideForwarding({ now: 0, producers, activity: (id) => tracker.get(id), holdMs: HOLD, previouslyForwarded: forwarded });
  return {
    producers,
    /**
     * One observer report at time t: these producers sent audio, at these levels
     * (at or above THRESHOLD = speaking, below = quiet audio); the others sent
     * nothing but DTX. Returns the ranking of the voices.
     */
    at(t: number, sending: Record<string, number>) {
      tracker.report(Object.entries(sending).map(([producerId, level]) => ({ producerId, level })), t);
      state = decideForwarding({ now: t, producers, activity: (id) => tracker.get(id), holdMs: HOLD, previouslyForwarded: forwarded });
      forwarded = new Set(state.ranking.slice(0, k + 1));
      return [...state.ranking];
    },
    /** What listener pN receives after the last report. */
    hears(listener: string) {
      return [...selectForListener(state, producers, listener, k)].sort();
    },
    /** p's client says it starts talking at time t (the `speaking` hint); returns the ranking. */
    hint(t: number, id: string) {
      const taken = tracker.hint(id, t);
      state = decideForwarding({ now: t, producers, activity: (id) => tracker.get(id), holdMs: HOLD, previouslyForwarded: forwarded });
      forwarded = new Set(state.ranking.slice(0, k + 1));
      return { taken, ranking: [...state.ranking] };
    },
    mute(id: string, muted = true) {
      producers.find((p) => p.producerId === id)!.muted = muted;
    },
  };
}

describe('speaker ranking and selection', () => {
  it('ranks only the voices: speaking, loudest first', () => {
    const r = room(8, 3);
    expect(r.at(0, { p1: -20, p2: -30 })).toEqual(['p1', 'p2']);
  });

  it('with every slot taken, forwards only the K voices, and never a listener their own voice', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -30 });
    expect(r.hears('p5')).toEqual(['p1', 'p2']);
    // p1's own voice takes none of p1's slots: p1 hears p2 and, with a slot free, the idle ones.
    expect(r.hears('p1')).toEqual(['p2', 'p3', 'p4', 'p5', 'p6']);
  });

  it('while a slot is free, forwards every idle (DTX) producer, so a first word passes at once', () => {
    const r = room(5, 3);
    expect(r.at(0, { p1: -20 })).toEqual(['p1']);
    expect(r.hears('p5')).toEqual(['p1', 'p2', 'p3', 'p4']);
    // p3 starts: it was forwarded already, and stays so once the observer reports it.
    r.at(250, { p1: -20, p3: -25 });
    expect(r.hears('p5')).toEqual(['p1', 'p2', 'p3', 'p4']);
  });

  it('in a silent room forwards everyone (all idle)', () => {
    const r = room(4, 3);
    expect(r.at(0, {})).toEqual([]);
    expect(r.hears('p1')).toEqual(['p2', 'p3', 'p4']);
  });

  it('forwards a producer never reported (a new joiner) as idle while a slot is free', () => {
    const r = room(3, 2);
    r.at(0, { p1: -20 });
    r.producers.push({ producerId: 'p4', muted: false });
    r.at(100, { p1: -20 });
    expect(r.hears('p2')).toEqual(['p1', 'p3', 'p4']);
  });

  it('never forwards audio below the speaking threshold (an open microphone with quiet noise)', () => {
    const r = room(4, 3);
    r.at(0, { p1: -20, p2: -60 });
    expect(r.hears('p4')).toEqual(['p1', 'p3']);
  });

  it('counts an open microphone with noise above the threshold as speaking: beyond K it is paused', () => {
    const r = room(6, 2);
    r.at(0, { p1: -45, p2: -40, p3: -48 });
    expect(r.hears('p6')).toEqual(['p1', 'p2']);
  });

  it('pauses idle producers once K voices are active, a held one included: a K+1th waits for the observer', () => {
    const r = room(5, 2);
    r.at(0, { p1: -20, p2: -20 });
    expect(r.hears('p5')).toEqual(['p1', 'p2']);
    // p1 pauses (DTX, still held): the slots stay taken, idle p3 and p4 stay paused.
    r.at(250, { p2: -20 });
    expect(r.hears('p5')).toEqual(['p1', 'p2']);
    // p3 starts: once reported it takes the held p1's slot; never more than K.
    r.at(500, { p2: -20, p3: -30 });
    expect(r.hears('p5')).toEqual(['p2', 'p3']);
  });

  it('keeps K at the next report when several idle producers start at once in free slots', () => {
    const r = room(6, 2);
    r.at(0, { p1: -30 });
    expect(r.hears('p6')).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    // p2, p3 and p4 start within the same interval: all were forwarded until this report.
    r.at(250, { p1: -30, p2: -40, p3: -10, p4: -20 });
    expect(r.hears('p6')).toEqual(['p1', 'p3']);
  });

  it('holds a speaker through a short pause (hysteresis), then treats their quiet audio as not a voice', () => {
    const r = room(4, 2);
    r.at(0, { p1: -20, p2: -20 });
    // p1 breathes: still sending, below the threshold. Held: p1 keeps the slot, idle p3 stays paused.
    r.at(1000, { p1: -60, p2: -20 });
    expect(r.hears('p4')).toEqual(['p1', 'p2']);
    // The hold is over and p1 still sends quiet audio: paused; the free slot goes to idle p3.
    r.at(HOLD + 100, { p1: -60, p2: -20 });
    expect(r.hears('p4')).toEqual(['p2', 'p3']);
    // p1 falls silent (DTX): idle, forwarded again.
    r.at(HOLD + 350, { p2: -20 });
    expect(r.hears('p4')).toEqual(['p1', 'p2', 'p3']);
  });

  it('lets a new speaker take the slot of one who has paused, at once', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    // p1 pauses (still held) as p3 starts: slots are full, speaking beats held.
    r.at(100, { p2: -20, p3: -35 });
    expect(r.hears('p6')).toEqual(['p2', 'p3']);
  });

  it('does not swap between simultaneous speakers by loudness (no flapping)', () => {
    const r = room(6, 2);
    r.at(0, { p1: -30, p2: -30 });
    // p3 is louder, but p1 and p2 are speaking and already forwarded.
    r.at(100, { p1: -30, p2: -30, p3: -10 });
    expect(r.hears('p6')).toEqual(['p1', 'p2']);
    // Those speakers themselves hear the third, since their own slot is free.
    expect(r.hears('p1')).toEqual(['p2', 'p3']);
  });

  it('picks the loudest new speakers when more start at once than there are slots', () => {
    const r = room(6, 2);
    expect(r.at(0, { p1: -40, p2: -10, p3: -25 })).toEqual(['p2', 'p3', 'p1']);
    expect(r.hears('p6')).toEqual(['p2', 'p3']);
  });

  it('breaks exact ties deterministically by id', () => {
    const r = room(4, 1);
    expect(r.at(0, { p3: -20, p2: -20 })).toEqual(['p2', 'p3']);
  });

  it('drops a muted speaker at once, even within the hold time, and never forwards a muted idle one', () => {
    const r = room(4, 2);
    r.at(0, { p1: -20, p2: -20 });
    r.mute('p1');
    r.mute('p3');
    r.at(100, { p2: -20 });
    expect(r.hears('p4')).toEqual(['p2']);
  });

  it('with K = 0 forwards every unmuted producer but your own, speaking or not', () => {
    const r = room(4, 0);
    r.mute('p2');
    r.at(0, { p3: -60 });
    expect(r.hears('p1')).toEqual(['p3', 'p4']);
  });

  it('forgets a producer that left', () => {
    const tracker = new SpeakerActivityTracker(THRESHOLD);
    tracker.report([{ producerId: 'p1', level: -20 }], 0);
    tracker.forget('p1');
    expect(tracker.get('p1')).toBeUndefined();
  });

  it('tells speaking (at or above the threshold) from sending quiet audio from silence', () => {
    const tracker = new SpeakerActivityTracker(THRESHOLD);
    tracker.report([{ producerId: 'loud', level: -50 }, { producerId: 'quiet', level: -51 }], 7);
    expect(tracker.get('loud')).toEqual({ level: -50, speaking: true, sending: true, lastLoudAt: 7 });
    expect(tracker.get('quiet')).toEqual({ level: -51, speaking: false, sending: true });
    tracker.report([], 9);
    expect(tracker.get('loud')).toEqual({ level: -127, speaking: false, sending: false, lastLoudAt: 7 });
  });

  it('ranks a joiner like anyone else once they speak', () => {
    const r = room(3, 2);
    r.at(0, { p1: -20 });
    r.producers.push({ producerId: 'p4', muted: false });
    r.at(100, { p1: -20, p4: -20 });
    expect(r.hears('p2')).toEqual(['p1', 'p4']);
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

describe("the sender's voice hint (the protocol's speaking)", () => {
  it('makes a newcomer a voice at once, and takes a stopped speaker\'s slot at the next report, not the one after', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    // p1 stops as p3 starts; p3's first report does not count it yet (too few frames).
    expect(r.hint(100, 'p3')).toEqual({ taken: true, ranking: ['p1', 'p2', 'p3'] });
    expect(r.at(250, { p2: -20 }).slice(0, 2)).toEqual(['p2', 'p3']);
    expect(r.hears('p6')).toEqual(['p2', 'p3']);
    // Confirmed by the observer: an ordinary speaker from then on.
    expect(r.at(500, { p2: -20, p3: -20 }).slice(0, 2)).toEqual(['p2', 'p3']);
  });

  it('without a hint, the same newcomer waits for the observer to report it loud', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    r.at(250, { p2: -20 });
    expect(r.hears('p6')).toEqual(['p1', 'p2']);
  });

  it('does not keep a slot for a hint the observer refutes, and ignores that sender\'s hints for a while', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    r.hint(100, 'p3'); // a lie, or a cough: p3 sends no loud audio
    r.at(250, { p2: -20 });
    r.at(500, { p2: -20 });
    const ranking = r.at(750, { p2: -20 }); // 650 ms after the hint: refuted
    expect(r.hears('p6')).not.toContain('p3');
    expect(ranking).toEqual(['p2', 'p1']); // p1 still held from its last real words; p3 earns no hold
    expect(r.hint(1000, 'p3').taken).toBe(false);
    expect(r.hint(100 + 650 + 5_000, 'p3').taken).toBe(true);
  });

  it('is not renewed by repeating it: the window runs from the first hint', () => {
    const r = room(6, 2);
    r.at(0, { p1: -20, p2: -20 });
    r.hint(100, 'p3');
    r.at(350, { p1: -20, p2: -20 });
    r.hint(400, 'p3');
    r.at(600, { p1: -20, p2: -20 });
    r.at(750, { p1: -20, p2: -20 });
    expect(r.hint(800, 'p3').taken).toBe(false);
  });
});
