import { describe, expect, it } from 'vitest';
import { stateOf } from '../../../functions/api/compute/control-services.js';

describe('the state of nova-scheduler and nova-conductor', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const ago = (s: number) => new Date(now - s * 1000).toISOString();

  it('is up when idle, or when messages wait and one was finished lately', () => {
    expect(stateOf({ waiting: 0, deadLetters: 0, lastFinishedAt: null }, now, 60)).toBe('up');
    expect(stateOf({ waiting: 0, deadLetters: 0, lastFinishedAt: ago(3600) }, now, 60)).toBe('up');
    expect(stateOf({ waiting: 5, deadLetters: 0, lastFinishedAt: ago(10) }, now, 60)).toBe('up');
  });

  it('is down when messages wait and none was finished for longer than the down time, or when some went to the dead-letter queue', () => {
    expect(stateOf({ waiting: 5, deadLetters: 0, lastFinishedAt: ago(61) }, now, 60)).toBe('down');
    expect(stateOf({ waiting: 1, deadLetters: 0, lastFinishedAt: null }, now, 60)).toBe('down');
    expect(stateOf({ waiting: 0, deadLetters: 1, lastFinishedAt: ago(1) }, now, 60)).toBe('down');
  });
});
