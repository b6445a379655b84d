import { isGoDuration } from './duration';

describe('isGoDuration', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true],
    ['', true],
    ['0', true],
    ['30s', true],
    ['5m', true],
    ['1h30m', true],
    ['1.5h', true],
    ['.5s', true],
    ['250ms', true],
    ['10us', true],
    ['10µs', true],
    ['5', false],
    ['5 m', false],
    ['-5m', false],
    ['5min', false],
    ['m', false],
    ['5d', false],
  ])('%j → %s', (s, want) => {
    expect(isGoDuration(s)).toBe(want);
  });
});
