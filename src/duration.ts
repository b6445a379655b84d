// Go's time.ParseDuration grammar without a sign: one or more decimal numbers, each with a unit.
// The backend rejects anything else, so the editor checks the same grammar before saving.
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** Reports whether s is a non-negative Go duration string ("0" and "" included; "" means default). */
export function isGoDuration(s: string | undefined): boolean {
  if (s === undefined || s === '' || s === '0') {
    return true;
  }
  return GO_DURATION.test(s);
}

export const DURATION_HINT = 'A Go duration such as 30s, 5m or 1h30m';
