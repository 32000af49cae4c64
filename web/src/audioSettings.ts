// The microphone processing switches and push-to-talk, remembered in
// localStorage across calls, and the getUserMedia constraints they make.
export interface AudioSettings {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  /** Hold Space to talk; muted otherwise. */
  pushToTalk: boolean;
}

const KEY = 'chorus.audioSettings';
export const defaultAudioSettings: AudioSettings = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  pushToTalk: false,
};

export function loadAudioSettings(): AudioSettings {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Record<keyof AudioSettings, unknown>>;
    const pick = (k: keyof AudioSettings) => (typeof stored[k] === 'boolean' ? stored[k] : defaultAudioSettings[k]);
    return {
      echoCancellation: pick('echoCancellation'),
      noiseSuppression: pick('noiseSuppression'),
      autoGainControl: pick('autoGainControl'),
      pushToTalk: pick('pushToTalk'),
    };
  } catch {
    return { ...defaultAudioSettings };
  }
}

export function saveAudioSettings(settings: AudioSettings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Storage refused (private mode): the settings hold for this page.
  }
}

/** getUserMedia's audio constraints: `deviceId` exactly, or the default microphone. */
export function micConstraints(settings: AudioSettings, deviceId?: string): MediaTrackConstraints {
  return {
    deviceId: deviceId ? { exact: deviceId } : undefined,
    echoCancellation: settings.echoCancellation,
    noiseSuppression: settings.noiseSuppression,
    autoGainControl: settings.autoGainControl,
  };
}
