import { type FormEvent, useState } from 'react';

interface Props {
  initialRoom: string;
  initialName: string;
  mics: { deviceId: string; label: string }[];
  /** The room of the invitation this tab holds: joining it needs no name (the invitation has one). */
  invitedTo?: string;
  onRefreshMics(): void;
  onJoin(room: string, name: string, micId?: string): void;
}

export function JoinForm({ initialRoom, initialName, mics, invitedTo, onRefreshMics, onJoin }: Props) {
  const [room, setRoom] = useState(initialRoom);
  const [name, setName] = useState(initialName);
  const [micId, setMicId] = useState('');

  const invited = invitedTo !== undefined && room.trim() === invitedTo;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (room.trim() && (name.trim() || invited)) onJoin(room.trim(), name.trim(), micId || undefined);
  };

  return (
    <form onSubmit={submit} className="join">
      <label>
        Room
        <input name="room" value={room} onChange={(e) => setRoom(e.target.value)} required maxLength={64} />
      </label>
      <label>
        Your name
        <input
          name="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required={!invited}
          placeholder={invited ? 'from your invitation' : undefined}
          maxLength={48}
        />
      </label>
      <label>
        Microphone
        <select name="mic" value={micId} onChange={(e) => setMicId(e.target.value)} onFocus={onRefreshMics}>
          <option value="">Default microphone</option>
          {mics.map((m) => (
            <option key={m.deviceId} value={m.deviceId}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Join</button>
    </form>
  );
}
