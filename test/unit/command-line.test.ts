import { describe, expect, it } from 'vitest';
import { splitCommand } from '../../src/cli/command-line.js';

describe('splitCommand', () => {
  it('splits words and honours quotes', () => {
    expect(splitCommand('--on-fail', `./rollback.sh --to "v1 beta" 'a b'`)).toEqual(['./rollback.sh', '--to', 'v1 beta', 'a b']);
  });

  it.each([
    ['./r.sh `id`', '`id`'],
    ['./r.sh "`id`"', '`id`'],
    ['./r.sh $HOME', '$HOME'],
    ['./r.sh ${HOME}', '$HOME'],
    ['./r.sh "$HOME/x"', '$HOME'],
    ['./r.sh && ./s.sh', '&&'],
  ])('refuses %s, which only a shell would expand', (text, shown) => {
    expect(splitCommand('--on-fail', text)).toEqual({ error: expect.stringContaining(`--on-fail: "${shown}" needs a shell`) as string });
  });

  it('keeps a single-quoted or escaped $ as the literal a shell would pass', () => {
    expect(splitCommand('--on-fail', `./r.sh '$HOME' price=\\$5`)).toEqual(['./r.sh', '$HOME', 'price=$5']);
  });
});
