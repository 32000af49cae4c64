import { type FormEvent, useState } from 'react';

interface Props {
  initialRoom: string;
  initialName: string;
  mics: { deviceId: string; label: string }[];
  onRefreshMics(): void;
  onJoin(room: string, name: string, micId?: string): void;
}

export function JoinForm({ initialRoom, initialName, mics, onRefreshMics, onJoin }: Props) {
  const [room, setRoom] = useState(initialRoom);
  const [name, setName] = useState(initialName);
  const [micId, setMicId] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (room.trim() && name.trim()) onJoin(room.trim(), name.trim(), micId || undefined);
  };

  return (
    <form onSubmit={submit} className="join">
      <label>
        Room
        <input name="room" value={room} onChange={(e) => setRoom(e.target.value)} required maxLength={64} />
      </label>
      <label>
        Your name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={48} />
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
