// TEMPORARY placeholder so the tree builds while the browser steps are written; replaced before commit.
import { configError } from '../../journey/failure.js';
import type { Executor } from '../executor.js';

const pending = async (): Promise<never> => {
  throw configError('CEIL_BROWSER_PENDING', 'browser steps are being written');
};

export const browserOpen: Executor<'browser.open'> = pending;
export const browserGoto: Executor<'browser.goto'> = pending;
export const browserReload: Executor<'browser.reload'> = pending;
export const browserClick: Executor<'browser.click'> = pending;
export const browserFill: Executor<'browser.fill'> = pending;
export const browserSelect: Executor<'browser.select'> = pending;
export const browserCheck: Executor<'browser.check'> = pending;
export const browserPress: Executor<'browser.press'> = pending;
export const browserWaitFor: Executor<'browser.waitFor'> = pending;
export const browserScreenshot: Executor<'browser.screenshot'> = pending;
export const browserExpectText: Executor<'browser.expectText'> = pending;
export const browserExpectVisible: Executor<'browser.expectVisible'> = pending;
export const browserExpectHidden: Executor<'browser.expectHidden'> = pending;
export const browserExpectUrl: Executor<'browser.expectUrl'> = pending;
export const browserExpectTitle: Executor<'browser.expectTitle'> = pending;
