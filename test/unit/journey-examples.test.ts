import { describe, expect, it } from 'vitest';
import { loadJourneys } from '../../src/journey/load.js';

describe('example journeys', () => {
  it('load without diagnostics', async () => {
    const loaded = await loadJourneys(['journeys']);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.journeys.map((journey) => journey.name).sort()).toEqual([
      'a dropped secret reads back once',
      'a posted comment is stored and reaches other readers',
      'a secret shared through the web page reveals once',
      'chat announces who left',
      'chat reaps a ghost and announces it',
    ]);
  });
});
