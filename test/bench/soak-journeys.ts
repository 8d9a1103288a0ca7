/**
 * The journeys the soak feeds to `ceiling serve`, written as files so the
 * daemon loads them the way it loads a user's folder. URLs come only from the
 * environment, so a soak pointed at the wrong services fails instead of
 * quietly measuring something else.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const HANGING_JOURNEY = 'soak hanging target';

/** Each HTTP and WebSocket journey runs this often. */
export const EVERY_S = 5;
/** Spread over most of the interval, so 200 journeys do not start in the same millisecond. */
export const JITTER_S = 2;
/**
 * The hanging journey is due every 2 s but takes 5 s to time out, so each of
 * its runs spans two further ticks: a scheduler that piles up runs would have
 * three in flight against the black hole; one that skips overlapping ticks has
 * one, and counts the rest as skipped.
 */
export const HANGING_EVERY_S = 2;
export const HANGING_TIMEOUT_S = 5;

export interface SoakSuite {
  dir: string;
  http: number;
  ws: number;
  /** Runs per second a scheduler should start when nothing is skipped except the hanging journey's overlaps. */
  expectedRunsPerSecond: number;
}

const pad = (n: number): string => String(n).padStart(3, '0');

function httpJourney(n: number): string {
  return `name: soak http ${pad(n)}
description: Create a secret, read it back, and find it gone.
tags: [soak, http]
timeout: 10s
schedule: { every: ${EVERY_S}s, jitter: ${JITTER_S}s }
vars:
  drop: "{{ env.DROP_URL }}"
  value: "{{ randomString(24) }}"
steps:
  - name: create
    http: { method: POST, url: "{{ vars.drop }}/secrets", json: { value: "{{ vars.value }}" } }
    expect: { status: 201, json: { id: { $type: string } } }
    capture: { id: json.id }
  - name: read back
    http: { url: "{{ vars.drop }}/secrets/{{ vars.id }}" }
    expect: { status: 200, json: { value: "{{ vars.value }}" } }
  - name: gone once read
    http: { url: "{{ vars.drop }}/secrets/{{ vars.id }}" }
    expect: { status: 404 }
`;
}

// Nicks are random: ten of these share one chat room, and each must wait for its own pair's messages.
function wsJourney(n: number): string {
  return `name: soak chat ${pad(n)}
description: Two clients join the room; one leaves and the other is told.
tags: [soak, ws]
timeout: 10s
schedule: { every: ${EVERY_S}s, jitter: ${JITTER_S}s }
vars:
  chat: "{{ env.CHAT_URL }}"
  alice: "alice-{{ randomString(8) }}"
  bob: "bob-{{ randomString(8) }}"
steps:
  - ws.connect: { as: alice, url: "{{ vars.chat }}" }
  - ws.connect: { as: bob, url: "{{ vars.chat }}" }
  - ws.send: { as: alice, json: { type: join, nick: "{{ vars.alice }}" } }
  - ws.expect: { as: alice, json: { type: joined, nick: "{{ vars.alice }}" }, within: 5s }
  - ws.send: { as: bob, json: { type: join, nick: "{{ vars.bob }}" } }
  - ws.expect: { as: alice, json: { type: joined, nick: "{{ vars.bob }}" }, within: 5s }
  - ws.close: { as: bob }
  - ws.expect: { as: alice, json: { type: left, nick: "{{ vars.bob }}" }, within: 5s }
`;
}

function hangingJourney(): string {
  return `name: ${HANGING_JOURNEY}
description: A target that accepts the connection and never answers.
tags: [soak, hanging]
timeout: ${HANGING_TIMEOUT_S}s
schedule: { every: ${HANGING_EVERY_S}s }
vars:
  hole: "{{ env.HOLE_URL }}"
steps:
  - name: never answered
    http: { url: "{{ vars.hole }}/" }
    expect: { status: 200 }
`;
}

export async function writeSoakSuite(dir: string, counts: { http: number; ws: number }): Promise<SoakSuite> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [['hanging.yaml', hangingJourney()]];
  for (let i = 1; i <= counts.http; i++) files.push([`http-${pad(i)}.yaml`, httpJourney(i)]);
  for (let i = 1; i <= counts.ws; i++) files.push([`ws-${pad(i)}.yaml`, wsJourney(i)]);
  await Promise.all(files.map(([name, text]) => writeFile(path.join(dir, name), text)));
  // A hanging run occupies ceil(timeout / every) ticks and then the next one starts it again.
  const hangingPeriodS = Math.ceil(HANGING_TIMEOUT_S / HANGING_EVERY_S) * HANGING_EVERY_S;
  return {
    dir,
    http: counts.http,
    ws: counts.ws,
    expectedRunsPerSecond: (counts.http + counts.ws) / EVERY_S + 1 / hangingPeriodS,
  };
}
