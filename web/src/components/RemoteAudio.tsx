import { useEffect, useRef } from 'react';

interface Props {
  participantId: string;
  stream: MediaStream;
  /** Set while the browser refuses autoplay; cleared by a click, which retries. */
  blocked: boolean;
  onBlocked(): void;
}

/** Plays one remote participant's audio. */
export function RemoteAudio({ participantId, stream, blocked, onBlocked }: Props) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current!;
    if (el.srcObject !== stream) el.srcObject = stream;
    if (blocked) return;
    el.play().catch((err: Error) => {
      if (err.name === 'NotAllowedError') onBlocked();
    });
  }, [stream, blocked, onBlocked]);
  return <audio ref={ref} autoPlay data-testid="remote-audio" data-participant-id={participantId} />;
}
