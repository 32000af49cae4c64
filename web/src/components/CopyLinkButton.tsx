import { useState } from 'react';

/**
 * Copies the room's link. `personal`: the link carries this page's invitation
 * token, which names its holder, so the button says so.
 */
export function CopyLinkButton({ link, personal }: { link: string; personal: boolean }) {
  const [status, setStatus] = useState<'copied' | 'failed'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setStatus('copied');
    } catch {
      setStatus('failed'); // no clipboard (permissions, http): show the link to copy by hand
    }
  };
  return (
    <span className="copy-link">
      <button data-testid="copy-link" onClick={() => void copy()} title={personal ? 'The link carries your invitation: whoever opens it joins as you' : undefined}>
        {personal ? 'Copy invitation link' : 'Copy link'}
      </button>
      <span role="status" className="copy-status">
        {status === 'copied' && 'Link copied'}
      </span>
      {status === 'failed' && (
        <input readOnly aria-label="Room link" value={link} onFocus={(e) => e.target.select()} data-testid="link-text" />
      )}
    </span>
  );
}
