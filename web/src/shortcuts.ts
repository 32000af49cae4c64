// Keyboard shortcuts of the call page: M toggles mute; with push-to-talk on,
// holding Space unmutes and releasing it mutes again. Never while typing (text
// fields, selects, editable content), never with Ctrl/Alt/Meta, and no repeats.
import { useEffect } from 'react';

/** Whether a key event comes from somewhere that takes typing. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['checkbox', 'radio', 'range', 'button', 'submit'].includes(target.type);
  return false;
}

export interface ShortcutActions {
  toggleMute(): void;
  /** Push-to-talk: Space held (true) or released (false); undefined when push-to-talk is off. */
  talk?(held: boolean): void;
}

export function useShortcuts(enabled: boolean, actions: ShortcutActions): void {
  useEffect(() => {
    if (!enabled) return;
    const ignored = (e: KeyboardEvent) => e.ctrlKey || e.altKey || e.metaKey || isTyping(e.target);
    const down = (e: KeyboardEvent) => {
      if (ignored(e)) return;
      if (e.code === 'KeyM' && !e.repeat) {
        e.preventDefault();
        actions.toggleMute();
      } else if (e.code === 'Space' && actions.talk) {
        e.preventDefault(); // no page scroll, no button press while talking
        if (!e.repeat) actions.talk(true);
      }
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === 'Space' && actions.talk && !isTyping(e.target)) {
        e.preventDefault();
        actions.talk(false);
      }
    };
    // Releasing Space in another window never reaches us: stop talking when we lose focus.
    const blur = () => actions.talk?.(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    window.addEventListener('blur', blur);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
      window.removeEventListener('blur', blur);
    };
  }, [enabled, actions]);
}
