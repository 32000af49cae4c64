import { type FormEvent, useState } from 'react';
import { CHAT_MAX_LENGTH, type ChatMessage } from '../../../protocol/messages.ts';

interface Props {
  messages: ChatMessage[];
  error?: string;
  selfId?: string;
  onSend(text: string): Promise<boolean>;
}

export function ChatPanel({ messages, error, selfId, onSend }: Props) {
  const [text, setText] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (text.trim() && (await onSend(text))) setText('');
  };
  return (
    <section className="chat" aria-label="Chat">
      <ol data-testid="chat-messages">
        {messages.map((m) => (
          <li key={m.id} data-testid="chat-message" className={m.participantId === selfId ? 'mine' : undefined}>
            <time dateTime={m.at}>{new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>{' '}
            <strong>{m.displayName}</strong>: <span className="text">{m.text}</span>
          </li>
        ))}
      </ol>
      {error && (
        <p role="alert" className="warning" data-testid="chat-error">
          {error}
        </p>
      )}
      <form onSubmit={submit}>
        <input
          data-testid="chat-input"
          aria-label="Message"
          value={text}
          maxLength={CHAT_MAX_LENGTH}
          onChange={(e) => setText(e.target.value)}
          placeholder="Message the room"
        />
        <button type="submit" data-testid="chat-send">
          Send
        </button>
      </form>
    </section>
  );
}
