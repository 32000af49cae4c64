export function LevelMeter({ level, label }: { level: number; label: string }) {
  return (
    <meter className="level" data-testid="level" aria-label={label} min={0} max={1} low={0.6} high={0.85} value={level} />
  );
}
