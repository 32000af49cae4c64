import { useEffect, useRef, useState } from 'react';
import type { Playback, Route } from '../playback.ts';

interface Props {
  participantId: string;
  stream: MediaStream;
  /** Playback gain, 0..2 (this page only). */
  gain: number;
  playback: Playback;
  /** Set while the browser refuses autoplay; cleared by a click, which retries. */
  blocked: boolean;
  onBlocked(): void;
}

/** Plays one remote participant's audio at its own volume (see playback.ts). */
export function RemoteAudio({ participantId, stream, gain, playback, blocked, onBlocked }: Props) {
  const source = useRef<HTMLAudioElement>(null);
  const out = useRef<HTMLAudioElement>(null);
  const [route, setRoute] = useState<Route>();

  useEffect(() => {
    const r = playback.route(stream, gain);
    setRoute(r);
    return () => r.close();
    // The gain changes through setGain below, not by a new route.
  }, [stream, playback]);

  useEffect(() => {
    route?.setGain(gain);
  }, [route, gain]);

  useEffect(() => {
    // The raw stream, muted: only so that Chromium delivers it to WebAudio.
    const raw = source.current!;
    if (raw.srcObject !== stream) raw.srcObject = stream;
    void raw.play().catch(() => {});
  }, [stream]);

  useEffect(() => {
    const el = out.current!;
    if (!route) return;
    if (el.srcObject !== route.output) el.srcObject = route.output;
    if (blocked) return;
    el.play().then(
      () => playback.resume(),
      (err: Error) => {
        if (err.name === 'NotAllowedError') onBlocked();
      },
    );
  }, [route, blocked, onBlocked, playback]);

  return (
    <>
      <audio ref={source} muted autoPlay data-testid="remote-audio-source" />
      <audio ref={out} autoPlay data-testid="remote-audio" data-participant-id={participantId} />
    </>
  );
}
