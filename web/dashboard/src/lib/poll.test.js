import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import { isBusy, poll } from './poll.js';

const noSleep = [];
const sleep = async (ms) => { noSleep.push(ms); };

describe('polling a project', () => {
  it('stops once the project settles', async () => {
    const states = ['CREATING', 'BUILDING', 'LIVE', 'LIVE'];
    const seen = [];
    const { finished } = poll({ load: async () => ({ status: states.shift() }), done: (p) => !isBusy(p),
      onResult: (p) => seen.push(p.status), sleep });
    await finished;
    expect(seen).toEqual(['CREATING', 'BUILDING', 'LIVE']);
  });
  it('keeps going after errors, waiting longer each time', async () => {
    const waits = [];
    let calls = 0;
    const { finished } = poll({
      load: async () => { calls += 1; if (calls < 4) throw new ApiError(503, 'x', 'down'); return { status: 'LIVE' }; },
      done: () => true, interval: 100, maxInterval: 300, sleep: async (ms) => { waits.push(ms); },
    });
    await finished;
    expect(waits).toEqual([200, 300, 300]);
  });
  it('gives up when signed out', async () => {
    let calls = 0;
    const errors = [];
    await poll({ load: async () => { calls += 1; throw new ApiError(401, 'x', 'signed out'); },
      onError: (e) => errors.push(e.status), sleep }).finished;
    expect([calls, errors]).toEqual([1, [401]]);
  });
  it('stops on request', async () => {
    let calls = 0;
    const handle = poll({ load: async () => { calls += 1; return {}; },
      sleep: async () => { if (calls === 2) handle.stop(); } });
    await handle.finished;
    expect(calls).toBe(2);
  });
});
