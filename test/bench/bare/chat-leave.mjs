// Bare baseline for the chat-leave journey, with ws directly: connect alice and
// bob, alice joins and sees herself in the room, bob joins, alice sees bob join,
// bob closes, alice is told bob left.
// Not compiled by tsc; the bench runs it from the source folder.
//
//   CHAT_URL=ws://127.0.0.1:PORT/ node chat-leave.mjs
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';

const url = process.env.CHAT_URL;
if (!url) {
  process.stderr.write('usage: CHAT_URL=ws://... node chat-leave.mjs\n');
  process.exit(2);
}

/** Every message is kept, like a journey actor's inbox, so none is missed between steps. */
function connect(name) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: 5_000 });
    const inbox = [];
    const waiters = new Set();
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let parsed;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return;
      }
      inbox.push(parsed);
      for (const waiter of waiters) waiter();
    });
    socket.once('open', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({ name, socket, inbox, waiters });
    });
    socket.once('error', reject);
  });
}

function send(actor, message) {
  return new Promise((resolve, reject) => actor.socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve())));
}

/** Resolves with the first inbox message (from the start) matching; fails after withinMs. */
function expect(actor, matches, withinMs, what) {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const look = () => {
      for (; seen < actor.inbox.length; seen++) {
        if (matches(actor.inbox[seen])) {
          const found = actor.inbox.splice(seen, 1)[0];
          done();
          resolve(found);
          return;
        }
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: nothing within ${withinMs}ms`));
    }, withinMs);
    const done = () => {
      clearTimeout(timer);
      actor.waiters.delete(look);
    };
    actor.waiters.add(look);
    look();
  });
}

function close(actor) {
  return new Promise((resolve) => {
    if (actor.socket.readyState === WebSocket.CLOSED) return resolve();
    actor.socket.once('close', () => resolve());
    actor.socket.close(1000, '');
  });
}

const overall = setTimeout(() => {
  process.stderr.write('bare chat-leave: gave up after 20s\n');
  process.exit(1);
}, 20_000);
overall.unref();

const bobNick = `bob-${randomBytes(6).toString('base64url').slice(0, 6)}`;
const actors = [];
try {
  const alice = await connect('alice');
  actors.push(alice);
  const bob = await connect('bob');
  actors.push(bob);
  await send(alice, { type: 'join', nick: 'alice' });
  await expect(alice, (m) => m.type === 'joined' && m.nick === 'alice', 2_000, 'alice is in the room');
  await send(bob, { type: 'join', nick: bobNick });
  await expect(alice, (m) => m.type === 'joined' && m.nick === bobNick, 2_000, 'alice sees bob join');
  await close(bob);
  await expect(alice, (m) => m.type === 'left' && m.nick === bobNick, 2_000, 'alice is told bob left');
} catch (error) {
  process.stderr.write(`bare chat-leave: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  await Promise.all(actors.map(close));
}
