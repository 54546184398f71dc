// The Clock port: state/ reads no clock, so the time of a command comes from here.
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
