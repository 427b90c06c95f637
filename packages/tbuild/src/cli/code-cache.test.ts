import { describe, expect, it } from 'vitest';
import { stepStarted, takeCodeCacheAtFirstStep } from './code-cache.ts';

describe('the code cache hook', () => {
  it('takes the cache once, at the first step that starts', () => {
    let taken = 0;
    stepStarted();
    takeCodeCacheAtFirstStep(() => taken++);
    expect(taken).toBe(0);
    stepStarted();
    stepStarted();
    expect(taken).toBe(1);
  });
});
