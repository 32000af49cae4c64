export function LevelMeter({ level, label }: { level: number; label: string }) {
  return <meter className="level" data-testid="level" aria-label={label} min={0} max={1} value={level} />;
}
