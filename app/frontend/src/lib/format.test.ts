import { describe, expect, it } from 'vitest';
import { describeDuration, formatDate, formatDuration, formatViews, posterHues } from './format';

describe('format', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(75)).toBe('1:15');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('describes durations in words for screen readers', () => {
    expect(describeDuration(3725)).toBe('1 hour 2 minutes 5 seconds');
    expect(describeDuration(60)).toBe('1 minute');
    expect(describeDuration(0)).toBe('0 seconds');
  });

  it('formats view counts and dates', () => {
    expect(formatViews(1)).toBe('1 view');
    expect(formatViews(1043)).toBe('1,043 views');
    expect(formatDate('2025-03-01T12:00:00Z')).toBe('1 Mar 2025');
  });

  it('derives stable, distinct poster colours from the id', () => {
    expect(posterHues(12)).toEqual(posterHues(12));
    expect(posterHues(12)).not.toEqual(posterHues(13));
    const { from, to } = posterHues(987654);
    expect(from).toBeGreaterThanOrEqual(0);
    expect(to).toBeLessThan(360);
  });
});
