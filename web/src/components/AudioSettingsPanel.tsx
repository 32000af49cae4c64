import type { AudioSettings } from '../audioSettings.ts';

const SWITCHES: { key: keyof AudioSettings; label: string }[] = [
  { key: 'echoCancellation', label: 'Echo cancellation' },
  { key: 'noiseSuppression', label: 'Noise suppression' },
  { key: 'autoGainControl', label: 'Automatic gain' },
  { key: 'pushToTalk', label: 'Push to talk (hold Space)' },
];

/** Microphone processing and push-to-talk switches (remembered for the next calls). */
export function AudioSettingsPanel({ settings, onChange }: { settings: AudioSettings; onChange(patch: Partial<AudioSettings>): void }) {
  return (
    <details className="settings" data-testid="settings">
      <summary>Audio settings</summary>
      <fieldset>
        <legend className="visually-hidden">Microphone processing and push to talk</legend>
        {SWITCHES.map(({ key, label }) => (
          <label key={key}>
            <input type="checkbox" data-testid={`setting-${key}`} checked={settings[key]} onChange={(e) => onChange({ [key]: e.target.checked })} />{' '}
            {label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
