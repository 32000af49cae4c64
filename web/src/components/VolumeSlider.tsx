/** This page's playback volume of one person, 0–200 %. */
export function VolumeSlider({ name, volume, onChange }: { name: string; volume: number; onChange(volume: number): void }) {
  const percent = Math.round(volume * 100);
  return (
    <input
      type="range"
      className="volume"
      data-testid="volume"
      min={0}
      max={200}
      step={5}
      value={percent}
      aria-label={`Volume of ${name}`}
      aria-valuetext={`${percent} %`}
      title={`${percent} %`}
      onChange={(e) => onChange(Number(e.target.value) / 100)}
    />
  );
}
